"""One fixed evaluation protocol, computed with ranx, that reproduces trec_eval 10.0 run with `-c`.

Scores from different systems are comparable only if ties, missing queries, gains and relevance
are handled the same way every time; trec_eval is the reference the field reports against, so the
protocol is trec_eval's, applied here before any metric:

* Ranking. Each query's results are sorted by score descending, ties by document id descending
  (byte-wise, trec_eval's `comp_sim_docno` in form_res_rels.c). ranx then receives strictly
  decreasing rank-derived scores, so its own unstable argsort cannot reorder ties.
* Queries. The mean is over every query in the qrels. A judged query without results scores 0
  (trec_eval `-c`: trec_eval.c evaluates an empty ranking for it and meas_avg.c divides by the
  number of qrels topics). Run queries absent from the qrels are ignored.
* Queries without relevant documents. A judged query whose grades are all below the relevance
  level (e.g. all 0) stays in: it scores 0 and counts in the mean. trec_eval does the same with and
  without `-c`: get_qrels.c makes a topic of every qid in the qrels whatever its grades, trec_eval.c
  evaluates every topic, and each measure leaves 0 when nothing is relevant (m_map.c, m_recall.c,
  m_Rprec.c; m_ndcg.c when the ideal DCG is 0).
* Gain. nDCG uses linear gain, gain = grade, for every positive grade whatever the relevance level
  (m_ndcg.c and m_ndcg_cut.c ignore `-l`); the ideal DCG ranks all judged documents by grade.
* Relevance level. Binary metrics count a grade >= relevance_level as relevant (trec_eval `-l`).
  Negative grades mean "pooled but unjudged" (trec_eval's RELVALUE_UNJUDGED): never relevant,
  and not judged non-relevant for bpref.
* Cutoffs. metric@k reads the top k; precision@k divides by k even when fewer were retrieved;
  mrr@k is trec_eval's recip_rank under `-M k`.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from harness.data.dataset import Qrels
from harness.evaluation.metrics import MetricSpec, parse_metric

RunScores = Mapping[str, Mapping[str, float]]
"""Retrieval output: query id -> document id -> score (the top k of a system)."""

PROTOCOL: dict[str, Any] = {
    "name": "trec_eval-c",
    "reference": "trec_eval 10.0 (github.com/usnistgov/trec_eval) run as `trec_eval -c -l <relevance_level>`",
    "tie_break": "score descending, then document id descending (byte-wise), as trec_eval's comp_sim_docno",
    "missing_query": "a judged query without results scores 0 and counts in the mean (trec_eval -c); "
    "run queries without judgements are ignored",
    "no_relevant_query": "a judged query with no relevant document (e.g. all grades 0) scores 0 and counts "
    "in the mean, as in trec_eval with or without -c",
    "mean": "arithmetic mean over every query in the qrels",
    "gain": "linear, gain = grade for every positive grade whatever the relevance level; ideal DCG from all "
    "judged documents sorted by grade (trec_eval ndcg, ndcg_cut)",
    "relevance_level": 1,
    "relevant": "grade >= relevance_level for binary metrics (trec_eval -l); negative grades are unjudged",
    "cutoff": "metric@k reads the top k; precision@k divides by k; mrr@k is trec_eval recip_rank under -M k",
}
"""The protocol every `Evaluation` records; `relevance_level` there is the one actually used."""


@dataclass(frozen=True)
class Evaluation:
    """Scores of one run under `PROTOCOL`, keyed by canonical metric name."""

    means: dict[str, float]
    per_query: dict[str, dict[str, float]]
    num_queries: int
    protocol: dict[str, Any]


def trec_eval_ranking(results: Mapping[str, float], query_id: str = "") -> list[str]:
    """Document ids in trec_eval's order: score descending, ties by document id descending.

    Python compares strings by code point, which orders like C's strcmp on their UTF-8 bytes.
    """
    for doc_id, score in results.items():
        if math.isnan(score):
            raise ValueError(f"query {query_id!r}: document {doc_id!r} has score NaN, which has no rank")
    ranked = sorted(results.items(), key=lambda item: (item[1], item[0]), reverse=True)
    return [doc_id for doc_id, _ in ranked]


def _rows(pairs: list[tuple[int, float]]) -> np.ndarray:
    return np.array(pairs, dtype=np.float64).reshape(-1, 2)


def _ranx_inputs(qrels: Qrels, run: RunScores) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per qrels query, ranx's `[document number, value]` arrays.

    Judgements are sorted by grade descending (ranx reads the ideal ranking off them) without the
    negative, unjudged grades; results are in trec_eval order with scores n, n-1, ..., 1. Document
    ids become per-query integers, since ranx would otherwise hash strings into floats.
    """
    judged_arrays = []
    ranked_arrays = []
    for query_id, judgements in qrels.items():
        numbers = {doc_id: number for number, doc_id in enumerate(judgements)}
        judged = sorted(
            ((numbers[doc_id], grade) for doc_id, grade in judgements.items() if grade >= 0),
            key=lambda row: -row[1],
        )
        ranking = trec_eval_ranking(run.get(query_id, {}), query_id)
        ranked = [
            (numbers.setdefault(doc_id, len(numbers)), len(ranking) - rank) for rank, doc_id in enumerate(ranking)
        ]
        judged_arrays.append(_rows(judged))
        ranked_arrays.append(_rows(ranked))
    return judged_arrays, ranked_arrays


