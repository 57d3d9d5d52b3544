"""Exact inner-product search over dense vectors with faiss, shard by shard, on the GPU when faiss-gpu has one.

The index keeps the documents' shards as it gets them (memory-mapped from the embedding store) and
never holds them all in memory: each search reads one shard at a time, scores it with faiss's exact
k-NN (float32; float16 shards are widened one at a time), and merges the shard's top k into the running
top k. Rows number on across shards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.encode import DenseRepresentation, ProgressCallback, Representation
from harness.index.base import Index, IndexParams, SearchResult, merge_top_k


class FlatParams(IndexParams):
    query_batch_size: int = 1024


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
        if self._gpu is not None:  # knn_gpu takes float16 as it is
            return faiss.knn_gpu(self._gpu, queries, np.ascontiguousarray(documents), k, metric=metric)
        return faiss.knn(queries, np.ascontiguousarray(documents, dtype=np.float32), k, metric=metric)

    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        if not isinstance(queries, DenseRepresentation):
            raise TypeError("faiss-flat searches with dense vectors")
        if not self._shards:
            raise RuntimeError("build the index before searching")
        vectors = np.ascontiguousarray(queries.vectors, dtype=np.float32)
        indices = np.full((len(vectors), k), -1, dtype=np.int64)
        scores = np.full((len(vectors), k), -np.inf, dtype=np.float32)
        step = self.params.query_batch_size
        offset = 0
        for documents in self._shards:
            width = min(k, len(documents))
            if width:
                for start in range(0, len(vectors), step):
                    block = slice(start, start + step)
                    shard_scores, shard_indices = self._knn(vectors[block], documents, width)
                    found = np.where(shard_indices >= 0, shard_indices + offset, -1)
                    indices[block], scores[block] = merge_top_k(indices[block], scores[block], found, shard_scores, k)
            offset += len(documents)
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
