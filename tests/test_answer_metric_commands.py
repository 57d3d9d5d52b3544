"""answer-recall@k is a metric like any other for every command that reads results: one registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.results.reference_book import ReferenceBook
from tests.test_source_mkqa import write_local

runner = CliRunner()


@pytest.fixture(scope="module")
def mkqa_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two BM25 variants run on a local MKQA-layout dataset (apple's jsonl.gz beside a BEIR corpus)."""
    root = tmp_path_factory.mktemp("mkqa")
    data = write_local(root / "data")
    card = root / "bm25-robertson.yaml"
    variant = {"name": "bm25-robertson", "adapter": "bm25", "parameters": {"method": "robertson"}}
    card.write_text(yaml.safe_dump(variant))
    results = root / "results"
    for model in ("bm25", str(card)):
        outcome = runner.invoke(
            app,
            ["run", "--suite", "mkqa", "--datasets", "mkqa", "--languages", "ar-en", "--local", f"mkqa={data}",
             "-m", model, "--no-energy", "--no-report", "--results-dir", str(results),
             "--cache-dir", str(root / "cache")],
            catch_exceptions=False,
        )  # fmt: skip
        assert outcome.exit_code == 0, outcome.output
    return results


def test_a_run_records_answer_recall(mkqa_results: Path) -> None:
    record = json.loads(next((mkqa_results / "mkqa" / "bm25").glob("*.json")).read_text())
    assert set(record["metrics"]) == {"answer-recall@20", "answer-recall@100"}


def test_gate_update_writes_expectations_that_gate_then_accepts(mkqa_results: Path, tmp_path: Path) -> None:
    expected = tmp_path / "regressions"
    updated = runner.invoke(
        app, ["gate", "--update", "--all", "--results-dir", str(mkqa_results), "--expected", str(expected)]
    )
    assert updated.exit_code == 0, updated.output
    written = yaml.safe_load((expected / "mkqa" / "bm25.yaml").read_text())
    assert "answer-recall@100" in json.dumps(written)
    checked = runner.invoke(app, ["gate", "-v", "--results-dir", str(mkqa_results), "--expected", str(expected)])
    assert checked.exit_code == 0, checked.output
    assert "answer-recall@100" in checked.output


def test_compare_tests_answer_recall(mkqa_results: Path, tmp_path: Path) -> None:
    outcome = runner.invoke(
        app,
        ["compare", "bm25", "bm25-robertson", "--results-dir", str(mkqa_results), "--metric", "answer_recall@100",
         "--out", str(tmp_path / "compare")],
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    assert "answer-recall@100" in json.loads((tmp_path / "compare" / "comparison.json").read_text())["metrics"]


def test_export_mteb_names_answer_recall_in_mtebs_spelling(mkqa_results: Path, tmp_path: Path) -> None:
    outcome = runner.invoke(app, ["export", "mteb", "--results-dir", str(mkqa_results), "--out", str(tmp_path / "m")])
    assert outcome.exit_code == 0, outcome.output
    exported = [json.loads(path.read_text()) for path in (tmp_path / "m").rglob("*.json")]
    scores = [s for e in exported if "scores" in e for split in e["scores"].values() for s in split]
    assert scores and all("answer_recall_at_100" in s and "answer_recall_at_20" in s for s in scores)


def test_a_card_reference_for_answer_recall_matches_the_result() -> None:
    card = {
        "name": "m",
        "references": [
            {"suite": "mkqa", "dataset": "mkqa", "language": "ar-en", "metric": "Answer_Recall@100", "value": 0.7,
             "source": "paper"},
        ],
    }  # fmt: skip
    book = ReferenceBook()
    [found] = book.references_for(card, suite="mkqa", dataset="mkqa", language="ar-en", metric="answer-recall@100")
    assert (found.value, found.source) == (0.7, "paper")
