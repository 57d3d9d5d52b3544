"""A TREC run's tag column is one token whatever the run is named, so every line keeps its six columns."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.record.result import run_tag
from harness.results import load
from tests.conftest import TINY_CORPUS, TINY_QRELS, TINY_QUERIES, write_beir
from tests.tiny_models import write_tiny_bert

runner = CliRunner()


def test_a_name_with_spaces_and_brackets_becomes_one_token() -> None:
    assert run_tag("rrf:bm25 [sampled]+all-minilm-l6-v2 [sampled]") == "rrf:bm25__sampled_+all-minilm-l6-v2__sampled_"
    assert run_tag("wsum:a@v2=0.3,b\tc/d") == "wsum:a@v2=0.3_b_c_d"


def test_a_fused_run_named_with_spaces_and_brackets_has_six_column_lines(tmp_path: Path) -> None:
    write_beir(tmp_path / "toy", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    suite = tmp_path / "toy.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "name": "toy",
                "metrics": ["ndcg@10"],
                "primary_metric": "ndcg@10",
                "datasets": [{"name": "toy", "source": {"kind": "beir", "path": "toy"}, "languages": ["en"]}],
            }
        )
    )
    write_tiny_bert(tmp_path / "model")
    card = tmp_path / "tiny.yaml"
    card.write_text(yaml.safe_dump({"name": "tiny", "adapter": "dense", "parameters": {"path": "model"}}))
    common = ["--suite", str(suite), "-m", "bm25", "--results-dir", str(tmp_path / "results"), "--latency-sample", "2"]
    outcome = runner.invoke(app, ["run", *common, "-m", str(card), "--no-energy", "--no-report"])
    assert outcome.exit_code == 0, outcome.output
    name = "rrf: bm25 [sampled] + tiny (v2)"
    outcome = runner.invoke(app, ["fuse", *common, "-m", "tiny", "--name", name])
    assert outcome.exit_code == 0, outcome.output
    [fused] = [stored for stored in load(tmp_path / "results") if stored.record.model.family == "fused"]
    lines = [line.split() for line in fused.run_lines()]
    assert lines and all(len(columns) == 6 for columns in lines)
    assert {columns[5] for columns in lines} == {"rrf:_bm25__sampled__+_tiny__v2_"}
