"""`harness run` end to end with a tiny ColBERT-XM checkpoint: exact MaxSim, the compressed index, routing."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from tests.tiny_colbert import write_tiny_colbert

runner = CliRunner()


def run(*args: str) -> object:
    return runner.invoke(
        app, ["run", *args, "--no-energy", "--latency-sample", "3", "--no-report"], catch_exceptions=False
    )


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_colbert(tmp_path_factory.mktemp("checkpoints") / "colbert-xm")


def write_card(folder: Path, model_folder: Path, **extra: object) -> Path:
    card = folder / "tiny-colbert-xm.yaml"
    body = {"name": "tiny-colbert-xm", "adapter": "colbert", "parameters": {"path": str(model_folder)}, **extra}
    card.write_text(yaml.safe_dump(body))
    return card


def only_result(results: Path) -> dict:
    [path] = sorted(results.rglob("*.json"))
    return json.loads(path.read_text())


def test_exact_maxsim_end_to_end(tiny_beir: Path, model_folder: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    card = write_card(tmp_path, model_folder)
    outcome = run("--data", str(tiny_beir), "--language", "en", "-m", str(card), "--results-dir", str(results))
    assert outcome.exit_code == 0, outcome.output
    record = only_result(results)
    assert record["model"]["family"] == "multivector" and record["index"]["kind"] == "maxsim-exact"
    assert record["model"]["details"]["language_routing"]["routed"] == {"en": {"adapter": "en_XX", "by": "iso prefix"}}
    assert 0.0 <= record["metrics"]["ndcg@10"] <= 1.0 and record["measured"]["efficiency"]["index_size_bytes"] > 0
    with gzip.open(results / "local" / "tiny-colbert-xm" / record["run_file"], "rt") as handle:
        assert len(handle.readlines()) == 3 * 6  # every judged query ranks all six passages


def test_compressed_index_from_the_command_line(tiny_beir: Path, model_folder: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    card = write_card(tmp_path, model_folder)
    outcome = run(
        "--data",
        str(tiny_beir),
        "--language",
        "en",
        "-m",
        str(card),
        "--results-dir",
        str(results),
        "--index",
        "plaid:nbits=2,centroids=16,probes=4",
    )
    assert outcome.exit_code == 0, outcome.output
    record = only_result(results)
    index = record["index"]
    assert (index["kind"], index["nbits"], index["num_centroids"], index["num_documents"]) == ("plaid", 2, 16, 6)
    assert index["last_search"] == {"k": 1000, "probes": 4, "candidates": 4096, "rerank": 1024}
    assert record["measured"]["efficiency"]["index_size_bytes"] == sum(index["files_bytes"].values())
    assert not Path(index["index_dir"]).exists()  # temporary: deleted with the index


def test_compressed_index_from_the_card_is_kept_in_its_folder(
    tiny_beir: Path, model_folder: Path, tmp_path: Path
) -> None:
    card = write_card(
        tmp_path, model_folder, index={"kind": "plaid", "centroids": 8, "index_dir": str(tmp_path / "idx")}
    )
    outcome = run("--data", str(tiny_beir), "--language", "en", "-m", str(card), "--results-dir", str(tmp_path / "r"))
    assert outcome.exit_code == 0, outcome.output
    kept = Path(only_result(tmp_path / "r")["index"]["index_dir"])
    assert kept.parent == (tmp_path / "idx").resolve() and (kept / "metadata.json").is_file()


def test_cross_lingual_queries_and_documents_use_their_own_adapters(
    tiny_beir: Path, model_folder: Path, tmp_path: Path
) -> None:
    card = write_card(tmp_path, model_folder)
    outcome = run(
        "--data", str(tiny_beir), "--language", "de-en", "-m", str(card), "--results-dir", str(tmp_path / "r")
    )
    assert outcome.exit_code == 0, outcome.output
    routed = only_result(tmp_path / "r")["model"]["details"]["language_routing"]["routed"]
    assert {language: entry["adapter"] for language, entry in routed.items()} == {"de": "de_DE", "en": "en_XX"}


def test_a_language_without_adapter_fails_cleanly(tiny_beir: Path, model_folder: Path, tmp_path: Path) -> None:
    card = write_card(tmp_path, model_folder)
    results = tmp_path / "results"
    outcome = run("--data", str(tiny_beir), "--language", "sw", "-m", str(card), "--results-dir", str(results))
    assert outcome.exit_code == 2
    assert "no language adapter for 'sw'" in " ".join(outcome.output.split())
    assert not results.exists() or list(results.rglob("*.json")) == []


def test_index_for_another_family_is_refused_before_any_work(tiny_beir: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    outcome = run(
        "--data", str(tiny_beir), "--language", "en", "-m", "bm25", "--index", "plaid", "--results-dir", str(results)
    )
    assert outcome.exit_code == 2
    assert "[--index]: index 'plaid' is for multivector models but 'bm25' is sparse" in " ".join(outcome.output.split())
    assert not results.exists()


def test_bad_index_parameters_are_refused(tiny_beir: Path, tmp_path: Path) -> None:
    outcome = run("--data", str(tiny_beir), "--language", "en", "-m", "bm25", "--index", "plaid:nbits=3")
    assert outcome.exit_code == 2 and "plaid nbits: Input should be 1, 2 or 4" in outcome.output
