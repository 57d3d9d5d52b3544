"""Exact inner-product search over dense vectors with faiss, shard by shard, on the GPU when faiss-gpu has one.

Documents come in shards (memory-mapped from the embedding store), grouped into blocks of consecutive
shards (`block_rows`). Blocks are kept in memory as float32 up to `resident_bytes`; the rest stay on
disk and are read (plain file reads, float16 widened) at each search, so memory stays bounded whatever
the corpus. Each block is scored with faiss's exact k-NN and its top k merged into the running top k;
rows number on across shards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
    # Blocks are kept in memory (float32) up to this size; the rest are read from disk at each search.
    resident_bytes: int = Field(default=2 * 2**30, ge=0)


@dataclass(frozen=True)
class _Block:
    first: int  # row of its first vector
    shards: tuple[np.ndarray, ...]  # as stored (memory maps)
    vectors: np.ndarray | None  # float32 in memory, when resident


class FaissFlatIndex(Index):
    kind = "faiss-flat"
    family = "dense"
    Params = FlatParams
    params: FlatParams

    def __init__(self, params: FlatParams, device: str = "cpu") -> None:
        super().__init__(params, device)
        self._blocks: list[_Block] = []
        self._gpu: Any = None

    def build(self, documents: Representation, progress: ProgressCallback | None = None) -> None:
        self.build_from_shards([documents], progress)

    def build_from_shards(self, shards: Sequence[Representation], progress: ProgressCallback | None = None) -> None:
        import faiss

        for shard in shards:
            if not isinstance(shard, DenseRepresentation):
                raise TypeError("faiss-flat indexes dense vectors")
        self._blocks = []
        group: list[np.ndarray] = []
        first = rows = resident = 0
        for position, shard in enumerate(shards):
            group.append(shard.vectors)  # type: ignore[union-attr]
            rows += len(shard)
            if rows >= self.params.block_rows or position == len(shards) - 1:
                size = rows * group[0].shape[1] * 4
                keep = resident + size <= self.params.resident_bytes
                self._blocks.append(_Block(first, tuple(group), _concatenated(group) if keep else None))
                resident += size if keep else 0
                first, group, rows = first + rows, [], 0
        if self.device.startswith("cuda") and hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
            self._gpu = faiss.StandardGpuResources()
        if progress:
            progress(sum(len(shard) for shard in shards))

    def _knn(self, queries: np.ndarray, documents: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        metric = faiss.METRIC_INNER_PRODUCT
        if self._gpu is not None:
            return faiss.knn_gpu(self._gpu, queries, documents, k, metric=metric)
        return faiss.knn(queries, documents, k, metric=metric)

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, float32 vectors) of each block of consecutive shards, as a search scores them: resident
        blocks from memory, the others read from disk with plain file reads (their pages never stay resident)."""
        for block in self._blocks:
            yield block.first, block.vectors if block.vectors is not None else _concatenated(block.shards)

    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        if not isinstance(queries, DenseRepresentation):
            raise TypeError("faiss-flat searches with dense vectors")
        if not self._blocks:
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
        return int(sum(vectors.nbytes for block in self._blocks for vectors in block.shards))

    def describe(self) -> dict[str, Any]:
        dtypes = sorted({str(vectors.dtype) for block in self._blocks for vectors in block.shards})
        return {
            **super().describe(),
            "metric": "inner_product",
            "gpu": self._gpu is not None,
            "shards": sum(len(block.shards) for block in self._blocks),
            "blocks": len(self._blocks),
            "blocks_on_disk": sum(block.vectors is None for block in self._blocks),
            "stored_dtype": dtypes[0] if len(dtypes) == 1 else dtypes,
            "search": "exact, block by block of consecutive shards with a top-k merge",
        }


def _concatenated(shards: Sequence[np.ndarray]) -> np.ndarray:
    """Shards as one contiguous float32 array in memory."""
    parts = [np.ascontiguousarray(read_array(vectors), dtype=np.float32) for vectors in shards]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


INDEX = FaissFlatIndex
