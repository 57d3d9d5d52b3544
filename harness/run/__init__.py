"""Run: the one run API every surface calls (`harness run`, `sweep`, `fuse`, a notebook). A `RunRequest`
says what to run; `run()` (`run_sweep()`, `run_fusion()`) drives the pipeline for it, data -> encode ->
store -> index/search -> evaluate -> record, unit by unit (`runner`), keyed so a rerun resumes (`keys`),
on one process or a Ray cluster (`distributed`); pruning sweeps (`sweep`) and rank fusion of recorded runs
(`fusion`).

May import: every stage below it (core, data, evaluation, catalog, encode, models, store, index, record,
results, reporting). Only the CLI imports it.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.run.api import RunEvents, RunOutcome, RunRequest, run, run_fusion, run_sweep

_API = ("RunEvents", "RunOutcome", "RunRequest", "run", "run_fusion", "run_sweep")


def __getattr__(name: str) -> Any:
    """`from harness.run import RunRequest, run` loads the pipeline only then: the CLI's option checks
    (`harness.run.checks`) import this package without it."""
    if name in _API:
        from harness.run import api

        return getattr(api, name)
    raise AttributeError(f"module 'harness.run' has no attribute {name!r}")


__all__ = ["RunEvents", "RunOutcome", "RunRequest", "run", "run_fusion", "run_sweep"]
