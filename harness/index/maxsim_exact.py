"""Exact late-interaction search: score(q, d) = sum over q's vectors of the best dot product with d's vectors.

Batched torch, on the GPU when the encoder runs there. The queries x documents x tokens tensor is never
built: documents are grouped by length and padded per group (at most `doc_batch_tokens` padded tokens),
queries are taken in blocks so one similarity block stays under `score_block_bytes`, and a running
top-k per query is merged group by group. Padded positions are masked before the max and never
scored; a document without vectors scores 0.

Padded float32 groups are built once and kept on the device (`preload`, the default for vectors in
memory). Vectors in a memmap (a float16 file larger than RAM) stay on disk instead: each group is read
and upcast when it is scored, so memory stays at one group plus one similarity block.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from pydantic import Field

from harness.encode import MultiVectorRepresentation, ProgressCallback, Representation
from harness.index.base import Index, IndexParams, SearchResult


class MaxSimExactParams(IndexParams):
    doc_batch_tokens: int = Field(32768, ge=1)
    score_block_bytes: int = Field(256 * 1024 * 1024, ge=1024)
    # Keep padded groups on the device; unset: yes unless the document vectors are a memmap.
    preload: bool | None = None


def maxsim_scores(queries: Any, query_mask: Any, documents: Any, document_mask: Any) -> Any:
    """(Bq, Lq, dim) x (Bd, Ld, dim) -> (Bq, Bd) MaxSim scores; masks mark the real (unpadded) vectors."""
    import torch

    n_queries, query_len, dim = queries.shape
    n_docs, doc_len, _ = documents.shape
    similarity = (queries.reshape(-1, dim) @ documents.reshape(-1, dim).T).view(n_queries, query_len, n_docs, doc_len)
    # -inf on padded positions, so they never win the max (an in-place add is cheaper than masked_fill)
    padding = torch.zeros(document_mask.shape, device=similarity.device).masked_fill_(~document_mask, float("-inf"))
    similarity += padding[None, None]
    best = similarity.amax(dim=-1)  # (Bq, Lq, Bd)
    best = torch.where(document_mask.any(dim=1)[None, None], best, torch.zeros((), device=best.device))
    return (best * query_mask[..., None].to(best.dtype)).sum(dim=1)


def ragged_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The ranges start[i] : start[i] + length[i], concatenated, as flat indices."""
    starts, lengths = np.asarray(starts, dtype=np.int64), np.asarray(lengths, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(int(lengths.sum()), dtype=np.int64) + shift


def ragged_rows(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat token indices of the given texts, in order, and each text's length."""
    starts = np.asarray(offsets[rows], dtype=np.int64)
    lengths = np.asarray(offsets[rows + 1], dtype=np.int64) - starts
    return ragged_ranges(starts, lengths), lengths


def padded(vectors: np.ndarray, offsets: np.ndarray, rows: np.ndarray, device: str = "cpu") -> tuple[Any, Any]:
    """The texts `rows` as a zero-padded float32 tensor (B, L, dim) and its mask (B, L)."""
    import torch

    flat, lengths = ragged_rows(offsets, rows)
    width = max(int(lengths.max(initial=0)), 1)  # an all-empty group still gets one masked column
    mask = np.arange(width)[None, :] < lengths[:, None]
    block = np.zeros((len(rows), width, vectors.shape[1]), dtype=np.float32)
    block[mask] = vectors[flat]
    return torch.from_numpy(block).to(device), torch.from_numpy(mask).to(device)


def merge_top_k(scores: Any, indices: Any, new_scores: Any, new_indices: Any, k: int) -> tuple[Any, Any]:
    """The best k of a running top-k and a new block of candidates, per row."""
    import torch

    all_scores = torch.cat([scores, new_scores], dim=1)
    all_indices = torch.cat([indices, new_indices.expand(new_scores.shape[0], -1)], dim=1)
    best, where = all_scores.topk(min(k, all_scores.shape[1]), dim=1)
    return best, all_indices.gather(1, where)


class MaxSimExactIndex(Index):
    kind = "maxsim-exact"
    family = "multivector"
    Params = MaxSimExactParams
    params: MaxSimExactParams

    def __init__(self, params: MaxSimExactParams, device: str = "cpu") -> None:
        super().__init__(params, device)
        self._documents: MultiVectorRepresentation | None = None
        self._groups: list[np.ndarray] = []
        self._preloaded: list[tuple[Any, Any]] | None = None

    def build(self, documents: Representation, progress: ProgressCallback | None = None) -> None:
        if not isinstance(documents, MultiVectorRepresentation):
            raise TypeError("maxsim-exact indexes multi-vector representations")
        self._groups = list(self._length_groups(documents.lengths()))
        preload = self.params.preload
        if preload is None:
            preload = not isinstance(documents.vectors, np.memmap)
        self._documents, self._preloaded = None, None
        if preload:
            self._preloaded = []
            for group in self._groups:
                self._preloaded.append(padded(documents.vectors, documents.offsets, group, self.device))
                if progress:
                    progress(len(group))
        else:
            self._documents = documents
            if progress:
                progress(len(documents))

    def _padded_groups(self) -> Iterator[tuple[np.ndarray, Any, Any]]:
        if self._preloaded is not None:
            for group, (vectors, mask) in zip(self._groups, self._preloaded, strict=True):
                yield group, vectors, mask
            return
        assert self._documents is not None
        for group in self._groups:
            yield group, *padded(self._documents.vectors, self._documents.offsets, group, self.device)

    def _length_groups(self, lengths: np.ndarray) -> Iterator[np.ndarray]:
        """Documents longest first, cut into groups whose padded size fits `doc_batch_tokens`."""
        order = np.argsort(-lengths, kind="stable")
        start = 0
        while start < len(order):
            width = max(int(lengths[order[start]]), 1)  # the longest of the group: it comes first
            count = max(1, self.params.doc_batch_tokens // width)
            yield order[start : start + count]
            start += count

    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        import torch

        if not isinstance(queries, MultiVectorRepresentation):
            raise TypeError("maxsim-exact searches with multi-vector queries")
        if self._documents is None and self._preloaded is None:
            raise RuntimeError("build the index before searching")
        n_queries = len(queries)
        indices = np.full((n_queries, k), -1, dtype=np.int64)
        scores = np.full((n_queries, k), -np.inf, dtype=np.float32)
        query_len = max(int(queries.lengths().max()) if n_queries else 1, 1)
        block = max(1, self.params.score_block_bytes // (4 * query_len * self.params.doc_batch_tokens))
        with torch.inference_mode():
            for start in range(0, n_queries, block):
                rows = np.arange(start, min(start + block, n_queries))
                query_block, query_mask = padded(queries.vectors, queries.offsets, rows, self.device)
                best = torch.full((len(rows), 0), float("-inf"), device=self.device)
                best_ids = torch.full((len(rows), 0), -1, dtype=torch.long, device=self.device)
                for group, group_vectors, group_mask in self._padded_groups():
                    block_scores = maxsim_scores(query_block, query_mask, group_vectors, group_mask)
                    group_ids = torch.from_numpy(group).to(self.device)[None, :]
                    best, best_ids = merge_top_k(best, best_ids, block_scores, group_ids, k)
                width = best.shape[1]
                scores[rows, :width] = best.cpu().numpy()
                indices[rows, :width] = best_ids.cpu().numpy()
                if progress:
                    progress(len(rows))
        return SearchResult(indices=indices, scores=scores)

    def size_bytes(self) -> int:
        if self._preloaded is not None:
            return sum(int(v.nelement() * v.element_size() + m.nelement()) for v, m in self._preloaded)
        return self._documents.nbytes if self._documents is not None else 0

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "score": "maxsim (sum over query vectors of the best document vector)",
            "device": self.device,
            "preloaded": self._preloaded is not None,
            "document_groups": len(self._groups),
        }


INDEX = MaxSimExactIndex
