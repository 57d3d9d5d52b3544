"""Messages that tell the truth: the resume advice only when something was kept, a card that runs its checkpoint's
code announced before it loads, a full disk named by the folder being written."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import harness.run.runner
import harness.store.embeddings
from harness.cli import app
from tests.conftest import TINY_CORPUS, TINY_QRELS, TINY_QUERIES, write_beir
from tests.tiny_models import write_tiny_bert


def run(*args: str) -> object:
    return CliRunner().invoke(app, ["run", "--no-energy", "--latency-sample", "2", "--no-report", *args])


def error_line(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith("error:")]
    return line


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_beir(tmp_path / "tiny", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)


def dense_card(folder: Path, **fields: object) -> Path:
    path = folder / "tiny-dense.yaml"
    model = write_tiny_bert(folder / "bert")
    path.write_text(
        yaml.safe_dump({"name": "tiny-dense", "adapter": "dense", "parameters": {"path": str(model)}, **fields})
    )
    return path


def test_an_input_refused_before_any_work_does_not_advise_resuming(tiny: Path, tmp_path: Path) -> None:
    import torch

    refused = [
        ("--data", str(tiny), "--language", "en", "-m", "no-such-card"),
        ("--suite", "xquad", "-m", "bm25"),
    ]
    if not torch.cuda.is_available():
        refused.append(("--data", str(tiny), "--language", "en", "-m", "bm25", "--device", "cuda"))
    for arguments in refused:
        outcome = run(*arguments, "--results-dir", str(tmp_path / "results"))
        assert outcome.exit_code == 2, outcome.output
        line = error_line(outcome.output)
        assert "resume" not in line and "kept" not in line, line


def test_a_card_that_runs_its_checkpoints_code_says_so_before_it_loads(tiny: Path, tmp_path: Path) -> None:
    card = dense_card(tmp_path, trust_remote_code=True)
    outcome = run("--data", str(tiny), "--language", "en", "-m", str(card), "--results-dir", str(tmp_path / "r"))
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.output.splitlines()
    note = f"note: card tiny-dense ({card}) sets trust_remote_code: true; the checkpoint's own Python code will run"
    assert lines.count(note) == 1, outcome.output
    first_encoding = next(n for n, line in enumerate(lines) if line.startswith("encode documents"))
    assert lines.index(note) < first_encoding


def test_a_full_disk_under_the_store_names_the_shard_folder(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")  # a failed write names no file

    monkeypatch.setattr(harness.store.embeddings, "write_shard_arrays", full)
    cache = tmp_path / "cache"
    card = dense_card(tmp_path)
    outcome = run("--data", str(tiny), "--language", "en", "-m", str(card), "--cache-dir", str(cache))
    assert outcome.exit_code == 1, outcome.output
    store = re.escape(str(cache / "embeddings"))
    shard = rf"{store}/tiny-dense-[0-9a-f]+/document\.en\.[0-9a-f]+\.n6\.s256/shard-000000"
    assert re.fullmatch(rf"error: {shard}: No space left on device", error_line(outcome.output)), outcome.output
    assert not list(cache.rglob("*.tmp")) and not list(cache.rglob("shard-*"))


def test_a_full_disk_under_the_results_names_the_results_folder(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(harness.run.runner, "write_result", full)
    results = tmp_path / "results"
    outcome = run("--data", str(tiny), "--language", "en", "-m", "bm25", "--results-dir", str(results))
    assert outcome.exit_code == 1, outcome.output
    named = re.fullmatch(r"error: (\S+): No space left on device", error_line(outcome.output))
    assert named and Path(named[1]).is_relative_to(results) and Path(named[1]).name == "bm25", outcome.output
