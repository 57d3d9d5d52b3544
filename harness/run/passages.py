"""MaxP for long documents (MLDR): split documents into passages, score a document by its best passage.

Passages are consecutive windows of the model's own tokens, as long as the model accepts a
document (`Encoder.document_budget`: its max length less the special, prefix and marker tokens
the encoder adds), cut back to the original text at token boundaries. A document's score is its best passage's score,
so the top-k documents are the first k distinct documents in the passage ranking; the passage
search deepens until it has found them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.encode import Encoder, ProgressCallback, Representation
from harness.index import Index, SearchResult

_BATCH = 256


@dataclass(frozen=True)
class PassageSplit:
    texts: list[str]
    owners: np.ndarray  # passage row -> document row (int64)
    passage_tokens: int

    def describe(self, num_documents: int) -> dict[str, Any]:
        counts = np.bincount(self.owners, minlength=num_documents)
        return {
            "method": "maxp",
            "passage_tokens": self.passage_tokens,
            "num_passages": len(self.texts),
            "num_documents": num_documents,
            "documents_split": int((counts > 1).sum()),
            "document_score": "maximum over the document's passages",
        }


def maxp_passages(encoder: Encoder, documents: Sequence[str], language: str) -> PassageSplit | None:
    """Documents in `language` split for MaxP at the encoder's budget, or None when it has none."""
    budget = encoder.document_budget(language)
    return split_into_passages(documents, budget.tokenizer, budget.content_tokens) if budget else None


def split_into_passages(texts: Sequence[str], tokenizer: Any, passage_tokens: int) -> PassageSplit:
    """Every document as consecutive windows of at most `passage_tokens` tokens (one passage when it fits)."""
    passages: list[str] = []
    owners: list[int] = []
    for start in range(0, len(texts), _BATCH):
        batch = list(texts[start : start + _BATCH])
        encoded = tokenizer(batch, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        for row, (text, offsets) in enumerate(zip(batch, encoded["offset_mapping"], strict=True)):
            if len(offsets) <= passage_tokens:
                passages.append(text)
                owners.append(start + row)
                continue
            for first in range(0, len(offsets), passage_tokens):
                window = offsets[first : first + passage_tokens]
                passages.append(text[window[0][0] : window[-1][1]])
                owners.append(start + row)
    return PassageSplit(passages, np.asarray(owners, dtype=np.int64), passage_tokens)


def _first_distinct(result: SearchResult, owners: np.ndarray, k: int) -> tuple[SearchResult, int]:
    """Document rows and scores from a passage ranking; also the fewest distinct documents any query got."""
    n_queries = result.indices.shape[0]
    indices = np.full((n_queries, k), -1, dtype=np.int64)
    scores = np.full((n_queries, k), -np.inf, dtype=np.float32)
    fewest = k
    for row in range(n_queries):
        valid = result.indices[row] >= 0
        documents = owners[result.indices[row][valid]]
        _, first = np.unique(documents, return_index=True)
        order = np.sort(first)[:k]
        indices[row, : len(order)] = documents[order]
        scores[row, : len(order)] = result.scores[row][valid][order]
        fewest = min(fewest, len(order))
    return SearchResult(indices, scores), fewest


def max_passage_search(
    index: Index,
    queries: Representation,
    k: int,
    split: PassageSplit,
    num_documents: int,
    progress: ProgressCallback | None = None,
) -> SearchResult:
    """Top-k documents by best passage; searches deeper until every query has k distinct documents."""
    wanted = min(k, num_documents)
    depth = min(len(split.texts), max(k, 4 * k))
    while True:
        passages = index.search(queries, depth, progress)
        progress = None  # the bar counts queries once
        documents, fewest = _first_distinct(passages, split.owners, k)
        if fewest >= wanted or depth >= len(split.texts):
            return documents
        depth = min(len(split.texts), depth * 4)
