"""Exact sparse dot-product search: an inverted (term-major) matrix times query batches.

Correct for any vocabulary size (BM25's corpus vocabulary, BERT's 30k, MILCO's 280k columns):
term ids are scipy's 32/64-bit indices, never narrowed. Only documents sharing at least one
term with the query are candidates (as in Lucene or Seismic); the rest are never ranked, so
a short result list is padded with -1 instead of being filled with arbitrary zero-score documents.

Documents come in shards (the embedding store's); each shard gets its own inverted matrix and the
shards' top k are merged. Inverted shards are kept in memory up to `resident_bytes`; past that, a
shard stays on disk and is read (plain file reads) and inverted at each search, so a corpus larger
than memory can still be searched exactly, at the price of that work per search.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from harness.encode import ProgressCallback, Representation, SparseRepresentation
from harness.index.base import Index, IndexParams, SearchResult, merge_top_k, read_array


class SparseExactParams(IndexParams):
    # Upper bound on the score block held at once (queries x documents x 8 bytes, value and id).
    score_block_bytes: int = 256 * 1024 * 1024
    # Inverted shards kept in memory up to this size; the rest are inverted from disk at each search.
    resident_bytes: int = Field(default=4 * 2**30, ge=0)


class SparseExactIndex(Index):
    kind = "sparse-exact"
    family = "sparse"
    Params = SparseExactParams
    params: SparseExactParams

    def __init__(self, params: SparseExactParams, device: str = "cpu") -> None:
        super().__init__(params, device)
        # Per shard: its inverted (term-major) matrix in memory, or the shard itself to invert at search time.
        self._shards: list[sp.csr_matrix | SparseRepresentation] = []
        self._vocabulary_name = ""
        self._n_terms = 0

    def build(self, documents: Representation, progress: ProgressCallback | None = None) -> None:
        self.build_from_shards([documents], progress)

    def build_from_shards(self, shards: Sequence[Representation], progress: ProgressCallback | None = None) -> None:
        self._shards = []
        resident = 0
        for documents in shards:
            if not isinstance(documents, SparseRepresentation):
                raise TypeError("sparse-exact indexes sparse vectors")
            self._vocabulary_name = documents.vocabulary.name
            self._n_terms = len(documents.vocabulary)
            size = _nbytes(documents.matrix)
            if resident + size <= self.params.resident_bytes:
                self._shards.append(_invert(documents.matrix))
                resident += size
            else:
                self._shards.append(documents)
            if progress:
                progress(len(documents))

    def _inverted(self) -> Iterator[sp.csr_matrix]:
        for shard in self._shards:
            yield _invert(_read_csr(shard.matrix)) if isinstance(shard, SparseRepresentation) else shard

    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        if not isinstance(queries, SparseRepresentation):
            raise TypeError("sparse-exact searches with sparse vectors")
        if not self._shards:
            raise RuntimeError("build the index before searching")
        if queries.vocabulary.name != self._vocabulary_name or queries.matrix.shape[1] != self._n_terms:
            raise ValueError(
                f"query vocabulary {queries.vocabulary.name!r} ({queries.matrix.shape[1]} terms) does not match "
                f"the index's {self._vocabulary_name!r} ({self._n_terms} terms)"
            )
        matrix = queries.matrix.astype(np.float32).tocsr()
        indices = np.full((matrix.shape[0], k), -1, dtype=np.int64)
        scores = np.full((matrix.shape[0], k), -np.inf, dtype=np.float32)
        offset = 0
        for inverted in self._inverted():
            shard_indices, shard_scores = self._search_shard(matrix, inverted, k)
            shard_indices = np.where(shard_indices >= 0, shard_indices + offset, -1)
            if offset == 0:
                indices, scores = shard_indices, shard_scores
            else:
                indices, scores = merge_top_k(indices, scores, shard_indices, shard_scores, k)
            offset += inverted.shape[1]
        if progress:
            progress(matrix.shape[0])
        return SearchResult(indices=indices, scores=scores)

    def _search_shard(self, matrix: sp.csr_matrix, inverted: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
        n_docs = inverted.shape[1]
        step = max(1, self.params.score_block_bytes // max(1, 8 * n_docs))
        indices = np.full((matrix.shape[0], k), -1, dtype=np.int64)
        scores = np.full((matrix.shape[0], k), -np.inf, dtype=np.float32)
        for start in range(0, matrix.shape[0], step):
            block = (matrix[start : start + step] @ inverted).tocsr()
            for row in range(block.shape[0]):
                begin, end = block.indptr[row], block.indptr[row + 1]
                top, top_scores = top_k_candidates(block.indices[begin:end], block.data[begin:end], k)
                indices[start + row, : len(top)] = top
                scores[start + row, : len(top)] = top_scores
        return indices, scores

    def size_bytes(self) -> int:
        return int(
            sum(_nbytes(shard.matrix if isinstance(shard, SparseRepresentation) else shard) for shard in self._shards)
        )

    def describe(self) -> dict[str, Any]:
        on_disk = sum(isinstance(shard, SparseRepresentation) for shard in self._shards)
        return {
            **super().describe(),
            "layout": "term-major csr (inverted), one per shard",
            "vocabulary": self._vocabulary_name,
            "shards": len(self._shards),
            "shards_on_disk": on_disk,
        }


def _nbytes(matrix: sp.csr_matrix) -> int:
    return int(matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes)


def _invert(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Term-major layout: row t lists the documents containing term t (an inverted index)."""
    inverted = matrix.T.tocsr().astype(np.float32)
    inverted.sort_indices()
    return inverted


def _read_csr(matrix: sp.csr_matrix) -> sp.csr_matrix:
    arrays = (read_array(matrix.data), read_array(matrix.indices), read_array(matrix.indptr))
    return sp.csr_matrix(arrays, shape=matrix.shape)


def top_k_candidates(documents: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best of one query's scored candidates, best first; equal scores by document number."""
    if len(scores) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        above = scores > kth
        tied = np.flatnonzero(scores == kth)
        tied = tied[np.argsort(documents[tied], kind="stable")[: k - int(above.sum())]]
        chosen = np.concatenate((np.flatnonzero(above), tied))
        documents, scores = documents[chosen], scores[chosen]
    order = np.lexsort((documents, -scores))
    return documents[order].astype(np.int64), scores[order].astype(np.float32)


INDEX = SparseExactIndex
