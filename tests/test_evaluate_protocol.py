"""Specification of the evaluation protocol: one behaviour each, on hand-built judgements and runs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.evaluation import PROTOCOL, SUPPORTED_METRICS, Qrels, RunScores, canonical_metric, evaluate
from harness.evaluation.protocol import _numba_cache_dir


def test_ties_are_broken_by_document_id_descending() -> None:
    """trec_eval ranks tied documents by docno descending, so the relevant d1 comes second."""
    tied = {"q": {"d1": 1.0, "d2": 1.0}}
    assert evaluate({"q": {"d1": 1}}, tied, ["mrr"]).means["mrr"] == 0.5
    assert evaluate({"q": {"d2": 1}}, tied, ["mrr"]).means["mrr"] == 1.0


def test_tie_break_compares_ids_as_strings_whatever_the_insertion_order() -> None:
    """ "d9" > "d10" as strings, as with strcmp: d9 ranks first among equal scores."""
    qrels = {"q": {"d9": 1}}
    assert evaluate(qrels, {"q": {"d10": 0.5, "d9": 0.5}}, ["mrr"]).means["mrr"] == 1.0
    assert evaluate(qrels, {"q": {"d9": 0.5, "d10": 0.5}}, ["mrr"]).means["mrr"] == 1.0


def test_judged_query_without_results_counts_as_zero() -> None:
    evaluation = evaluate({"q1": {"a": 1}, "q2": {"b": 1}}, {"q1": {"a": 1.0}}, ["mrr"])
    assert evaluation.num_queries == 2
    assert evaluation.per_query["mrr"] == {"q1": 1.0, "q2": 0.0}
    assert evaluation.means["mrr"] == 0.5


def test_run_queries_without_judgements_are_ignored() -> None:
    evaluation = evaluate({"q1": {"a": 1}}, {"q1": {"a": 1.0}, "q9": {"z": 9.0}}, ["mrr"])
    assert evaluation.num_queries == 1
    assert evaluation.per_query["mrr"] == {"q1": 1.0}
    assert evaluation.means["mrr"] == 1.0


def test_query_without_relevant_documents_counts_as_zero() -> None:
    """A query judged all non-relevant stays in the mean, as trec_eval keeps every qrels topic."""
    qrels = {"q1": {"a": 1}, "q2": {"b": 0}}
    evaluation = evaluate(qrels, {"q1": {"a": 1.0}, "q2": {"b": 1.0}}, ["ndcg", "map"])
    assert evaluation.per_query["ndcg"]["q2"] == 0.0
    assert evaluation.means == {"ndcg": 0.5, "map": 0.5}


def test_ndcg_gain_is_linear_in_the_grade() -> None:
    qrels = {"q": {"a": 2, "b": 1, "c": 0}}
    run = {"q": {"b": 3.0, "a": 2.0, "c": 1.0}}
    evaluation = evaluate(qrels, run, ["ndcg@1", "ndcg"])
    assert evaluation.means["ndcg@1"] == pytest.approx(1 / 2)  # exponential gain would give 1/3
    dcg = 1 / math.log2(2) + 2 / math.log2(3)
    ideal_dcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert evaluation.means["ndcg"] == pytest.approx(dcg / ideal_dcg)  # 0.8597...


def test_relevance_level_binarises_but_ndcg_keeps_every_positive_grade() -> None:
    """trec_eval -l2: grade 1 is not relevant for P or MRR, yet still gains 1 in nDCG."""
    qrels = {"q": {"a": 1, "b": 2}}
    run = {"q": {"a": 2.0, "b": 1.0}}
    evaluation = evaluate(qrels, run, ["P@1", "mrr", "ndcg"], relevance_level=2)
    assert evaluation.means["precision@1"] == 0.0
    assert evaluation.means["mrr"] == 0.5
    assert evaluation.means["ndcg"] == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert evaluation.protocol["relevance_level"] == 2


def test_mrr_cutoff_ignores_relevant_documents_below_it() -> None:
    run = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}
    evaluation = evaluate({"q": {"c": 1}}, run, ["mrr@2", "mrr@3", "mrr"])
    assert evaluation.means == {"mrr@2": 0.0, "mrr@3": pytest.approx(1 / 3), "mrr": pytest.approx(1 / 3)}


def test_precision_at_k_divides_by_k_when_fewer_are_retrieved() -> None:
    assert evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, ["P@5"]).means["precision@5"] == 0.2


def test_bpref_without_judged_non_relevant_documents_credits_each_relevant_retrieved() -> None:
    """m_bpref.c: no judged non-relevant document ranked above means full credit; unjudged are skipped."""
    run = {"q": {"x": 2.0, "a": 1.0}}
    assert evaluate({"q": {"a": 1, "b": 1}}, run, ["bpref"]).means["bpref"] == 0.5
    assert evaluate({"q": {"a": 1, "x": 0}}, run, ["bpref"]).means["bpref"] == 0.0


def test_negative_grades_are_unjudged() -> None:
    """trec_eval treats a negative grade as pooled but unjudged: not relevant, skipped by bpref."""
    evaluation = evaluate({"q": {"u": -1, "a": 1, "n": 0}}, {"q": {"u": 2.0, "a": 1.0}}, ["P@1", "bpref"])
    assert evaluation.means == {"precision@1": 0.0, "bpref": 1.0}


def test_aliases_of_one_metric_are_computed_once_under_the_canonical_name() -> None:
    evaluation = evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, ["nDCG@10", "ndcg@10", "NDCG@10"])
    assert list(evaluation.means) == ["ndcg@10"]


def test_evaluation_records_a_copy_of_the_protocol() -> None:
    evaluation = evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, ["map"])
    assert {key: evaluation.protocol[key] for key in PROTOCOL} == PROTOCOL
    evaluation.protocol["relevance_level"] = 7
    assert PROTOCOL["relevance_level"] == 1


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("nDCG@10", "ndcg@10"),
        ("NDCG@10", "ndcg@10"),
        ("ndcg_cut_10", "ndcg@10"),
        ("nDCG", "ndcg"),
        ("MAP", "map"),
        ("MAP@100", "map@100"),
        ("map_cut_100", "map@100"),
        ("MRR@10", "mrr@10"),
        ("RR@10", "mrr@10"),
        ("recip_rank", "mrr"),
        ("R@100", "recall@100"),
        ("Recall@100", "recall@100"),
        ("recall_100", "recall@100"),
        ("P@5", "precision@5"),
        ("P_5", "precision@5"),
        ("Rprec", "r-precision"),
        ("R-Prec", "r-precision"),
        ("hit_rate@5", "success@5"),
        ("success_1", "success@1"),
        (" bpref ", "bpref"),
    ],
)
def test_canonical_metric_aliases(spelling: str, canonical: str) -> None:
    assert canonical_metric(spelling) == canonical


@pytest.mark.parametrize(
    "name", ["dcg@10", "ndcg@0", "ndcg@ten", "success", "r-precision@10", "bpref@5", "ndcg_10", "ndcg@²"]
)
def test_canonical_metric_rejects_unsupported_forms_and_lists_the_supported_ones(name: str) -> None:
    with pytest.raises(ValueError, match="unsupported metric") as error:
        canonical_metric(name)
    assert SUPPORTED_METRICS in str(error.value)


@pytest.mark.parametrize(
    ("qrels", "run", "metrics", "level", "message"),
    [
        ({"q": {"a": 1}}, {"q": {"a": math.nan}}, ["map"], 1, "NaN"),
        ({"q": {"a": 1}}, {"q": {"a": 1.0}}, ["map"], 0, "relevance_level"),
        ({}, {"q": {"a": 1.0}}, ["map"], 1, "no judged queries"),
        ({"q": {"a": 1}}, {"q": {"a": 1.0}}, [], 1, "no metrics"),
    ],
)
def test_evaluate_rejects_what_it_cannot_score(
    qrels: Qrels, run: RunScores, metrics: list[str], level: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(qrels, run, metrics, relevance_level=level)


def test_numba_cache_dir_honours_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _numba_cache_dir() == tmp_path / "harness" / "numba"
