"""Exact inner-product search over dense vectors with faiss, shard by shard, on the GPU when faiss-gpu has one.

The index keeps the documents' shards as it gets them (memory-mapped from the embedding store) and
never holds them all in memory: each search reads a block of consecutive shards (`block_rows`) with
plain file reads, scores it with faiss's exact k-NN in float32 (float16 shards are widened block by
block), and merges the block's top k into the running top k. Rows number on across shards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from pydantic import Field

from harness.encode import DenseRepresentation, ProgressCallback, Representation
from harness.index.base import Index, IndexParams, SearchResult, merge_top_k, read_array


class FlatParams(IndexParams):
    query_batch_size: int = 1024
    # Consecutive shards are read and scored together up to about this many rows (float32: 768 dims x
    # 262,144 rows = 768 MiB), so a corpus of millions costs few top-k merges and bounded memory.
    block_rows: int = Field(default=262_144, ge=1)


class FaissFlatIndex(Index):
    kind = "faiss-flat"
    family = "dense"
    Params = FlatParams
    params: FlatParams

    def __init__(self, params: FlatParams, device: str = "cpu") -> None:
        super().__init__(params, device)
        self._shards: list[np.ndarray] = []
        self._gpu: Any = None

    def build(self, documents: Representation, progress: ProgressCallback | None = None) -> None:
        self.build_from_shards([documents], progress)

    def build_from_shards(self, shards: Sequence[Representation], progress: ProgressCallback | None = None) -> None:
        import faiss

        for shard in shards:
            if not isinstance(shard, DenseRepresentation):
                raise TypeError("faiss-flat indexes dense vectors")
        self._shards = [shard.vectors for shard in shards]  # type: ignore[union-attr]
        if self.device.startswith("cuda") and hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
            self._gpu = faiss.StandardGpuResources()
        if progress:
            progress(sum(len(vectors) for vectors in self._shards))

    def _knn(self, queries: np.ndarray, documents: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        metric = faiss.METRIC_INNER_PRODUCT
        if self._gpu is not None:
            return faiss.knn_gpu(self._gpu, queries, documents, k, metric=metric)
        return faiss.knn(queries, documents, k, metric=metric)

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, float32 vectors) of consecutive shards, about `block_rows` rows at a time. Memory-mapped
        shards are read with plain file reads, so their pages never stay resident in this process."""
        group: list[np.ndarray] = []
        rows = first = offset = 0
        for vectors in self._shards:
            group.append(_read(vectors))
            rows += len(vectors)
            offset += len(vectors)
            if rows >= self.params.block_rows:
                yield first, group[0] if len(group) == 1 else np.concatenate(group)
                group, rows, first = [], 0, offset
        if group:
            yield first, group[0] if len(group) == 1 else np.concatenate(group)

    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        if not isinstance(queries, DenseRepresentation):
            raise TypeError("faiss-flat searches with dense vectors")
        if not self._shards:
            raise RuntimeError("build the index before searching")
        vectors = np.ascontiguousarray(queries.vectors, dtype=np.float32)
        indices = np.full((len(vectors), k), -1, dtype=np.int64)
        scores = np.full((len(vectors), k), -np.inf, dtype=np.float32)
        step = self.params.query_batch_size
        for first, documents in self.blocks():
            width = min(k, len(documents))
            for start in range(0, len(vectors), step):
                block = slice(start, start + step)
                block_scores, block_indices = self._knn(vectors[block], documents, width)
                found = np.where(block_indices >= 0, block_indices + first, -1)
                indices[block], scores[block] = merge_top_k(indices[block], scores[block], found, block_scores, k)
            del documents
        if progress:
            progress(len(vectors))
        return SearchResult(indices=indices, scores=scores)

    def size_bytes(self) -> int:
        return int(sum(vectors.nbytes for vectors in self._shards))

    def describe(self) -> dict[str, Any]:
        dtypes = sorted({str(vectors.dtype) for vectors in self._shards})
        return {
            **super().describe(),
            "metric": "inner_product",
            "gpu": self._gpu is not None,
            "shards": len(self._shards),
            "stored_dtype": dtypes[0] if len(dtypes) == 1 else dtypes,
            "search": "exact, shard by shard with a top-k merge (memory-mapped shards)",
        }


INDEX = FaissFlatIndex



def _read(vectors: np.ndarray) -> np.ndarray:
    """A shard's vectors as a contiguous float32 array in memory."""
    return np.ascontiguousarray(read_array(vectors), dtype=np.float32)
