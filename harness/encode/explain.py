"""Why a sparse model scored a document: its terms, view by view, and each matching term's share.

A sparse score is a dot product, so it decomposes exactly into one contribution per shared
column (query weight x document weight); the explanation lists them, largest first, and sums
them per view (MILCO's English pivot and source echo views).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.encode import SparseRepresentation


@dataclass(frozen=True)
class WeightedTerm:
    term: str
    column: int
    weight: float


@dataclass(frozen=True)
class Contribution:
    term: str
    column: int
    view: str
    query_weight: float
    document_weight: float

    @property
    def value(self) -> float:
        return self.query_weight * self.document_weight


@dataclass(frozen=True)
class MatchExplanation:
    score: float
    contributions: list[Contribution]  # largest first
    per_view: dict[str, float]  # view name -> sum of its contributions


def _row(representation: SparseRepresentation, row: int) -> tuple[np.ndarray, np.ndarray]:
    matrix = representation.matrix
    begin, end = matrix.indptr[row], matrix.indptr[row + 1]
    return matrix.indices[begin:end], matrix.data[begin:end]


def top_terms_by_view(representation: SparseRepresentation, row: int, k: int = 20) -> dict[str, list[WeightedTerm]]:
    """The k heaviest terms of one text in each view (ties by column), every view listed even when empty."""
    columns, weights = _row(representation, row)
    vocabulary = representation.vocabulary
    result: dict[str, list[WeightedTerm]] = {}
    for view in vocabulary.blocks():
        inside = (columns >= view.start) & (columns < view.stop) & (weights != 0)
        view_columns, view_weights = columns[inside], weights[inside]
        order = np.lexsort((view_columns, -view_weights))[:k]
        result[view.name] = [
            WeightedTerm(vocabulary.term(int(view_columns[i])), int(view_columns[i]), float(view_weights[i]))
            for i in order
        ]
    return result


def explain_match(
    queries: SparseRepresentation, query_row: int, documents: SparseRepresentation, document_row: int
) -> MatchExplanation:
    if queries.vocabulary.name != documents.vocabulary.name:
        raise ValueError("query and document vectors come from different vocabularies")
    vocabulary = documents.vocabulary
    q_columns, q_weights = _row(queries, query_row)
    d_columns, d_weights = _row(documents, document_row)
    shared, q_at, d_at = np.intersect1d(q_columns, d_columns, assume_unique=True, return_indices=True)
    contributions = [
        Contribution(
            term=vocabulary.term(int(column)),
            column=int(column),
            view=vocabulary.view_of(int(column)),
            query_weight=float(q_weights[qi]),
            document_weight=float(d_weights[di]),
        )
        for column, qi, di in zip(shared, q_at, d_at, strict=True)
    ]
    contributions.sort(key=lambda c: (-c.value, c.column))
    per_view = {view.name: 0.0 for view in vocabulary.blocks()}
    for contribution in contributions:
        per_view[contribution.view] += contribution.value
    return MatchExplanation(score=sum(per_view.values()), contributions=contributions, per_view=per_view)
