"""The interface every index implements: build once from documents, search with queries."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from harness.encode import Family, ProgressCallback, Representation, concatenate


class IndexParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class SearchResult:
    """Top-k per query, best first: document row numbers (-1 pads short lists) and their scores."""

    indices: np.ndarray  # (n_queries, k) int64
    scores: np.ndarray  # (n_queries, k) float32

    def __post_init__(self) -> None:
        if self.indices.shape != self.scores.shape:
            raise ValueError("indices and scores must have the same shape")


@dataclass(frozen=True)
class ArrayFile:
    """A memory-mapped array by reference: what another process (a Ray worker) needs to read it."""

    path: str
    offset: int
    dtype: str
    shape: tuple[int, ...]

    @classmethod
    def of(cls, array: np.ndarray) -> ArrayFile | None:
        """The file behind a memory map (a stored shard); None for an array that lives in memory."""
        if isinstance(array, np.memmap) and array.filename is not None:
            return cls(str(array.filename), int(array.offset), str(array.dtype), tuple(array.shape))
        return None

    def read(self) -> np.ndarray:
        """The array in memory, read with plain file reads, so its pages never stay resident in this process."""
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            return np.fromfile(handle, dtype=self.dtype, count=int(np.prod(self.shape))).reshape(self.shape)


@dataclass(frozen=True)
class StoredBlock:
    """Consecutive stored shards scored together; its rows number on from `first`."""

    first: int
    shards: tuple[ArrayFile, ...]


class BlockSearcher(Protocol):
    """Scores stored blocks somewhere else (Ray workers, `harness.run.distributed`) and returns their top k, merged
    with `merge_top_k` as a search in this process merges them."""

    def top_k_of_blocks(
        self, blocks: Sequence[StoredBlock], queries: np.ndarray, k: int, query_batch_size: int, resident_bytes: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(row numbers, scores) of the k best; each worker keeps up to `resident_bytes` of its blocks in memory."""


class Index(ABC):
    kind: ClassVar[str]
    family: ClassVar[Family]
    Params: ClassVar[type[IndexParams]] = IndexParams

    def __init__(self, params: IndexParams, device: str = "cpu") -> None:
        self.params = params
        self.device = device

    @classmethod
    def from_params(cls, raw: Mapping[str, Any], device: str = "cpu") -> Index:
        return cls(cls.Params.model_validate(dict(raw)), device=device)

    @abstractmethod
    def build(self, documents: Representation, progress: ProgressCallback | None = None) -> None:
        """Index the documents; row i of `documents` is document number i in search results."""

    def build_from_shards(self, shards: Sequence[Representation], progress: ProgressCallback | None = None) -> None:
        """Index documents stored in shards; rows number on across shards. Exact indexes search shard by shard
        without holding every vector in memory; the others take the shards as one representation."""
        self.build(concatenate(shards), progress)

    def use_searcher(self, searcher: BlockSearcher) -> bool:
        """Score on `searcher`'s workers where this index can (exact dense search over stored shards), before
        `build_from_shards`; False: this index searches in this process."""
        return False

    @abstractmethod
    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        """The k best documents for each query, by this index's score."""

    @abstractmethod
    def size_bytes(self) -> int:
        """Memory the index needs to answer queries (its data structures, not the raw inputs)."""

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.params.model_dump()}


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best k columns of each row of a dense score block, sorted best first."""
    n_cols = scores.shape[1]
    if k >= n_cols:
        order = np.argsort(-scores, axis=1, kind="stable")
    else:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.take_along_axis(part, np.argsort(-part_scores, axis=1, kind="stable"), axis=1)
    top_scores = np.take_along_axis(scores, order, axis=1).astype(np.float32, copy=False)
    indices = order.astype(np.int64, copy=False)
    width = min(k, n_cols)
    if width < k:  # pad short corpora so every result has k columns
        indices = np.pad(indices, ((0, 0), (0, k - width)), constant_values=-1)
        top_scores = np.pad(top_scores, ((0, 0), (0, k - width)), constant_values=-np.inf)
    return indices, top_scores


def empty_top_k(n_queries: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(row numbers, scores) of top-k lists with nothing found yet: -1 rows and -inf scores, which every
    merge and fill leaves last."""
    return np.full((n_queries, k), -1, dtype=np.int64), np.full((n_queries, k), -np.inf, dtype=np.float32)


def merge_top_k(
    indices: np.ndarray, scores: np.ndarray, more_indices: np.ndarray, more_scores: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The best k of two top-k lists per query, by score, equal scores by lower document row; -1 pads stay last."""
    merged_indices = np.concatenate((indices, more_indices), axis=1)
    merged_scores = np.concatenate((scores, more_scores), axis=1)
    padding = merged_indices < 0
    order = np.lexsort((np.where(padding, np.iinfo(np.int64).max, merged_indices), -merged_scores, padding), axis=1)
    order = order[:, :k]
    return np.take_along_axis(merged_indices, order, axis=1), np.take_along_axis(merged_scores, order, axis=1)


def read_array(array: np.ndarray) -> np.ndarray:
    """An array in memory: a memory map (a stored shard) is read from its file with plain reads, so its pages
    never stay resident in this process; anything else is returned as it is."""
    stored = ArrayFile.of(array)
    return stored.read() if stored is not None else np.asarray(array)
