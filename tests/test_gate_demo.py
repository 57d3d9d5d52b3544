"""The committed expectations in `regressions/demo/` hold: a fresh BM25 run of the demo suite passes the gate."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from harness.cli import app
from tests.conftest import REPO

runner = CliRunner()


def test_a_fresh_bm25_demo_run_passes_the_committed_gate(tmp_path: Path) -> None:
    results = tmp_path / "results"
    quick = ["--no-report", "--no-energy", "--latency-sample", "5"]
    run = runner.invoke(
        app, ["run", "--suite", "demo", "-m", "bm25", "--results-dir", str(results), *quick], catch_exceptions=False
    )
    assert run.exit_code == 0, run.output
    outcome = runner.invoke(
        app, ["gate", "--results-dir", str(results), "--expected", str(REPO / "regressions"), "--model", "bm25"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert "30 checks: 30 OK" in outcome.output  # 10 languages x 3 metrics
