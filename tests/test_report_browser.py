"""The rendered page in a real browser (headless Chromium, skipped without it): hostile names stay text,
sweep curves and matrices render, nothing errors. The real-data page is in `test_report_real.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.reporting import render_reports
from tests.browser import Browser, find_chromium
from tests.results_factory import make_record

HOSTILE_MODEL = "<img src=x onerror=\"window.pwned='model'\">"
HOSTILE_DATASET = "<script>window.pwned='dataset'</script>\"'"


@pytest.fixture
def browser(tmp_path: Path) -> Browser:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    pytest.importorskip("websocket", reason="websocket-client is not installed (pip install websocket-client)")
    with Browser(chromium, tmp_path / "profile") as opened:
        yield opened


def sweep(documents: str, terms: float) -> dict:
    return {
        "group": "prune",
        "pruning": {"documents": documents, "queries": "none"},
        "avg_active_terms_per_document": terms,
        "avg_active_terms_per_query": 8.0,
    }


def test_hostile_names_stay_text_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    records = [
        make_record(HOSTILE_MODEL, HOSTILE_DATASET, "en"),
        make_record(HOSTILE_MODEL, HOSTILE_DATASET, "de-en"),
        make_record("bm25", HOSTILE_DATASET, "en"),
    ]
    render_reports(records, tmp_path / "report", ["html"])
    browser.open((tmp_path / "report" / "index.html").as_uri())
    assert browser.evaluate("typeof window.pwned") == "undefined"
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
    assert browser.evaluate("document.scripts.length") == 1
    assert browser.evaluate("document.querySelector('table.leaderboard').textContent").count(HOSTILE_MODEL) == 1
    assert browser.problems == []


def test_sweep_curves_and_matrix_render_without_errors(browser: Browser, tmp_path: Path) -> None:
    per_query = {"ndcg@10": {"q1": 0.5, "q2": 0.6}}
    records = [make_record("splade", "data", "en", per_query=per_query), make_record("splade", "data", "de-en")]
    for documents, terms, size in (("mass:10", 12.0, 400), ("mass:30", 40.0, 900), ("none", 120.0, 2000)):
        records.append(make_record("splade", "data", "en", sweep=sweep(documents, terms), index_size_bytes=size))
    render_reports(records, tmp_path / "report", ["html"])
    browser.open((tmp_path / "report" / "index.html").as_uri())
    titles = browser.evaluate("Array.from(document.querySelectorAll('svg.chart > title')).map(t => t.textContent)")
    assert "prune: ndcg@10 vs active terms" in titles and "prune: latency vs index size" in titles
    assert browser.evaluate("document.querySelectorAll('table.sweep tbody tr').length") == 3
    assert browser.evaluate("document.querySelectorAll('table.leaderboard tbody tr').length") == 1
    assert browser.evaluate("document.querySelectorAll('table.matrix td.diagonal').length") == 2
    browser.screenshot(tmp_path / "sweep.png")
    assert browser.problems == []
