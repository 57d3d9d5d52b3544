"""Results as a library: a tidy DataFrame, per-query scores, TREC and MTEB exports."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import results
from harness.cli import app
from harness.core.errors import InputError
from harness.results import MtebRegistry, MtebTask
from tests.results_factory import make_record, save

REFERENCE = {
    "suite": "suite",
    "dataset": "scifact",
    "language": "en",
    "metric": "ndcg@10",
    "value": 0.645,
    "source": "MTEB",
}


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    scores = {"ndcg@10": {"q1": 0.5, "q2": 0.7}, "recall@100": {"q1": 1.0, "q2": 0.0}}
    save(
        folder,
        make_record("minilm", "scifact", "en", per_query=scores, references=[REFERENCE], family="dense"),
        ["q1 Q0 d2 1 0.9 minilm\n", "q1 Q0 d1 2 0.5 minilm\n"],
    )
    save(folder, make_record("bm25", "xquad", "de-en", per_query={"ndcg@10": {"q1": 0.25}}))
    return folder


def test_frame_has_one_row_per_model_dataset_language_and_metric(stored: Path) -> None:
    frame = results.load_frame(stored)
    assert len(frame) == 3
    row = frame[(frame.model == "minilm") & (frame.metric == "ndcg@10")].iloc[0]
    assert row.value == pytest.approx(0.6)
    assert bool(row.primary) and row.reference == 0.645 and row.reference_source == "MTEB"
    assert (row.family, row.index_size_bytes, row.latency_p50_ms, row.hardware) == (
        "dense",
        1000,
        1.0,
        "Test CPU (2 cores)",
    )
    cross = frame[frame.model == "bm25"].iloc[0]
    assert (cross.language, cross.query_language, cross.document_language) == ("de-en", "de", "en")
    assert frame.pivot_table(index="model", columns="metric", values="value").loc["minilm", "recall@100"] == 0.5


def test_an_empty_results_list_still_has_every_column() -> None:
    assert list(results.to_frame([]).columns) == list(results.FRAME_COLUMNS)


def test_per_query_frame_holds_the_scores_behind_each_mean(stored: Path) -> None:
    frame = results.per_query_frame(results.load(stored))
    minilm = frame[(frame.model == "minilm") & (frame.metric == "ndcg@10")]
    assert dict(zip(minilm.query_id, minilm.value, strict=True)) == {"q1": 0.5, "q2": 0.7}


def test_export_trec_writes_the_recorded_run_uncompressed_and_retagged(stored: Path, tmp_path: Path) -> None:
    minilm = [r for r in results.load(stored) if r.record.model.name == "minilm"]
    [path] = results.export_trec(minilm, tmp_path / "runs", tag="my-run")
    assert path == tmp_path / "runs" / "suite" / "minilm" / "scifact.en.test.trec"
    assert path.read_text().splitlines() == ["q1 Q0 d2 1 0.9 my-run", "q1 Q0 d1 2 0.5 my-run"]
    with gzip.open(minilm[0].run_path, "rt") as handle:
        assert handle.read().replace("minilm", "my-run") == path.read_text()


def test_a_missing_run_file_is_an_input_error(stored: Path, tmp_path: Path) -> None:
    [bm25] = [r for r in results.load(stored) if r.record.model.name == "bm25"]
    bm25.run_path.unlink()
    with pytest.raises(InputError, match="TREC run recorded with this result is missing"):
        results.export_trec([bm25], tmp_path / "runs")


def test_export_mteb_uses_mteb_task_names_subsets_and_score_keys(stored: Path, tmp_path: Path) -> None:
    tasks = {"scifact": MtebTask("SciFact", "d56462d0e63a25450459c4f213e49ffdb866f7f9", {"default": ["eng-Latn"]})}
    written = results.export_mteb(results.load(stored), tmp_path / "mteb", MtebRegistry(tasks, {}))
    scifact = tmp_path / "mteb" / "minilm" / "card-card" / "SciFact.json"
    assert scifact in written
    document = json.loads(scifact.read_text())
    assert document["task_name"] == "SciFact"
    assert document["dataset_revision"] == "d56462d0e63a25450459c4f213e49ffdb866f7f9"
    [entry] = document["scores"]["test"]
    assert entry["hf_subset"] == "default" and entry["languages"] == ["eng-Latn"]
    assert entry["ndcg_at_10"] == pytest.approx(0.6) and entry["main_score"] == pytest.approx(0.6)
    assert entry["recall_at_100"] == pytest.approx(0.5)
    assert document["kg_co2_emissions"] == pytest.approx(1e-6)
    meta = json.loads((scifact.parent / "model_meta.json").read_text())
    assert (meta["name"], meta["revision"]) == ("minilm", "card-card")


def test_a_dataset_mteb_does_not_know_keeps_its_name_and_language_pair(stored: Path, tmp_path: Path) -> None:
    results.export_mteb(results.load(stored), tmp_path / "mteb", MtebRegistry({}, {"deu": "Latn"}))
    document = json.loads((tmp_path / "mteb" / "bm25" / "card-card" / "xquad.json").read_text())
    [entry] = document["scores"]["test"]
    assert entry["hf_subset"] == "de-en"
    assert entry["languages"] == ["deu-Latn", "eng-Latn"]


def test_mteb_metric_names() -> None:
    assert results.mteb_metric_name("nDCG@10") == "ndcg_at_10"
    assert results.mteb_metric_name("success@5") == "hit_rate_at_5"
    assert results.mteb_metric_name("map") == "map"


@pytest.mark.slow
def test_mteb_reads_the_export_back(stored: Path, tmp_path: Path) -> None:
    task_result = pytest.importorskip("mteb.results").TaskResult
    written = results.export_mteb(results.load(stored), tmp_path / "mteb")
    [scifact] = [path for path in written if path.name == "SciFact.json"]
    loaded = task_result.from_disk(scifact)
    assert loaded.task_name == "SciFact"
    assert loaded.get_score() == pytest.approx(0.6)


def test_export_command_writes_trec_runs_for_the_chosen_model(stored: Path, tmp_path: Path) -> None:
    outcome = CliRunner().invoke(
        app, ["export", "trec", "--results-dir", str(stored), "--out", str(tmp_path / "runs"), "-m", "bm25"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert [p.name for p in (tmp_path / "runs").rglob("*.trec")] == ["xquad.de-en.test.trec"]


def test_export_command_with_no_matching_result_is_an_input_error(stored: Path, tmp_path: Path) -> None:
    outcome = CliRunner().invoke(
        app, ["export", "trec", "--results-dir", str(stored), "--out", str(tmp_path), "-m", "x"]
    )
    assert outcome.exit_code == 2
    assert "no results match" in outcome.output
