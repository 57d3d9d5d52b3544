"""Exact inner-product search over dense vectors with faiss, on the GPU when faiss-gpu has one."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.encode import DenseRepresentation, ProgressCallback, Representation
from harness.index.base import Index, IndexParams, SearchResult


class FlatParams(IndexParams):
    query_batch_size: int = 1024


class FaissFlatIndex(Index):
    kind = "faiss-flat"
    family = "dense"
    Params = FlatParams
    params: FlatParams

    def __init__(self, params: FlatParams, device: str = "cpu") -> None:
        super().__init__(params, device)
        self._index: Any = None
        self._on_gpu = False
        self._nbytes = 0

    def build(self, documents: Representation, progress: ProgressCallback | None = None) -> None:
        import faiss

        if not isinstance(documents, DenseRepresentation):
            raise TypeError("faiss-flat indexes dense vectors")
        vectors = np.ascontiguousarray(documents.vectors, dtype=np.float32)
        index = faiss.IndexFlatIP(vectors.shape[1])
        if self.device.startswith("cuda") and hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
            self._resources = faiss.StandardGpuResources()
            index = faiss.index_cpu_to_gpu(self._resources, 0, index)
            self._on_gpu = True
        index.add(vectors)
        self._index = index
        self._nbytes = int(vectors.nbytes)
        if progress:
            progress(len(vectors))

    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        if not isinstance(queries, DenseRepresentation):
            raise TypeError("faiss-flat searches with dense vectors")
        if self._index is None:
            raise RuntimeError("build the index before searching")
        vectors = np.ascontiguousarray(queries.vectors, dtype=np.float32)
        k_eff = min(k, self._index.ntotal)
        indices = np.full((len(vectors), k), -1, dtype=np.int64)
        scores = np.full((len(vectors), k), -np.inf, dtype=np.float32)
        step = self.params.query_batch_size
        for start in range(0, len(vectors), step):
            block_scores, block_indices = self._index.search(vectors[start : start + step], k_eff)
            indices[start : start + step, :k_eff] = block_indices
            scores[start : start + step, :k_eff] = block_scores
            if progress:
                progress(len(block_indices))
        return SearchResult(indices=indices, scores=scores)

    def size_bytes(self) -> int:
        return self._nbytes

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "metric": "inner_product", "gpu": self._on_gpu}


INDEX = FaissFlatIndex
