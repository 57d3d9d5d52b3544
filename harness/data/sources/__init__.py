"""A registry of dataset sources behind one interface, found by convention.

A source kind `foo-bar` lives in `harness/data/sources/foo_bar.py` and exposes `SOURCE`, a
`Source` subclass. Adding a source is adding that one file.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.data.sources.base import Source

_NOT_SOURCES = {"base"}


def available_source_kinds() -> list[str]:
    package_dir = Path(__file__).parent
    return sorted(
        module.name.replace("_", "-")
        for module in pkgutil.iter_modules([str(package_dir)])
        if module.name not in _NOT_SOURCES
    )


def source_class(kind: str) -> type[Source]:
    if kind not in available_source_kinds():
        raise InputError(f"unknown source kind {kind!r}; known: {', '.join(available_source_kinds())}")
    module = importlib.import_module(f"harness.data.sources.{kind.replace('-', '_')}")
    return module.SOURCE


def make_source(spec: dict[str, Any], base_dir: Path, where: str | Path | None = None) -> Source:
    """Validate a `source:` mapping from a suite and build the source it names."""
    params = dict(spec)
    kind = params.pop("kind", None)
    if not kind:
        raise InputError("source needs a `kind`", path=where, key="source.kind")
    try:
        cls = source_class(str(kind))
    except InputError as error:
        raise InputError(error.reason, path=where, key="source.kind") from None
    return cls.from_params(params, base_dir=base_dir, where=where)


__all__ = ["Source", "available_source_kinds", "make_source", "source_class"]
