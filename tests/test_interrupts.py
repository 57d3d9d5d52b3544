"""SIGTERM (what Slurm and Kubernetes send) handled like Ctrl-C, and shards small enough that a kill loses at most
an eighth of an encoding."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import typer
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.cli.common import EXIT_TERMINATED, Terminated, reported_errors
from harness.encode import EncodeSettings
from harness.models.adapters.python import PythonEncoder
from harness.store import EmbeddingStore
from harness.store.embeddings import shard_size_for
from tests.conftest import write_beir
from tests.tiny_models import WORDS, write_tiny_bert

# --- shard sizing ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "size"),
    [(3_000, 375), (5_183, 648), (100, 256), (2_048, 256), (131_072, 16_384), (8_841_823, 16_384)],
)
def test_a_corpus_gets_at_least_eight_shards_of_256_to_16384_texts(texts: int, size: int) -> None:
    assert shard_size_for(texts) == size


def test_a_shard_size_asked_for_is_kept() -> None:
    assert shard_size_for(3_000, 40) == 40


class Lengths:
    """A model whose vectors are the texts' lengths: encodes 3,000 texts in no time."""

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.array([[len(text), 1.0] for text in texts], dtype=np.float32)


def test_a_rerun_of_the_same_texts_finds_the_same_shards(tmp_path: Path) -> None:
    encoder = PythonEncoder.wrap(Lengths(), "lengths", "1", EncodeSettings())
    texts = [f"text {i}" for i in range(3_000)]
    first = EmbeddingStore(tmp_path).encode(encoder, texts, "en", "document")
    entry = Path(first.status.location)
    assert entry.name.endswith(".n3000.s375")
    assert sorted(folder.name for folder in entry.glob("shard-*")) == [f"shard-{n:06d}" for n in range(8)]
    assert json.loads((entry / "entry.json").read_text())["shard_size"] == 375
    (entry / "shard-000005" / "vectors.npy").unlink()
    (entry / "shard-000005" / "meta.json").unlink()
    (entry / "shard-000005").rmdir()  # as if the run had been killed while writing it
    again = EmbeddingStore(tmp_path).encode(encoder, texts, "en", "document")
    assert again.status.location == first.status.location
    assert (again.status.shards, again.status.computed_shards, again.status.texts_encoded) == (8, 1, 375)


# --- SIGTERM --------------------------------------------------------------------------------------------------


def test_sigterm_is_reported_like_ctrl_c_with_exit_143() -> None:
    command = typer.Typer()

    @command.command()
    def stopped() -> None:
        with reported_errors(kept=lambda: "kept 1 result (a.json); rerun the same command to resume"):
            raise Terminated

    outcome = CliRunner().invoke(command, [], catch_exceptions=False)
    assert outcome.exit_code == EXIT_TERMINATED == 143
    expected = (
        "terminated: stopped by SIGTERM before finishing; kept 1 result (a.json); rerun the same command to resume"
    )
    assert outcome.output.strip() == expected


def test_the_sigterm_handler_is_the_commands_only_while_it_runs() -> None:
    heard: list[int] = []

    def before(signum: int, frame: object) -> None:  # this process's own handler, there before the command
        heard.append(signum)

    command = typer.Typer()

    @command.command()
    def look() -> None:
        with reported_errors():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the command's handler raises before this ends

    original = signal.signal(signal.SIGTERM, before)
    try:
        started = time.monotonic()
        outcome = CliRunner().invoke(command, [], catch_exceptions=False)
        assert outcome.exit_code == EXIT_TERMINATED and time.monotonic() - started < 5
        assert heard == [] and signal.getsignal(signal.SIGTERM) is before
    finally:
        signal.signal(signal.SIGTERM, original)


DOCUMENTS = 3_000  # 8 shards of 375


@pytest.fixture(scope="module")
def corpus_and_card(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sigterm")
    corpus = [
        {"_id": f"d{i:05d}", "text": " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(12))}
        for i in range(DOCUMENTS)
    ]
    queries = [{"_id": f"q{i}", "text": " ".join(WORDS[(i * 3 + j) % len(WORDS)] for j in range(4))} for i in range(5)]
    data = write_beir(root / "data", corpus, queries, [(f"q{i}", f"d{i * 37:05d}", 1) for i in range(5)])
    card = root / "tiny-dense.yaml"
    model = write_tiny_bert(root / "bert")
    card.write_text(yaml.safe_dump({"name": "tiny-dense", "adapter": "dense", "parameters": {"path": str(model)}}))
    return data, card


def committed(cache: Path) -> list[Path]:
    return sorted(p for p in cache.glob("embeddings/*/document.*/shard-*") if p.is_dir())


def test_sigterm_mid_encoding_keeps_the_finished_shards_and_the_rerun_encodes_only_the_rest(
    corpus_and_card: tuple[Path, Path], tmp_path: Path
) -> None:
    data, card = corpus_and_card
    cache, results = tmp_path / "cache", tmp_path / "results"
    arguments = [
        "run", "--data", str(data), "--language", "en", "-m", str(card), "--results-dir", str(results),
        "--cache-dir", str(cache), "--no-energy", "--latency-sample", "0", "--no-report",
    ]  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", *arguments],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    deadline = time.monotonic() + 240
    try:
        while not committed(cache):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "no shard was committed in time"
            time.sleep(0.005)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
        process.wait()

    assert process.returncode == EXIT_TERMINATED, stderr
    [line] = [line for line in stderr.splitlines() if line.startswith("terminated:")]
    assert line == (
        "terminated: stopped by SIGTERM before finishing; no result was finished; finished encoding shards are "
        f"kept in {cache / 'embeddings'}; rerun the same command to resume"
    )
    kept = committed(cache)
    assert 1 <= len(kept) < 8, "the signal came after the corpus was encoded"
    assert not list(cache.rglob("*.tmp")), "the shard being written is abandoned, not left half-written"
    assert not list(results.rglob("*.json"))

    resumed = CliRunner().invoke(app, arguments)
    assert resumed.exit_code == 0, resumed.output
    [result] = results.rglob("*.json")
    documents = json.loads(result.read_text())["measured"]["encodings"]["documents"]
    assert (documents["shards"], documents["reused_shards"]) == (8, len(kept))
    assert (documents["computed_shards"], documents["texts_encoded"]) == (8 - len(kept), DOCUMENTS - 375 * len(kept))
