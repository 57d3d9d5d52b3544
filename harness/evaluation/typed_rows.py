"""Per-query arrays as the numba typed list ranx's metrics take, built by one cached kernel.

`numba.typed.List(arrays)` compiles its append method in every new process (about 2 s); this
kernel is compiled once and cached on disk like ranx's own, so a process only loads it. Import it
after `NUMBA_CACHE_DIR` is set (see `protocol._ranx_metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit
from numba.typed import List


@njit(cache=True)
def _split(rows: np.ndarray, offsets: np.ndarray) -> Any:
    arrays = List()
    for position in range(len(offsets) - 1):
        arrays.append(rows[offsets[position] : offsets[position + 1]])
    return arrays


def typed_rows(arrays: Sequence[np.ndarray]) -> Any:
    """A numba `List` of the (n, 2) float64 arrays, in order (empty arrays included)."""
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum([len(array) for array in arrays], out=offsets[1:])
    rows = np.concatenate(arrays) if arrays else np.zeros((0, 2), dtype=np.float64)
    return _split(np.ascontiguousarray(rows, dtype=np.float64).reshape(-1, 2), offsets)
