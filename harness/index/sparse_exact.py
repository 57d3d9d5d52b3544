"""Exact sparse dot-product search: an inverted (term-major) matrix times query batches.

Correct for any vocabulary size (BM25's corpus vocabulary, BERT's 30k, MILCO's 280k columns).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from harness.encode import ProgressCallback, Representation, SparseRepresentation
from harness.index.base import Index, IndexParams, SearchResult, top_k_rows


class SparseExactParams(IndexParams):
    # Upper bound on the dense score block held at once (queries x documents x 4 bytes).
    score_block_bytes: int = 256 * 1024 * 1024


class SparseExactIndex(Index):
    kind = "sparse-exact"
    family = "sparse"
    Params = SparseExactParams
    params: SparseExactParams

    def __init__(self, params: SparseExactParams, device: str = "cpu") -> None:
        super().__init__(params, device)
        self._inverted: sp.csr_matrix | None = None
        self._vocabulary_name = ""

    def build(self, documents: Representation, progress: ProgressCallback | None = None) -> None:
        if not isinstance(documents, SparseRepresentation):
            raise TypeError("sparse-exact indexes sparse vectors")
        # Term-major layout: row t lists the documents containing term t (an inverted index).
        self._inverted = documents.matrix.T.tocsr().astype(np.float32)
        self._inverted.sort_indices()
        self._vocabulary_name = documents.vocabulary.name
        if progress:
            progress(len(documents))

    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        if not isinstance(queries, SparseRepresentation):
            raise TypeError("sparse-exact searches with sparse vectors")
        if self._inverted is None:
            raise RuntimeError("build the index before searching")
        if queries.vocabulary.name != self._vocabulary_name or queries.matrix.shape[1] != self._inverted.shape[0]:
            raise ValueError(
                f"query vocabulary {queries.vocabulary.name!r} ({queries.matrix.shape[1]} terms) does not match "
                f"the index's {self._vocabulary_name!r} ({self._inverted.shape[0]} terms)"
            )
        n_docs = self._inverted.shape[1]
        step = max(1, self.params.score_block_bytes // max(1, 4 * n_docs))
        matrix = queries.matrix.astype(np.float32).tocsr()
        all_indices, all_scores = [], []
        for start in range(0, matrix.shape[0], step):
            block = (matrix[start : start + step] @ self._inverted).toarray()
            indices, scores = top_k_rows(block, k)
            all_indices.append(indices)
            all_scores.append(scores)
            if progress:
                progress(block.shape[0])
        if not all_indices:
            empty = np.zeros((0, k))
            return SearchResult(indices=empty.astype(np.int64), scores=empty.astype(np.float32))
        return SearchResult(indices=np.concatenate(all_indices), scores=np.concatenate(all_scores))

    def size_bytes(self) -> int:
        if self._inverted is None:
            return 0
        m = self._inverted
        return int(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "layout": "term-major csr (inverted)", "vocabulary": self._vocabulary_name}


INDEX = SparseExactIndex
