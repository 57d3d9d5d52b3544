"""Quick runs that never masquerade as full ones: seeded query and corpus samples, marked as such.

The corpus sample keeps every document judged for the kept queries (any grade) and fills the rest
with a seeded random sample of the other documents, as MTEB's hard-negative variants shrink
corpora; the identity of a sampled task says `sampled: true` and how it was drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from harness.data.dataset import Corpus, Queries, RetrievalTask


@dataclass(frozen=True)
class Sampling:
    max_queries: int | None = None
    corpus_size: int | None = None
    seed: int = 0

    @property
    def requested(self) -> bool:
        return self.max_queries is not None or self.corpus_size is not None


def sample_label(max_queries: int | None, corpus_size: int | None, seed: int = 0) -> str:
    """What a sample is, as result labels say it (`50 queries`, `50 queries, 1,000 docs, seed 3`): two
    different samples never share a label, so neither hides the other in a report."""
    parts = []
    if max_queries is not None:
        parts.append(f"{max_queries:,} queries")
    if corpus_size is not None:
        parts.append(f"{corpus_size:,} docs")
    if seed:
        parts.append(f"seed {seed}")
    return ", ".join(parts)


def _pick(rng: np.random.Generator, population: int, wanted: int) -> np.ndarray:
    """`wanted` distinct rows of `population`, in their original order."""
    return np.sort(rng.choice(population, size=wanted, replace=False))


def sample_task(task: RetrievalTask, sampling: Sampling) -> RetrievalTask:
    """The task reduced to at most `max_queries` queries and `corpus_size` documents (judged ones always kept)."""
    rng = np.random.default_rng(sampling.seed)
    queries = task.queries
    if sampling.max_queries is not None and sampling.max_queries < len(queries):
        rows = _pick(rng, len(queries), sampling.max_queries)
        queries = Queries([queries.ids[i] for i in rows], [queries.texts[i] for i in rows], queries.language)
    kept = set(queries.ids)
    qrels = {qid: judged for qid, judged in task.qrels.items() if qid in kept}
    answers = {qid: strings for qid, strings in task.answers.items() if qid in kept} if task.answers else None

    corpus = task.corpus
    judged_documents = {doc_id for judged in qrels.values() for doc_id in judged}
    if sampling.corpus_size is not None and sampling.corpus_size < len(corpus):
        judged_rows = [row for row, doc_id in enumerate(corpus.ids) if doc_id in judged_documents]
        other_rows = np.setdiff1d(np.arange(len(corpus)), np.asarray(judged_rows, dtype=np.int64))
        extra = max(0, sampling.corpus_size - len(judged_rows))
        chosen = other_rows[_pick(rng, len(other_rows), min(extra, len(other_rows)))]
        rows = np.sort(np.concatenate([np.asarray(judged_rows, dtype=np.int64), chosen]))
        corpus = Corpus(
            ids=[corpus.ids[i] for i in rows],
            titles=[corpus.titles[i] for i in rows],
            texts=[corpus.texts[i] for i in rows],
            language=corpus.language,
        )

    if len(queries) == len(task.queries) and len(corpus) == len(task.corpus):
        return task
    details: dict[str, Any] = {
        "method": "seeded random queries; every document judged for them plus a seeded random sample of the rest",
        "seed": sampling.seed,
        "max_queries": sampling.max_queries,
        "corpus_size": sampling.corpus_size,
        "full_num_queries": len(task.queries),
        "full_num_documents": len(task.corpus),
        "judged_documents_kept": len(judged_documents),
    }
    identity = replace(
        task.identity,
        num_documents=len(corpus),
        num_queries=len(queries),
        num_judgements=sum(len(judged) for judged in qrels.values())
        if task.answers is None
        else sum(len(strings) for strings in (answers or {}).values()),
        sampled=True,
        sampling=details,
    )
    return replace(task, corpus=corpus, queries=queries, qrels=qrels, answers=answers, identity=identity)