def _numba_cache_dir() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "harness" / "numba"


def import_ranx() -> ModuleType:
    """Import ranx on first use: numba compiles its functions (~45 s), cached on disk across processes.

    ranx jits with `cache=True`; NUMBA_CACHE_DIR, unless the user set it, points that cache at a user
    directory so it also works where site-packages is read-only. Every use of ranx (metrics, fusion)
    imports it through here.
    """
    if not os.environ.get("NUMBA_CACHE_DIR"):
        os.environ["NUMBA_CACHE_DIR"] = str(_numba_cache_dir())
        from numba.core import config

        config.reload_config()  # numba may have read its environment before ranx is imported
    import ranx

    return ranx


def _ranx_metrics() -> ModuleType:
    return import_ranx().metrics


def _bpref(metrics: ModuleType, judged: Any, ranked: Any, judged_arrays: list[np.ndarray], level: int) -> np.ndarray:
    """ranx's bpref divides 0 by 0 for a query with no judged non-relevant document, where trec_eval
    (m_bpref.c) credits each relevant document retrieved in full: bpref is then recall."""
    comparable = [bool(np.any(rows[:, 1] < level) and np.any(rows[:, 1] >= level)) for rows in judged_arrays]
    bpref = metrics.bpref(judged, ranked, 0, level)
    return np.where(comparable, bpref, metrics.recall(judged, ranked, 0, level))


def _scores(
    metrics: ModuleType,
    spec: MetricSpec,
    judged: Any,
    ranked: Any,
    judged_arrays: list[np.ndarray],
    level: int,
) -> np.ndarray:
    """Per-query values of one metric, in qrels order."""
    cutoff = spec.cutoff or 0
    if spec.family == "ndcg":
        return metrics.ndcg(judged, ranked, cutoff, 1)  # every positive grade is gain, as trec_eval
    if spec.family == "bpref":
        return _bpref(metrics, judged, ranked, judged_arrays, level)
    function = {
        "map": metrics.average_precision,
        "mrr": metrics.reciprocal_rank,
        "recall": metrics.recall,
        "precision": metrics.precision,
        "success": metrics.hit_rate,
        "r-precision": metrics.r_precision,
    }[spec.family]
    return function(judged, ranked, cutoff, level)


def evaluate(
    qrels: Qrels,
    run: RunScores,
    metrics: Sequence[str],
    *,
    relevance_level: int = 1,
) -> Evaluation:
    """Score `run` against `qrels` under `PROTOCOL`; results are keyed by canonical metric name."""
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    specs = list(dict.fromkeys(parse_metric(name) for name in names))
    if not specs:
        raise ValueError("no metrics requested")
    if any(spec.is_answer_metric for spec in specs):
        raise ValueError("answer-recall is judged from answer strings, not qrels: score it with evaluate_task")
    if relevance_level < 1:
        raise ValueError(f"relevance_level must be at least 1 (0 means judged non-relevant), not {relevance_level}")
    if not qrels:
        raise ValueError("no judged queries: the qrels are empty, so there is nothing to average over")

    judged_arrays, ranked_arrays = _ranx_inputs(qrels, run)
    ranx_metrics = _ranx_metrics()
    from numba.core.errors import NumbaTypeSafetyWarning

    from harness.evaluation.typed_rows import typed_rows

    judged = typed_rows(judged_arrays)
    ranked = typed_rows(ranked_arrays)
    query_ids = list(qrels)
    means: dict[str, float] = {}
    per_query: dict[str, dict[str, float]] = {}
    for spec in specs:
        with warnings.catch_warnings():
            # numba warns, when compiling ranx, of a count cast from uint64 to int64: harmless
            warnings.simplefilter("ignore", NumbaTypeSafetyWarning)
            values = np.asarray(_scores(ranx_metrics, spec, judged, ranked, judged_arrays, relevance_level))
        per_query[spec.name] = {query_id: float(value) for query_id, value in zip(query_ids, values, strict=True)}
        means[spec.name] = float(values.mean())
    protocol = dict(PROTOCOL, relevance_level=relevance_level, engine=f"ranx {version('ranx')}")
    return Evaluation(means=means, per_query=per_query, num_queries=len(query_ids), protocol=protocol)
