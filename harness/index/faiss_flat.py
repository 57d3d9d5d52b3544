"""Exact inner-product search over dense vectors with faiss, shard by shard, on the GPU when faiss-gpu has one.

Documents come in shards (memory-mapped from the embedding store), grouped into blocks of consecutive
shards (`block_rows`). Blocks are kept in memory as float32 up to `resident_bytes`; the rest stay on
disk and are read (plain file reads, float16 widened) at each search, so memory stays bounded whatever
the corpus. Each block is scored with faiss's exact k-NN and its top k merged into the running top k;
rows number on across shards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field

from harness.encode import DenseRepresentation, ProgressCallback, Representation
from harness.index.base import (
    ArrayFile,
    BlockSearcher,
    Index,
    IndexParams,
    SearchResult,
    StoredBlock,
    empty_top_k,
    merge_top_k,
    read_array,
)


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


Knn = Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]


def cpu_knn(queries: np.ndarray, documents: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """faiss's exact inner-product k-NN on the CPU: (scores, row numbers within `documents`)."""
    import faiss

    return faiss.knn(queries, documents, k, metric=faiss.METRIC_INNER_PRODUCT)


def top_k_of(
    blocks: Iterable[tuple[int, np.ndarray]], queries: np.ndarray, k: int, query_batch_size: int, knn: Knn = cpu_knn
) -> tuple[np.ndarray, np.ndarray]:
    """(row numbers, scores) of the k best documents over (first row, float32 vectors) blocks, merged block by
    block: the one scoring loop, whether the blocks are scored in this process or on Ray workers."""
    indices, scores = empty_top_k(len(queries), k)
    for first, documents in blocks:
        width = min(k, len(documents))
        for start in range(0, len(queries), query_batch_size):
            batch = slice(start, start + query_batch_size)
            block_scores, block_indices = knn(queries[batch], documents, width)
            found = np.where(block_indices >= 0, block_indices + first, -1)
            indices[batch], scores[batch] = merge_top_k(indices[batch], scores[batch], found, block_scores, k)
        del documents
    return indices, scores


def float32_block(parts: Sequence[np.ndarray]) -> np.ndarray:
    """A block's shards as one contiguous float32 array in memory (memory maps read with plain file reads)."""
    arrays = [np.ascontiguousarray(read_array(part), dtype=np.float32) for part in parts]
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


class FaissFlatIndex(Index):
    kind = "faiss-flat"
    family = "dense"
    Params = FlatParams
    params: FlatParams

    def __init__(self, params: FlatParams, device: str = "cpu") -> None:
        super().__init__(params, device)
        self._blocks: list[_Block] = []
        self._gpu: Any = None
        self._searcher: BlockSearcher | None = None
        self._stored: list[StoredBlock] = []  # with a searcher: the blocks its workers read from the store
        self._on_disk = 0  # blocks past `resident_bytes`, read from disk at each search

    def use_searcher(self, searcher: BlockSearcher) -> bool:
        self._searcher = searcher
        return True

    def build(self, documents: Representation, progress: ProgressCallback | None = None) -> None:
        self.build_from_shards([documents], progress)

    def build_from_shards(self, shards: Sequence[Representation], progress: ProgressCallback | None = None) -> None:
        import faiss

        for shard in shards:
            if not isinstance(shard, DenseRepresentation):
                raise TypeError("faiss-flat indexes dense vectors")
        groups = list(self._groups([shard.vectors for shard in shards]))  # type: ignore[union-attr]
        resident, kept = 0, []
        for _, group in groups:
            size = sum(len(vectors) for vectors in group) * group[0].shape[1] * 4
            kept.append(resident + size <= self.params.resident_bytes)
            resident += size if kept[-1] else 0
        self._on_disk = kept.count(False)
        files = [tuple(ArrayFile.of(vectors) for vectors in group) for _, group in groups]
        remote = self._searcher is not None and all(file is not None for group in files for file in group)
        # With a searcher its workers read the shards from the store (each keeping up to `resident_bytes`
        # of them in memory); nothing is held here.
        self._stored = (
            [StoredBlock(first, group) for (first, _), group in zip(groups, files, strict=True)] if remote else []
        )  # type: ignore[arg-type]
        self._blocks = [
            _Block(first, tuple(group), float32_block(group) if keep and not remote else None)
            for (first, group), keep in zip(groups, kept, strict=True)
        ]
        if self.device.startswith("cuda") and hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
            self._gpu = faiss.StandardGpuResources()
        if progress:
            progress(sum(len(shard) for shard in shards))

    def _groups(self, shards: Sequence[np.ndarray]) -> Iterator[tuple[int, list[np.ndarray]]]:
        """(first row, shards) of each block: consecutive shards up to about `block_rows` rows."""
        group: list[np.ndarray] = []
        first = rows = 0
        for position, vectors in enumerate(shards):
            group.append(vectors)
            rows += len(vectors)
            if rows >= self.params.block_rows or position == len(shards) - 1:
                yield first, group
                first, group, rows = first + rows, [], 0

    def _knn(self, queries: np.ndarray, documents: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        if self._gpu is not None:
            return faiss.knn_gpu(self._gpu, queries, documents, k, metric=faiss.METRIC_INNER_PRODUCT)
        return cpu_knn(queries, documents, k)

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, float32 vectors) of each block of consecutive shards, as a search scores them: resident
        blocks from memory, the others read from disk with plain file reads (their pages never stay resident)."""
        for block in self._blocks:
            yield block.first, block.vectors if block.vectors is not None else float32_block(block.shards)

    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        if not isinstance(queries, DenseRepresentation):
            raise TypeError("faiss-flat searches with dense vectors")
        if not self._blocks:
            raise RuntimeError("build the index before searching")
        vectors = np.ascontiguousarray(queries.vectors, dtype=np.float32)
        batch = self.params.query_batch_size
        if self._stored and self._searcher is not None:
            indices, scores = self._searcher.top_k_of_blocks(
                self._stored, vectors, k, batch, self.params.resident_bytes
            )
        else:
            indices, scores = top_k_of(self.blocks(), vectors, k, batch, self._knn)
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
            "blocks_on_disk": self._on_disk,
            "stored_dtype": dtypes[0] if len(dtypes) == 1 else dtypes,
            "search": "exact, block by block of consecutive shards with a top-k merge",
        }


INDEX = FaissFlatIndex
