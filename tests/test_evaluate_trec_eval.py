"""Acceptance: every metric the harness offers equals trec_eval on trec_eval's own test fixtures.

The fixtures and trec_eval's expected outputs live in the shared data folder beside the repository
(`../shared/data/trec_eval`); Makefile.quicktest.txt there gives the flags behind each output.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from harness.data.dataset import Qrels
from harness.evaluation import canonical_metric, evaluate
from harness.evaluation.metrics import TREC_EVAL_FAMILIES, parse_metric
from harness.evaluation.protocol import Evaluation, RunScores, trec_eval_ranking

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "trec_eval"

# fixture -> (qrels file, results file, trec_eval -l, trec_eval -M), as in Makefile.quicktest.txt
CASES = {
    "out.test.aq": ("qrels.test", "results.test", 1, None),  # -q
    "out.test.aqc": ("qrels.test", "results.trunc", 1, None),  # -q -c
    "out.test.aqcM": ("qrels.test", "results.trunc", 1, 100),  # -q -c -M100
    "out.test.aql": ("qrels.rel_level", "results.test", 2, None),  # -q -l2
}

CUTOFFS = (5, 10, 15, 20, 30, 100, 200, 500, 1000)  # trec_eval's defaults for P, recall, ndcg_cut, map_cut
# trec_eval measure -> the harness metric that must equal it
TREC_EVAL_TO_HARNESS = {
    "map": "map",
    "ndcg": "ndcg",
    "recip_rank": "mrr",
    "Rprec": "r-precision",
    "bpref": "bpref",
    "set_P": "precision",
    "set_recall": "recall",
    **{f"P_{k}": f"precision@{k}" for k in CUTOFFS},
    **{f"recall_{k}": f"recall@{k}" for k in CUTOFFS},
    **{f"ndcg_cut_{k}": f"ndcg@{k}" for k in CUTOFFS},
    **{f"map_cut_{k}": f"map@{k}" for k in CUTOFFS},
    **{f"success_{k}": f"success@{k}" for k in (1, 5, 10)},
}

TOLERANCE = 5e-5 + 1e-9  # trec_eval prints 4 decimals: its exact value is within half a unit of that


def _fixture(name: str) -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"trec_eval fixtures not found at {FIXTURES} (the shared data folder is absent)")
    return FIXTURES / name


def read_qrels(path: Path) -> Qrels:
    """TREC qrels: `qid iter docno rel`."""
    qrels: Qrels = {}
    for line in path.read_text().splitlines():
        if line.strip():
            query_id, _, doc_id, grade = line.split()
            qrels.setdefault(query_id, {})[doc_id] = int(grade)
    return qrels


def read_run(path: Path) -> dict[str, dict[str, float]]:
    """TREC results: `qid Q0 docno rank score runid [junk...]`; trec_eval ignores the rank column."""
    run: dict[str, dict[str, float]] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            query_id, _, doc_id, _, score = line.split()[:5]
            run.setdefault(query_id, {})[doc_id] = float(score)
    return run


def read_expected(path: Path) -> dict[str, dict[str, str]]:
    """trec_eval -q output: `measure qid value` -> measure -> qid (or "all") -> printed value."""
    expected: dict[str, dict[str, str]] = {}
    for line in path.read_text().splitlines():
        measure, query_id, value = line.split()
        expected.setdefault(measure, {})[query_id] = value
    return expected


def truncate(run: RunScores, depth: int) -> RunScores:
    """What trec_eval -M does: keep each query's top `depth` in trec_eval order."""
    return {
        query_id: {doc_id: results[doc_id] for doc_id in trec_eval_ranking(results)[:depth]}
        for query_id, results in run.items()
    }


@functools.cache
def case_inputs(case: str) -> tuple[Qrels, RunScores, int]:
    qrels_name, run_name, level, depth = CASES[case]
    run: RunScores = read_run(_fixture(run_name))
    if depth is not None:
        run = truncate(run, depth)
    return read_qrels(_fixture(qrels_name)), run, level


@functools.cache
def case_evaluation(case: str) -> Evaluation:
    qrels, run, level = case_inputs(case)
    return evaluate(qrels, run, list(TREC_EVAL_TO_HARNESS.values()), relevance_level=level)


@functools.cache
def case_expected(case: str) -> dict[str, dict[str, str]]:
    return read_expected(_fixture(case))


def assert_matches(case: str, measure: str, metric: str, evaluation: Evaluation) -> None:
    """Every query's value and the mean, each failure naming fixture, measure, metric and query."""
    expected = case_expected(case)[measure]
    assert set(expected) == {*evaluation.per_query[metric], "all"}, f"{case} {measure}: query sets differ"
    actual = {**evaluation.per_query[metric], "all": evaluation.means[metric]}
    failures = [
        f"{case} {measure} ({metric}) query {query_id}: trec_eval {value}, harness {actual[query_id]:.6f}"
        for query_id, value in expected.items()
        if abs(actual[query_id] - float(value)) > TOLERANCE
    ]
    assert not failures, "\n".join(failures)


def test_every_metric_family_is_checked() -> None:
    """Every family the harness offers, with and without a cutoff where it takes one, is covered."""
    covered = {parse_metric(metric) for metric in TREC_EVAL_TO_HARNESS.values()}
    assert {spec.family for spec in covered} == set(TREC_EVAL_FAMILIES)
    assert all(canonical_metric(metric) == metric for metric in TREC_EVAL_TO_HARNESS.values())


@pytest.mark.parametrize("case", list(CASES))
def test_query_count(case: str) -> None:
    assert case_evaluation(case).num_queries == int(case_expected(case)["num_q"]["all"])


@pytest.mark.parametrize("measure", list(TREC_EVAL_TO_HARNESS))
@pytest.mark.parametrize("case", list(CASES))
def test_matches_trec_eval(case: str, measure: str) -> None:
    assert_matches(case, measure, TREC_EVAL_TO_HARNESS[measure], case_evaluation(case))


# -M100 on the whole run is the @100 cutoff: the harness needs no truncation for these. Not so for
# trec_eval's ndcg, whose ideal DCG still counts every relevant document (checked truncated above).
M100_AS_CUTOFF = {
    "recip_rank": "mrr@100",
    "map": "map@100",
    "set_recall": "recall@100",
    **{f"P_{k}": f"precision@{k}" for k in CUTOFFS if k <= 100},
    **{f"ndcg_cut_{k}": f"ndcg@{k}" for k in CUTOFFS if k <= 100},
    **{f"recall_{k}": f"recall@{min(k, 100)}" for k in CUTOFFS},
    **{f"map_cut_{k}": f"map@{min(k, 100)}" for k in CUTOFFS},
    **{f"success_{k}": f"success@{k}" for k in (1, 5, 10)},
}


@functools.cache
def untruncated_m100_evaluation() -> Evaluation:
    qrels_name, run_name, level, _ = CASES["out.test.aqcM"]
    qrels, run = read_qrels(_fixture(qrels_name)), read_run(_fixture(run_name))
    return evaluate(qrels, run, list(M100_AS_CUTOFF.values()), relevance_level=level)


@pytest.mark.parametrize("measure", list(M100_AS_CUTOFF))
def test_m100_equals_cutoff_100(measure: str) -> None:
    assert_matches("out.test.aqcM", measure, M100_AS_CUTOFF[measure], untruncated_m100_evaluation())
