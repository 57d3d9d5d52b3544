"""The leaderboard as data: ranks, averages, published deltas, cross-lingual matrices, sweeps kept apart."""

from __future__ import annotations

import pytest

from harness.reporting import build_boards
from harness.reporting.leaderboard import Column
from tests.results_factory import make_record

SWEEP = {
    "group": "splade-prune",
    "pruning": {"documents": "mass:30", "queries": "none"},
    "avg_active_terms_per_document": 40.0,
    "avg_active_terms_per_query": 12.0,
}


def scored(model: str, language: str, value: float, **kwargs: object) -> object:
    return make_record(model, "xquad", language, per_query={"ndcg@10": {"q1": value, "q2": value}}, **kwargs)


def test_models_are_ranked_by_their_average_over_every_column() -> None:
    records = [
        scored("bm25", "en", 0.9),
        scored("bm25", "de", 0.5),
        scored("dense", "en", 0.8),
        scored("dense", "de", 0.8),
    ]
    [board] = build_boards(records)
    assert [(row.rank, row.model) for row in board.rows] == [(1, "dense"), (2, "bm25")]
    assert board.rows[0].average == pytest.approx(0.8)
    assert board.rows[1].average == pytest.approx(0.7)
    assert board.best == {Column("xquad", "de", False): 0.8, Column("xquad", "en", False): 0.9}


def test_a_model_missing_a_column_has_no_average_and_ranks_last() -> None:
    records = [scored("full", "en", 0.1), scored("full", "de", 0.1), scored("partial", "en", 0.9)]
    [board] = build_boards(records)
    assert [(row.model, row.average) for row in board.rows] == [("full", pytest.approx(0.1)), ("partial", None)]


def test_the_newest_of_two_results_for_the_same_unit_wins() -> None:
    old = scored("bm25", "en", 0.1, created_at="2026-01-01T00:00:00+00:00")
    new = scored("bm25", "en", 0.6, created_at="2026-02-01T00:00:00+00:00")
    [board] = build_boards([new, old])
    assert board.rows[0].average == pytest.approx(0.6)


def test_a_card_reference_gives_the_published_value_and_the_delta() -> None:
    reference = {
        "suite": "suite",
        "dataset": "xquad",
        "language": "de",
        "metric": "nDCG@10",
        "value": 0.70324,
        "source": "MTEB",
    }
    record = scored("minilm", "de", 0.7032, references=[reference])
    [board] = build_boards([record])
    cell = board.rows[0].cells[Column("xquad", "de", False)]
    assert cell.reference is not None and cell.reference.source == "MTEB"
    assert cell.delta == pytest.approx(0.7032 - 0.70324)
    [reproduction] = board.reproductions
    assert (reproduction.metric, reproduction.reference.value) == ("ndcg@10", 0.70324)


def test_a_reference_for_another_suite_is_not_applied() -> None:
    reference = {
        "suite": "beir",
        "dataset": "xquad",
        "language": "de",
        "metric": "ndcg@10",
        "value": 0.7,
        "source": "x",
    }
    [board] = build_boards([scored("minilm", "de", 0.6, references=[reference])])
    assert board.rows[0].cells[Column("xquad", "de", False)].reference is None
    assert board.reproductions == []


def test_sweep_points_are_kept_out_of_the_table_and_grouped_into_curves() -> None:
    ordinary = scored("splade", "en", 0.7)
    points = [
        scored("splade", "en", 0.6, sweep={**SWEEP, "avg_active_terms_per_document": 40.0}),
        scored(
            "splade",
            "en",
            0.5,
            sweep={
                **SWEEP,
                "pruning": {"documents": "mass:10", "queries": "none"},
                "avg_active_terms_per_document": 12.0,
            },
        ),
    ]
    [board] = build_boards([ordinary, *points])
    assert len(board.rows) == 1 and board.rows[0].average == pytest.approx(0.7)
    assert len(board.results) == 1
    [group] = board.sweeps
    assert group.name == "splade-prune"
    [(name, series)] = group.series().items()
    assert name == "en"
    assert [(p.sweep.avg_active_terms_per_document, p.score) for p in series] == [(12.0, 0.5), (40.0, 0.6)]


def test_cross_lingual_results_form_a_query_by_document_language_matrix() -> None:
    records = [
        scored("m", "en", 0.9),
        scored("m", "de", 0.8),
        scored("m", "de-en", 0.6),
        scored("m", "fr", 0.7),  # not part of any cross-lingual pair: stays out of the matrix
    ]
    [board] = build_boards(records)
    [matrix] = board.matrices
    assert matrix.languages == ["de", "en"]
    assert matrix.get("de", "en") == pytest.approx(0.6)
    assert matrix.get("en", "en") == pytest.approx(0.9)
    assert matrix.get("de", "de") == pytest.approx(0.8)
    assert matrix.get("en", "de") is None


def test_no_matrix_without_cross_lingual_results() -> None:
    [board] = build_boards([scored("m", "en", 0.9), scored("m", "de", 0.8)])
    assert board.matrices == []


def test_cost_sums_index_size_and_emissions_and_averages_latency() -> None:
    records = [
        scored("m", "en", 0.5, latency_ms=(1.0, 3.0), index_size_bytes=100, emissions_kg=1e-3),
        scored("m", "de", 0.5, latency_ms=(3.0, 5.0), index_size_bytes=300, emissions_kg=2e-3),
    ]
    [board] = build_boards(records)
    cost = board.rows[0].cost
    assert (cost.index_size_bytes, cost.latency_p50_ms, cost.latency_p95_ms) == (400, 2.0, 4.0)
    assert cost.emissions_kg == pytest.approx(3e-3)
    assert cost.hardware == "Test CPU (2 cores)"


def test_each_suite_gets_its_own_board() -> None:
    boards = build_boards([scored("m", "en", 0.5, suite="b"), scored("m", "en", 0.5, suite="a")])
    assert [board.suite for board in boards] == ["a", "b"]


def test_a_published_average_is_set_beside_a_complete_average() -> None:
    average = {"suite": "suite", "dataset": "xquad", "language": "avg", "metric": "ndcg@10", "value": 0.5, "source": ""}
    records = [scored("m", "en", 0.6, references=[average]), scored("m", "de", 0.5, references=[average])]
    [board] = build_boards(records)
    row = board.rows[0]
    assert row.average_reference is not None and row.average_delta == pytest.approx(0.05)
    [partial] = build_boards([*records, scored("other", "en", 0.1), scored("other", "fr", 0.1)])
    assert all(r.average_reference is None for r in partial.rows)  # no model has every column now


def test_columns_list_monolingual_languages_before_cross_lingual_pairs() -> None:
    records = [scored("m", language, 0.5) for language in ("zh", "de-en", "en", "de")]
    [board] = build_boards(records)
    assert [c.label for c in board.columns] == ["de", "en", "zh", "de-en"]


def test_a_suite_reference_file_gives_the_published_value_for_a_card_name() -> None:
    record = make_record("bm25", "miracl", "sw", suite="miracl", per_query={"ndcg@10": {"q1": 0.40, "q2": 0.36}})
    [board] = build_boards([record])
    cell = board.rows[0].cells[Column("miracl", "sw", False)]
    assert cell.reference is not None and cell.reference.value == 0.3826
    assert "Anserini" in cell.reference.source
    assert cell.delta == pytest.approx(0.38 - 0.3826)


def test_a_suite_unknown_to_this_installation_has_no_references() -> None:
    [board] = build_boards([make_record("bm25", "scifact", "en", suite="local")])
    assert board.rows[0].cells[Column("scifact", "en", False)].reference is None
