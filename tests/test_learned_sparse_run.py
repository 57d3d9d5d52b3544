"""`harness run` end to end with tiny MILCO, SPLADE and BGE-M3 checkpoints written in their published layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from tests.conftest import result_path
from tests.tiny_sparse_models import write_tiny_bert_mlm, write_tiny_bge_m3, write_tiny_milco

runner = CliRunner()

WRITERS = {
    "milco": lambda root: write_tiny_milco(root),
    "splade": lambda root: write_tiny_bert_mlm(root / "splade-v3"),
    "bge-m3-sparse": lambda root: write_tiny_bge_m3(root / "bge-m3"),
}


@pytest.mark.parametrize(("adapter", "index"), [("milco", None), ("splade", None), ("bge-m3-sparse", "seismic")])
def test_run_encodes_indexes_searches_and_evaluates(
    tiny_beir: Path, tmp_path: Path, adapter: str, index: str | None
) -> None:
    folder = WRITERS[adapter](tmp_path / "weights")
    card = {"name": f"tiny-{adapter}", "adapter": adapter, "parameters": {"path": str(folder)}}
    if index:
        card["index"] = {"kind": index}
    card_path = tmp_path / "card.yaml"
    card_path.write_text(yaml.safe_dump(card))
    results = tmp_path / "results"
    outcome = runner.invoke(
        app,
        [
            *("run", "--data", str(tiny_beir), "--language", "en", "-m", str(card_path)),
            *("--results-dir", str(results), "--no-energy", "--latency-sample", "3"),
            *("--report-dir", str(tmp_path / "reports")),
        ],
        catch_exceptions=False,
    )
    assert outcome.exit_code == 0, outcome.output
    record = json.loads(result_path(results / "local" / f"tiny-{adapter}", "tiny.en.test").read_text())
    assert record["model"]["family"] == "sparse"
    assert record["model"]["details"]["columns"] > 0
    assert 0.0 <= record["metrics"]["ndcg@10"] <= 1.0
    assert set(record["per_query"]["ndcg@10"]) == {"q1", "q2", "q3"}
    assert record["index"]["kind"] == (index or "sparse-exact")
    assert record["measured"]["efficiency"]["index_size_bytes"] > 0
    assert record["measured"]["efficiency"]["search_latency_ms"]["p50"] > 0


def test_bm25_and_a_learned_sparse_model_share_the_schema_and_the_leaderboard(tiny_beir: Path, tmp_path: Path) -> None:
    folder = write_tiny_bert_mlm(tmp_path / "splade-v3")
    card_path = tmp_path / "tiny-splade.yaml"
    card = {"name": "tiny-splade", "adapter": "splade", "parameters": {"path": str(folder)}}
    card_path.write_text(yaml.safe_dump(card))
    results, reports = tmp_path / "results", tmp_path / "reports"
    outcome = runner.invoke(
        app,
        [
            *("run", "--data", str(tiny_beir), "--language", "en", "-m", "bm25", "-m", str(card_path)),
            *("--results-dir", str(results), "--report-dir", str(reports), "--no-energy", "--latency-sample", "2"),
        ],
        catch_exceptions=False,
    )
    assert outcome.exit_code == 0, outcome.output
    bm25 = json.loads(result_path(results / "local" / "bm25", "tiny.en.test").read_text())
    splade = json.loads(result_path(results / "local" / "tiny-splade", "tiny.en.test").read_text())
    assert set(bm25) == set(splade)
    assert set(bm25["measured"]["efficiency"]) == set(splade["measured"]["efficiency"])
    assert bm25["model"]["family"] == splade["model"]["family"] == "sparse"
    board = (reports / "leaderboard.md").read_text()
    assert "bm25" in board and "tiny-splade" in board
