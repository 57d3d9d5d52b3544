"""The leaderboard ranks by the primary metric, shows cost, and keeps hostile text inert."""

from __future__ import annotations

import json
from pathlib import Path

from harness.record import Efficiency, EnergyReading, ModelInfo, ResultRecord
from harness.report import build_boards, render_reports


def make_record(model: str, dataset: str, language: str, ndcg: float, **extra: object) -> ResultRecord:
    return ResultRecord(
        created_at="2026-11-21T00:00:00+00:00",
        suite="demo",
        dataset=dataset,
        split="test",
        language=language,
        query_language=language,
        document_language=language,
        model=ModelInfo(name=model, adapter="bm25", family="sparse", card_path=None, card_sha256="sha256:0", card={}),
        index={"kind": "sparse-exact"},
        k=1000,
        primary_metric="ndcg@10",
        metrics={"ndcg@10": ndcg},
        per_query={"ndcg@10": {"q1": ndcg}},
        protocol={},
        dataset_identity={"sampled": False},
        efficiency=Efficiency(
            corpus_encode_s=1.0,
            query_encode_s=0.1,
            index_build_s=0.1,
            search_s=0.1,
            documents_per_s=100.0,
            queries_per_s=10.0,
            search_qps=10.0,
            end_to_end_qps=5.0,
            search_latency_ms={"p50": 1.0, "p95": 2.0},
            index_size_bytes=1024,
            peak_memory_bytes=2048,
            baseline_memory_bytes=1024,
        ),
        energy=EnergyReading(energy_kwh=1e-6, emissions_kg=2e-7, country_iso_code="NLD"),
        environment={"hardware": {"cpu": "test cpu", "cpu_cores": 2}},
        run_file="x.trec.gz",
        **extra,
    )


def test_models_rank_by_their_average_over_languages() -> None:
    records = [
        make_record("a", "demo", "en", 0.5),
        make_record("a", "demo", "de", 0.7),
        make_record("b", "demo", "en", 0.9),
        make_record("b", "demo", "de", 0.1),
    ]
    [board] = build_boards(records)
    assert [(row.model, row.rank) for row in board.rows] == [("a", 1), ("b", 2)]
    assert board.rows[0].average == 0.6
    assert [column.label for column in board.columns] == ["de", "en"]


def test_a_model_missing_a_language_has_no_average_and_ranks_last() -> None:
    records = [
        make_record("a", "demo", "en", 0.2),
        make_record("b", "demo", "en", 0.9),
        make_record("b", "demo", "de", 0.9),
    ]
    [board] = build_boards(records)
    assert [row.model for row in board.rows] == ["b", "a"]
    assert board.rows[1].average is None


def test_newest_result_wins_for_the_same_unit() -> None:
    old = make_record("a", "demo", "en", 0.2)
    new = make_record("a", "demo", "en", 0.4).model_copy(update={"created_at": "2026-11-22T00:00:00+00:00"})
    [board] = build_boards([new, old])
    assert board.rows[0].average == 0.4


def test_hostile_names_are_inert_in_html_and_markdown(tmp_path: Path) -> None:
    hostile_model = '<script>alert("x")</script>'
    hostile_dataset = "data\"set'<img src=x onerror=alert(1)>|pipe"
    records = [make_record(hostile_model, hostile_dataset, "en", 0.5), make_record(hostile_model, "plain", "en", 0.4)]
    render_reports(records, tmp_path)
    html = (tmp_path / "index.html").read_text()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    markdown = (tmp_path / "leaderboard.md").read_text()
    assert "<script>" not in markdown and "\\|pipe" in markdown


def test_html_report_is_self_contained(tmp_path: Path) -> None:
    render_reports([make_record("a", "demo", "en", 0.5)], tmp_path)
    html = (tmp_path / "index.html").read_text()
    assert "http://" not in html and "https://" not in html
    assert "0.5000" in html and "1.0 KB" in html


def test_sampled_results_are_marked(tmp_path: Path) -> None:
    record = make_record("a", "demo", "en", 0.5).model_copy(update={"dataset_identity": {"sampled": True}})
    render_reports([record], tmp_path)
    assert "0.5000†" in (tmp_path / "leaderboard.md").read_text()
    assert json.loads(record.model_dump_json())["dataset_identity"]["sampled"] is True
