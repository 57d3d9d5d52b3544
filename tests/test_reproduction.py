"""The harness reproduces published numbers on the real public data beside the repo (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.catalog.cards import load_card
from harness.catalog.suites import local_suite
from harness.record import EnergySettings
from harness.run.runner import RunSettings, run_units

pytestmark = pytest.mark.slow

# Published in ../shared/README.md: MTEB's bm25s baseline on XQuAD, nDCG@10.
MTEB_BM25S_XQUAD = {"en": 0.96494, "de": 0.92521, "zh": 0.1205, "hi": 0.75106}


def run_local(folder: Path, language: str, model: str, results: Path) -> dict:
    settings = RunSettings(results_dir=results, energy=EnergySettings(enabled=False), latency_sample=20)
    [path] = run_units(local_suite(folder, language).units(), [load_card(model)], settings)
    return json.loads(path.read_text())["metrics"]


def test_minilm_reproduces_mteb_on_scifact(
    shared_data: Path, minilm_path: Path, tmp_path: Path, real_data_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(real_data_store))
    metrics = run_local(shared_data / "beir-scifact", "en", "all-minilm-l6-v2", tmp_path)
    assert metrics["ndcg@10"] == pytest.approx(0.64508, abs=0.0005)
    assert metrics["recall@100"] == pytest.approx(0.925, abs=0.002)


def test_bm25_is_within_a_hundredth_of_pyserini_on_scifact(shared_data: Path, tmp_path: Path) -> None:
    metrics = run_local(shared_data / "beir-scifact", "en", "bm25", tmp_path)
    assert metrics["ndcg@10"] == pytest.approx(0.6789, abs=0.01)
    assert metrics["recall@100"] == pytest.approx(0.9253, abs=0.01)


@pytest.mark.parametrize("language", ["en", "de", "zh", "hi"])
def test_bm25_is_not_below_mteb_bm25s_on_xquad(shared_data: Path, tmp_path: Path, language: str) -> None:
    ndcg = run_local(shared_data / "xquad" / language, language, "bm25", tmp_path)["ndcg@10"]
    assert ndcg >= MTEB_BM25S_XQUAD[language]
    if language == "zh":  # MTEB's tokenizer cannot segment Chinese; CJK bigrams can
        assert ndcg > 5 * MTEB_BM25S_XQUAD["zh"]
