"""Answer recall: the open-domain QA retrieval metric BGE-M3 and MILCO report on MKQA.

No relevance judgements exist for MKQA against its retrieval corpus; a query counts as answered
at k when any of its top-k passages contains one of its answer strings. Matching follows the
DPR/Contriever `has_answer` convention that BGE-M3's evaluation uses: Unicode NFD, lower case,
tokens are runs of letters/digits/marks or single other visible characters, and the answer's
token sequence must appear contiguously in the passage's.

The number is the fraction of queries answered (per query 1 or 0), so it is *not* comparable with
recall@k over qrels; results label it `answer-recall@k` with this module's protocol.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache

import regex

from harness.evaluation.metrics import parse_metric
from harness.evaluation.protocol import RunScores, trec_eval_ranking

_TOKEN = regex.compile(r"[\p{L}\p{N}\p{M}]+|[^\p{Z}\p{C}]", flags=regex.UNICODE)

ANSWER_PROTOCOL = {
    "name": "answer-recall",
    "reference": "DPR/Contriever has_answer string match, as BGE-M3's MKQA evaluation (FlagEmbedding) computes it",
    "match": "NFD-normalised, lower-cased tokens ([letters/digits/marks]+ or one other visible character); "
    "an answer matches when its token sequence occurs contiguously in the passage (title and text)",
    "per_query": "1 when any of the top k passages (trec_eval order) contains any answer string, else 0",
    "mean": "over every query with answers; a query without results scores 0",
}


def tokens(text: str) -> tuple[str, ...]:
    normalised = unicodedata.normalize("NFD", text)
    return tuple(match.group().lower() for match in _TOKEN.finditer(normalised))


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    if not needle or len(needle) > len(haystack):
        return False
    first = needle[0]
    width = len(needle)
    return any(
        haystack[start] == first and haystack[start : start + width] == needle
        for start in range(len(haystack) - width + 1)
    )


def has_answer(passage: str, answers: Sequence[str]) -> bool:
    passage_tokens = tokens(passage)
    return any(_contains(passage_tokens, tokens(answer)) for answer in answers)


def answer_recall(
    answers: Mapping[str, Sequence[str]],
    run: RunScores,
    passages: Mapping[str, str],
    metrics: Sequence[str],
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Means and per-query values of each `answer-recall@k` in `metrics` over every answered query."""
    specs = [parse_metric(name) for name in metrics]
    if not all(spec.is_answer_metric for spec in specs):
        raise ValueError(f"not answer-recall metrics: {', '.join(metrics)}")
    cutoffs = {spec.name: spec.cutoff or 0 for spec in specs}
    deepest = max(cutoffs.values(), default=0)
    passage_tokens = lru_cache(maxsize=200_000)(lambda doc_id: tokens(passages[doc_id]))
    per_query: dict[str, dict[str, float]] = {name: {} for name in cutoffs}
    for query_id, strings in answers.items():
        needles = [tokens(answer) for answer in strings]
        ranking = trec_eval_ranking(run.get(query_id, {}), query_id)[:deepest]
        first_hit = next(
            (
                rank
                for rank, doc_id in enumerate(ranking, start=1)
                if any(_contains(passage_tokens(doc_id), needle) for needle in needles)
            ),
            None,
        )
        for name, cutoff in cutoffs.items():
            per_query[name][query_id] = 1.0 if first_hit and first_hit <= cutoff else 0.0
    means = {name: (sum(values.values()) / len(values) if values else 0.0) for name, values in per_query.items()}
    return means, per_query
