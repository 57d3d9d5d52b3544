"""Index and search: one index per representation family, found by convention.

An index kind `foo-bar` lives in `harness/index/foo_bar.py` and exposes `INDEX`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.encode import Family
from harness.errors import InputError
from harness.index.base import Index, IndexParams, SearchResult, top_k_rows

DEFAULT_INDEX: dict[str, str] = {"dense": "faiss-flat", "sparse": "sparse-exact", "multivector": "maxsim-exact"}


def available_index_kinds() -> list[str]:
    return sorted(
        module.name.replace("_", "-")
        for module in pkgutil.iter_modules([str(Path(__file__).parent)])
        if module.name != "base"
    )


def make_index(family: Family, spec: Mapping[str, Any] | None = None, device: str = "cpu") -> Index:
    """The index a card asks for (`index: {kind: ..., <params>}`), else the family's default."""
    params = dict(spec or {})
    kind = str(params.pop("kind", DEFAULT_INDEX[family]))
    if kind not in available_index_kinds():
        raise InputError(f"unknown index kind {kind!r}; known: {', '.join(available_index_kinds())}", key="index.kind")
    cls: type[Index] = importlib.import_module(f"harness.index.{kind.replace('-', '_')}").INDEX
    if cls.family != family:
        raise InputError(f"index {kind!r} is for {cls.family} representations, not {family}", key="index.kind")
    try:
        return cls.from_params(params, device=device)
    except ValidationError as error:
        first = error.errors()[0]
        raise InputError(first["msg"], key=".".join(["index", *(str(part) for part in first["loc"])])) from None


__all__ = ["DEFAULT_INDEX", "Index", "IndexParams", "SearchResult", "available_index_kinds", "make_index", "top_k_rows"]
