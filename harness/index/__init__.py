"""Index and search: one index per representation family, found by convention.

An index kind `foo-bar` lives in `harness/index/foo_bar.py` and exposes `INDEX`.

May import: core, data, evaluation, catalog, encode, models, store.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.core.errors import InputError
from harness.encode import Family
from harness.index.base import Index, IndexParams, SearchResult, top_k_rows

DEFAULT_INDEX: dict[str, str] = {
    "dense": "faiss-flat",
    "sparse": "sparse-exact",
    "multivector": "maxsim-exact",
    "hybrid": "hybrid-rerank",
}


def available_index_kinds() -> list[str]:
    return sorted(
        module.name.replace("_", "-")
        for module in pkgutil.iter_modules([str(Path(__file__).parent)])
        if module.name != "base"
    )


def index_class(kind: str) -> type[Index]:
    if kind not in available_index_kinds():
        raise InputError(f"unknown index kind {kind!r}; known: {', '.join(available_index_kinds())}", key="index.kind")
    return importlib.import_module(f"harness.index.{kind.replace('-', '_')}").INDEX


def parse_index_spec(text: str) -> dict[str, Any]:
    """`plaid` or `plaid:nbits=2,probes=4` -> {"kind": "plaid", "nbits": 2, "probes": 4}.

    Values are read as YAML scalars (`2` is a number, `true` a boolean, `null` unset). The kind and its
    parameters are checked here, so a typo fails before any model runs.
    """
    kind, _, rest = text.partition(":")
    spec: dict[str, Any] = {"kind": kind.strip()}
    for item in (part.strip() for part in rest.split(",")):
        if not item:
            continue
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise InputError(f"expected key=value after the index kind, got {item!r}", key="--index")
        spec[key.strip()] = yaml.safe_load(value) if value.strip() else None
    try:
        cls = index_class(spec["kind"])
        cls.from_params({key: value for key, value in spec.items() if key != "kind"})
    except InputError as error:
        raise InputError(error.reason, key="--index") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InputError(f"{spec['kind']} {where}: {first['msg']}", key="--index") from None
    return spec


def make_index(family: Family, spec: Mapping[str, Any] | None = None, device: str = "cpu") -> Index:
    """The index a card asks for (`index: {kind: ..., <params>}`), else the family's default."""
    params = dict(spec or {})
    kind = str(params.pop("kind", DEFAULT_INDEX[family]))
    cls = index_class(kind)
    if cls.family != family:
        raise InputError(f"index {kind!r} is for {cls.family} representations, not {family}", key="index.kind")
    try:
        return cls.from_params(params, device=device)
    except ValidationError as error:
        raise InputError.from_validation(error, prefix="index") from None
    except ValueError as error:
        raise InputError(str(error).splitlines()[0], key="index") from None


__all__ = [
    "DEFAULT_INDEX",
    "Index",
    "IndexParams",
    "SearchResult",
    "available_index_kinds",
    "index_class",
    "make_index",
    "parse_index_spec",
    "top_k_rows",
]
