"""ranx's per-query inputs as a numba typed list, built by a kernel cached on disk."""

from __future__ import annotations

import numpy as np

from harness.evaluation.protocol import _ranx_metrics
from harness.evaluation.typed_rows import typed_rows


def test_arrays_keep_their_order_rows_and_empty_queries() -> None:
    _ranx_metrics()  # points numba's cache at the user directory first, as `evaluate` does
    arrays = [np.array([[0.0, 2.0], [1.0, 1.0]]), np.zeros((0, 2)), np.array([[3.0, 1.0]])]
    built = typed_rows(arrays)
    assert len(built) == 3
    for got, expected in zip(built, arrays, strict=True):
        np.testing.assert_array_equal(np.asarray(got), expected)


def test_no_arrays_give_an_empty_list() -> None:
    _ranx_metrics()
    assert len(typed_rows([])) == 0
