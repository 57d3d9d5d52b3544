"""Run keys, encode-once and resume, through `harness run` as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from tests.conftest import TINY_CORPUS, TINY_QRELS, TINY_QUERIES, write_beir, write_jsonl
from tests.tiny_colbert import write_tiny_colbert
from tests.tiny_models import WORDS, write_tiny_bert
from tests.tiny_sparse_models import write_tiny_bert_mlm


def run(*args: str) -> object:
    return CliRunner().invoke(app, ["run", "--no-energy", "--latency-sample", "2", "--no-report", *args])


def records(results: Path) -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted(results.rglob("*.json"))}


def write_card(folder: Path, adapter: str, model: Path, **parameters: object) -> Path:
    path = folder / f"tiny-{adapter}.yaml"
    card = {"name": f"tiny-{adapter}", "adapter": adapter, "parameters": {"path": str(model), **parameters}}
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cards")
    return {
        "dense": write_card(root, "dense", write_tiny_bert(root / "bert")),
        "splade": write_card(root, "splade", write_tiny_bert_mlm(root / "mlm")),
        # The tiny XMOD checkpoint has en, fr and de adapters; Spanish queries use the English one.
        "colbert": write_card(root, "colbert", write_tiny_colbert(root / "colbert"), fallback_language="en"),
    }


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_beir(tmp_path / "tiny", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)


def test_a_rerun_keeps_every_result_and_recomputes_nothing(tiny: Path, tmp_path: Path, cards: dict[str, Path]) -> None:
    results = tmp_path / "results"
    first = run(
        "--data", str(tiny), "--language", "en", "-m", "bm25", "-m", str(cards["dense"]), "--results-dir", str(results)
    )
    assert first.exit_code == 0, first.output
    before = {path: path.read_bytes() for path in results.rglob("*") if path.is_file()}
    again = run(
        "--data", str(tiny), "--language", "en", "-m", "bm25", "-m", str(cards["dense"]), "--results-dir", str(results)
    )
    assert again.exit_code == 0, again.output
    assert " ".join(again.output.split()).count("its result exists under the same run key") == 2
    assert {path: path.read_bytes() for path in results.rglob("*") if path.is_file()} == before


def test_overwrite_recomputes_a_kept_result(tiny: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    run("--data", str(tiny), "--language", "en", "-m", "bm25", "--results-dir", str(results))
    [(name, before)] = records(results).items()
    outcome = run("--data", str(tiny), "--language", "en", "-m", "bm25", "--results-dir", str(results), "--overwrite")
    assert outcome.exit_code == 0, outcome.output
    [(again_name, after)] = records(results).items()
    assert again_name == name
    assert after["measured"]["created_at"] >= before["measured"]["created_at"]
    assert after["measured"]["efficiency"] != before["measured"]["efficiency"]


def test_other_settings_write_other_files_and_overwrite_none(tiny: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    base = ("--data", str(tiny), "--language", "en", "-m", "bm25", "--results-dir", str(results))
    for extra in ((), ("--index", "seismic"), ("--max-queries", "2"), ("--k", "5")):
        outcome = run(*base, *extra)
        assert outcome.exit_code == 0, outcome.output
    found = records(results)
    assert len(found) == 4
    variants = sorted(record["run_key"]["variant"] for record in found.values())
    assert variants == ["", "", "index seismic", "k 5"]  # a sample is said by the result, not the key's variant
    assert sum(record["dataset_identity"]["sampled"] for record in found.values()) == 1
    names = sorted(found)
    assert sum(".seismic." in name for name in names) == 1
    assert sum(".sampled." in name for name in names) == 1
    assert len({record["run_key"]["id"] for record in found.values()}) == 4


def write_cross_lingual_suite(tmp_path: Path) -> Path:
    """Three query languages against one English document folder."""
    data = tmp_path / "xling"
    write_jsonl(data / "corpus.jsonl", TINY_CORPUS)
    queries = {"de": "Katzen", "fr": "chats", "es": "gatos"}
    for language, word in queries.items():
        write_jsonl(data / f"queries-{language}.jsonl", [{"_id": f"{language}1", "text": f"{word} cats purr"}])
        (data / f"qrels-{language}").mkdir()
        (data / f"qrels-{language}" / "test.tsv").write_text(f"query-id\tcorpus-id\tscore\n{language}1\td1\t1\n")
    suite = {
        "name": "xling",
        "metrics": ["ndcg@10"],
        "primary_metric": "ndcg@10",
        "datasets": [
            {
                "name": "toy",
                "source": {
                    "kind": "beir",
                    "path": str(data),
                    "queries": "queries-{query_language}.jsonl",
                    "qrels": "qrels-{query_language}/{split}.tsv",
                },
                "languages": [{"query": language, "documents": "en"} for language in queries],
            }
        ],
    }
    path = tmp_path / "xling.yaml"
    path.write_text(yaml.safe_dump(suite), encoding="utf-8")
    return path


def document_statuses(results: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for record in records(results).values():
        found.setdefault(record["model"]["name"], []).append(record["measured"]["encodings"]["documents"]["status"])
    return {model: sorted(statuses) for model, statuses in found.items()}


def test_a_corpus_shared_by_three_pairs_is_encoded_once_per_model(tmp_path: Path, cards: dict[str, Path]) -> None:
    suite = write_cross_lingual_suite(tmp_path)
    results = tmp_path / "results"
    models = [arg for card in cards.values() for arg in ("-m", str(card))]
    outcome = run("--suite", str(suite), *models, "--results-dir", str(results))
    assert outcome.exit_code == 0, outcome.output
    statuses = document_statuses(results)
    assert set(statuses) == {"tiny-dense", "tiny-splade", "tiny-colbert"}
    assert all(found == ["computed", "reused", "reused"] for found in statuses.values()), statuses


def test_another_index_reuses_the_stored_documents(tmp_path: Path, cards: dict[str, Path]) -> None:
    suite = write_cross_lingual_suite(tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    assert run("--suite", str(suite), "-m", str(cards["dense"]), "--results-dir", str(first)).exit_code == 0
    outcome = run(
        "--suite",
        str(suite),
        "-m",
        str(cards["dense"]),
        "--results-dir",
        str(second),
        "--index",
        "faiss-flat:query_batch_size=1",
    )
    assert outcome.exit_code == 0, outcome.output
    for record in records(second).values():
        encodings = record["measured"]["encodings"]
        assert encodings["documents"]["status"] == encodings["queries"]["status"] == "reused"
        assert encodings["documents"]["texts_encoded"] == 0
    firsts = {record["language"]: record["per_query"] for record in records(first).values()}
    assert {record["language"]: record["per_query"] for record in records(second).values()} == firsts


# --- a real SIGKILL during corpus encoding -------------------------------------------------------------------

KILL_DOCUMENTS = 1200
SHARD = 40


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("big")
    corpus = [
        {"_id": f"d{i:05d}", "title": "", "text": " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(40))}
        for i in range(KILL_DOCUMENTS)
    ]
    queries = [{"_id": f"q{i}", "text": " ".join(WORDS[(i * 3 + j) % len(WORDS)] for j in range(4))} for i in range(30)]
    qrels = [(f"q{i}", f"d{(i * 37) % KILL_DOCUMENTS:05d}", 1) for i in range(30)]
    return write_beir(root, corpus, queries, qrels)


def command(data: Path, card: Path, results: Path, cache: Path) -> list[str]:
    return [
        sys.executable, "-m", "harness", "run", "--data", str(data), "--language", "en", "-m", str(card),
        "--results-dir", str(results), "--cache-dir", str(cache), "--shard-size", str(SHARD), "--batch-size", "8",
        "--no-energy", "--latency-sample", "0", "--no-report",
    ]  # fmt: skip


def shard_folders(cache: Path) -> list[Path]:
    """The committed document shards (a glob at the entries' depth: never inside a temporary shard folder,
    which the running writer renames away)."""
    return [p for p in cache.glob("embeddings/*/document.*/shard-*") if p.is_dir()]


def kill_during_encoding(argv: list[str], cache: Path, after_shards: int, delay_s: float) -> int:
    """Start the run, wait until `after_shards` document shards are committed (and `delay_s` more), freeze it
    with SIGSTOP, count the committed shards, then SIGKILL it. Returns the count."""
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    deadline = time.monotonic() + 240
    try:
        while len(shard_folders(cache)) < after_shards:
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no shard was written in time"
            time.sleep(0.002)
        time.sleep(delay_s)
        process.send_signal(signal.SIGSTOP)
        committed = len(shard_folders(cache))
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert committed < KILL_DOCUMENTS // SHARD, "the kill came after corpus encoding"
    return committed


def stripped(path: Path) -> str:
    data = json.loads(path.read_text())
    del data["measured"]
    return json.dumps(data, sort_keys=True)


def test_a_rerun_whose_encodings_are_all_stored_reads_no_weights(tiny: Path, tmp_path: Path) -> None:
    model = write_tiny_bert(tmp_path / "bert")
    card = write_card(tmp_path, "dense", model)
    first, second = tmp_path / "first", tmp_path / "second"
    assert run("--data", str(tiny), "--language", "en", "-m", str(card), "--results-dir", str(first)).exit_code == 0
    (model / "model.safetensors").write_bytes(b"no longer weights")  # a load now fails: a rerun must not need one
    outcome = run(
        "--data", str(tiny), "--language", "en", "-m", str(card), "--results-dir", str(second),
        "--index", "faiss-flat:query_batch_size=1",
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    [before], [after] = records(first).values(), records(second).values()
    assert after["measured"]["encodings"]["documents"]["status"] == "reused"
    assert after["per_query"] == before["per_query"] and after["model"]["details"] == before["model"]["details"]


@pytest.mark.slow  # three runs in subprocesses, about a minute each on a busy 2-core machine
@pytest.mark.parametrize(("after_shards", "delay_s"), [(2, 0.0), (3, 0.015)], ids=["at-a-shard-boundary", "mid-shard"])
def test_a_killed_run_resumes_encoding_only_missing_shards_and_gives_identical_results(
    big: Path, cards: dict[str, Path], tmp_path: Path, after_shards: int, delay_s: float
) -> None:
    cache, results = tmp_path / "cache", tmp_path / "results"
    argv = command(big, cards["dense"], results, cache)
    committed = kill_during_encoding(argv, cache, after_shards, delay_s)
    assert not list(results.rglob("*.json")), "no result may exist for an unfinished unit"

    resumed = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert resumed.returncode == 0, resumed.stderr
    [path] = results.rglob("*.json")
    documents = json.loads(path.read_text())["measured"]["encodings"]["documents"]
    assert documents["shards"] == KILL_DOCUMENTS // SHARD
    assert documents["computed_shards"] == KILL_DOCUMENTS // SHARD - committed
    assert documents["texts_encoded"] == KILL_DOCUMENTS - committed * SHARD

    clean_results = tmp_path / "clean"
    clean = subprocess.run(
        command(big, cards["dense"], clean_results, tmp_path / "clean-cache"), capture_output=True, text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert clean.returncode == 0, clean.stderr
    [reference] = clean_results.rglob("*.json")
    assert reference.name == path.name
    assert stripped(path) == stripped(reference)
    assert path.read_text().split('"measured"')[0] == reference.read_text().split('"measured"')[0]
    run_file = path.with_name(json.loads(path.read_text())["run_file"])
    assert run_file.read_bytes() == reference.with_name(run_file.name).read_bytes()


def test_a_sweep_after_a_run_reuses_the_stored_encodings(tiny: Path, tmp_path: Path, cards: dict[str, Path]) -> None:
    results = tmp_path / "results"
    assert (
        run(
            "--data", str(tiny), "--language", "en", "-m", str(cards["splade"]), "--results-dir", str(results)
        ).exit_code
        == 0
    )
    sweep = CliRunner().invoke(
        app,
        ["sweep", "-m", str(cards["splade"]), "--data", str(tiny), "--language", "en", "--prune", "topk:0,4",
         "--results-dir", str(tmp_path / "sweep"), "--no-energy", "--latency-sample", "2"],
    )  # fmt: skip
    assert sweep.exit_code == 0, sweep.output
    points = records(tmp_path / "sweep")
    assert len(points) == 2
    for record in points.values():
        assert record["measured"]["encodings"]["documents"]["status"] == "reused"
        assert record["measured"]["encodings"]["queries"]["status"] == "reused"
