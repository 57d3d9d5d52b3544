"""Hybrid search as BGE-M3's authors compute it: candidates from the dense index, then all three scores.

Candidates are the `candidates` best documents by the dense part (exact inner product, faiss-flat);
unset, as many as the search depth k. Each candidate is then scored by the sum of its dense (inner
product), sparse (dot product of term weights) and multi-vector (MaxSim) scores, and the k best
candidates are returned, ties by document number. The hybrid adapter folds its mode weights (and
BGE-M3's 1/len(query) for MaxSim) into the query parts, so the sum is the model's own weighted
score. A document outside the dense candidates is never scored: the depth used is recorded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from harness.encode import HybridRepresentation, ProgressCallback, Representation
from harness.index.base import Index, IndexParams, SearchResult, empty_top_k
from harness.index.faiss_flat import FaissFlatIndex, FlatParams
from harness.index.maxsim_exact import maxsim_scores, padded


class HybridRerankParams(IndexParams):
    candidates: int | None = Field(None, ge=1)  # dense candidates per query; unset: the search depth k
    doc_batch_tokens: int = Field(32768, ge=1)  # padded candidate tokens scored by MaxSim at once


class HybridRerankIndex(Index):
    kind = "hybrid-rerank"
    family = "hybrid"
    Params = HybridRerankParams
    params: HybridRerankParams

    def __init__(self, params: HybridRerankParams, device: str = "cpu") -> None:
        super().__init__(params, device)
        self._dense = FaissFlatIndex(FlatParams(), device)
        self._documents: HybridRepresentation | None = None
        self._sparse: Any = None
        self._depth: int | None = None

    def build(self, documents: Representation, progress: ProgressCallback | None = None) -> None:
        if not isinstance(documents, HybridRepresentation):
            raise TypeError("hybrid-rerank indexes hybrid representations")
        self._dense.build(documents.dense)
        self._sparse = documents.sparse.matrix.astype(np.float32).tocsr()
        self._documents = documents
        if progress:
            progress(len(documents))

    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        if not isinstance(queries, HybridRepresentation):
            raise TypeError("hybrid-rerank searches with hybrid representations")
        if self._documents is None:
            raise RuntimeError("build the index before searching")
        self._depth = depth = self.params.candidates or k
        candidates = self._dense.search(queries.dense, depth)
        indices, scores = empty_top_k(len(queries), k)
        query_sparse = queries.sparse.matrix.astype(np.float32).tocsr()
        for row in range(len(queries)):
            valid = candidates.indices[row] >= 0
            rows = candidates.indices[row][valid]
            total = (
                candidates.scores[row][valid].astype(np.float64)
                + self._sparse_scores(query_sparse[row], rows)
                + self._maxsim(queries, row, rows)
            )
            order = np.lexsort((rows, -total))[:k]
            indices[row, : len(order)] = rows[order]
            scores[row, : len(order)] = total[order]
            if progress:
                progress(1)
        return SearchResult(indices=indices, scores=scores)

    def _sparse_scores(self, query: Any, rows: np.ndarray) -> np.ndarray:
        return np.asarray((self._sparse[rows] @ query.T).todense(), dtype=np.float64).ravel()

    def _maxsim(self, queries: HybridRepresentation, row: int, rows: np.ndarray) -> np.ndarray:
        """MaxSim of one query against its candidates, in groups of at most `doc_batch_tokens` padded tokens."""
        import torch

        assert self._documents is not None
        documents = self._documents.multivector
        query, query_mask = padded(
            queries.multivector.vectors, queries.multivector.offsets, np.asarray([row]), self.device
        )
        lengths = documents.lengths()[rows]
        out = np.zeros(len(rows), dtype=np.float64)
        start = 0
        with torch.inference_mode():
            while start < len(rows):
                width = max(int(lengths[start:].max(initial=1)), 1)
                stop = min(len(rows), start + max(1, self.params.doc_batch_tokens // width))
                group, group_mask = padded(documents.vectors, documents.offsets, rows[start:stop], self.device)
                out[start:stop] = maxsim_scores(query, query_mask, group, group_mask)[0].double().cpu().numpy()
                start = stop
        return out

    def size_bytes(self) -> int:
        if self._documents is None:
            return 0
        sparse = self._sparse
        return (
            self._dense.size_bytes()
            + int(sparse.data.nbytes + sparse.indices.nbytes + sparse.indptr.nbytes)
            + self._documents.multivector.nbytes
        )

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "candidates_from": "dense part, exact inner product (faiss-flat)",
            "candidate_depth": self._depth,
            "score": "dense inner product + sparse dot product + multi-vector MaxSim, on the dense candidates",
            "dense_index": self._dense.describe(),
            "device": self.device,
        }


INDEX = HybridRerankIndex
