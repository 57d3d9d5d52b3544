"""Post-hoc pruning of sparse vectors: fewer active terms per text, chosen after training.

Two rules, both applied row by row to a csr matrix before indexing:

- `topk:K` keeps the K largest weights of each row.
- `mass:P` keeps the smallest set of largest weights whose sum reaches P% of the row's total
  (MILCO's mass-based pruning: long, flat rows keep more terms than short, peaked ones).

`topk:0`, `mass:0` and `none` mean no pruning (the unpruned reference point of a sweep).
Weights are ranked largest first; equal weights are ranked by column, lowest first, so the
kept set never depends on storage order. Explicit zeros are always dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NoReturn

import numpy as np
import scipy.sparse as sp

Method = Literal["none", "topk", "mass"]

# Rows are ranked in chunks of about this many stored weights, to bound the sort's memory.
_CHUNK_NNZ = 8_000_000


@dataclass(frozen=True)
class Pruning:
    method: Method = "none"
    amount: float = 0.0  # K for topk, P (percent of the mass) for mass

    @property
    def label(self) -> str:
        if self.method == "none":
            return "none"
        amount = int(self.amount) if float(self.amount).is_integer() else self.amount
        return f"{self.method}:{amount}"

    @classmethod
    def parse(cls, text: str) -> Pruning:
        """`none`, `topk:K` (K >= 0 integer) or `mass:P` (0 <= P <= 100)."""
        rules = parse_pruning_list(text)
        if len(rules) != 1:
            _refuse(text, "expected one rule, not a list")
        return rules[0]


def _refuse(text: str, reason: str) -> NoReturn:
    raise ValueError(f"invalid pruning {text!r}: {reason}")


def _one(method: str, value: str, text: str) -> Pruning:
    try:
        amount = float(value)
    except ValueError:
        _refuse(text, f"{value!r} is not a number")
    if method == "topk" and (amount < 0 or not amount.is_integer()):
        _refuse(text, "top-k takes a whole number of terms >= 0")
    if method == "mass" and not 0 <= amount <= 100:
        _refuse(text, "mass takes a percentage between 0 and 100")
    return Pruning() if amount == 0 else Pruning(method, amount)  # type: ignore[arg-type]


def parse_pruning_list(text: str) -> list[Pruning]:
    """`mass:0,10,95` or `topk:32,64` (one rule, several amounts) or `none`; duplicates dropped."""
    text = text.strip()
    if text == "none":
        return [Pruning()]
    method, _, values = text.partition(":")
    method = method.strip().lower()
    if method not in {"topk", "mass"} or not values.strip():
        _refuse(text, "expected `none`, `topk:K[,K...]` or `mass:P[,P...]`")
    rules = [_one(method, value.strip(), text) for value in values.split(",") if value.strip()]
    return list(dict.fromkeys(rules))


def prune(matrix: sp.csr_matrix, rule: Pruning) -> sp.csr_matrix:
    """A pruned copy of `matrix` (rows are texts); the input is left unchanged."""
    matrix = sp.csr_matrix(matrix, copy=True)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    if rule.method == "none":
        return matrix
    if matrix.nnz and matrix.data.min() < 0:
        raise ValueError("pruning ranks non-negative weights; this matrix has negative ones")
    keep = np.zeros(matrix.nnz, dtype=bool)
    for first, last in _row_chunks(matrix.indptr):
        keep[matrix.indptr[first] : matrix.indptr[last]] = _keep_in_rows(matrix, first, last, rule)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[keep]
    indptr = np.zeros(matrix.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=matrix.shape[0]), out=indptr[1:])
    return sp.csr_matrix((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)


def _row_chunks(indptr: np.ndarray) -> list[tuple[int, int]]:
    n_rows = len(indptr) - 1
    chunks, first = [], 0
    while first < n_rows:
        last = int(np.searchsorted(indptr, indptr[first] + _CHUNK_NNZ, side="right")) - 1
        last = min(max(last, first + 1), n_rows)
        chunks.append((first, last))
        first = last
    return chunks


def _keep_in_rows(matrix: sp.csr_matrix, first: int, last: int, rule: Pruning) -> np.ndarray:
    """Which stored weights of rows [first, last) survive, in storage order."""
    start, stop = matrix.indptr[first], matrix.indptr[last]
    data = matrix.data[start:stop].astype(np.float64)
    columns = matrix.indices[start:stop]
    lengths = np.diff(matrix.indptr[first : last + 1])
    rows = np.repeat(np.arange(last - first), lengths)
    # Row, then weight descending, then column ascending: the ranking inside each row.
    order = np.lexsort((columns, -data, rows))
    ends = np.cumsum(lengths)
    starts = ends - lengths  # sorted position of each row's first entry
    if rule.method == "topk":
        kept_sorted = (np.arange(len(order)) - np.repeat(starts, lengths)) < rule.amount
    else:
        ranked = data[order]
        cumulative = np.concatenate(([0.0], np.cumsum(ranked)))
        before = cumulative[:-1] - np.repeat(cumulative[starts], lengths)  # row mass ranked ahead of this term
        target = np.repeat((cumulative[ends] - cumulative[starts]) * (rule.amount / 100.0), lengths)
        # Keep a term while the mass already kept is short of the target (with float slack).
        kept_sorted = before < target * (1 - 1e-12)
    keep = np.zeros(len(order), dtype=bool)
    keep[order[kept_sorted]] = True
    return keep
