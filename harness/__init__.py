"""harness: compare multilingual retrievers on effectiveness and cost, with full provenance.

One package per stage, each importing only those listed before it (tests/test_layout.py holds this):
core, data, evaluation, catalog, encode, models, store, index, record, results, reporting, run, cli.

The Python API sits here, loaded on first use (`harness.run.python_api`): `harness.evaluate(model, ...)`,
`harness.load(...)`, `harness.report(...)` and `harness.fuse(...)`; bad input raises `harness.InputError`.
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from harness.core.errors import InputError
    from harness.run.python_api import Result, evaluate, fuse, load, report

_API = ("Result", "evaluate", "fuse", "load", "report")


def __getattr__(name: str) -> Any:
    """`harness.evaluate` and its siblings import the pipeline only when called for: the CLI and every
    stage import this package for its version alone."""
    if name in _API:
        from harness.run import python_api

        return getattr(python_api, name)
    if name == "InputError":
        from harness.core.errors import InputError

        return InputError
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


__all__ = ["InputError", "Result", "__version__", "evaluate", "fuse", "load", "report"]
