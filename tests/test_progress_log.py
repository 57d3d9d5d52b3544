"""Progress that works in a log: plain timed lines when stderr is not a terminal, nothing with --quiet, and
other libraries' bars and info lines kept out unless --verbose."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.cli.progress import LogProgress, duration, library_chatter, progress_line
from tests.conftest import TINY_CORPUS, TINY_QRELS, TINY_QUERIES, scifact_cut, write_beir
from tests.tiny_models import WORDS, write_tiny_bert

# --- the line and its timing -----------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_line_gives_done_of_total_the_share_the_rate_and_the_eta() -> None:
    line = progress_line("encode documents scifact/en", 1024, 5183, "texts", rate=41.2)
    assert line == "encode documents scifact/en: 1,024/5,183 (19.8%) 41.2 texts/s, ETA 1m41s"


def test_a_finished_stage_says_what_it_took_instead_of_an_eta() -> None:
    line = progress_line("search x", 300, 300, "queries", rate=150.0, took_s=2.0)
    assert line == "search x: 300/300 (100.0%) 150.0 queries/s, took 2s"


@pytest.mark.parametrize(("seconds", "shown"), [(0.4, "0s"), (45, "45s"), (101, "1m41s"), (7380, "2h03m")])
def test_durations_are_short(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_a_stage_prints_at_its_start_every_interval_and_at_its_end() -> None:
    clock, lines = FakeClock(), []
    progress = LogProgress(lines.append, every_s=30, clock=clock)
    with progress.task("encode documents  bm25 · scifact · en", 5183) as advance:
        assert lines == ["encode documents bm25 · scifact · en: 0/5,183 (0.0%)"]
        clock.now += 10
        advance(400)
        assert len(lines) == 1  # 10 s in: too soon for a line
        clock.now += 20
        advance(800)
        assert lines[-1] == "encode documents bm25 · scifact · en: 1,200/5,183 (23.2%) 40.0 texts/s, ETA 1m40s"
        clock.now += 29
        advance(1160)
        assert len(lines) == 2  # 29 s after the last line
        clock.now += 1
        advance(0)
        assert lines[-1] == "encode documents bm25 · scifact · en: 2,360/5,183 (45.5%) 38.7 texts/s, ETA 1m13s"
        clock.now += 15
        advance(2823)
    assert lines[-1] == "encode documents bm25 · scifact · en: 5,183/5,183 (100.0%) 69.1 texts/s, took 1m15s"
    assert len(lines) == 4


def test_query_stages_count_queries() -> None:
    clock, lines = FakeClock(), []
    with LogProgress(lines.append, every_s=1, clock=clock).task("search            bm25 · demo · de", 50) as advance:
        clock.now += 2
        advance(10)
    assert lines[1:] == [
        "search bm25 · demo · de: 10/50 (20.0%) 5.0 queries/s, ETA 8s",
        "search bm25 · demo · de: 10/50 (20.0%) 5.0 queries/s, took 2s",
    ]


def test_a_stage_that_stops_early_prints_no_end_line() -> None:
    lines: list[str] = []
    with contextlib.suppress(KeyboardInterrupt), LogProgress(lines.append, clock=FakeClock()).task("build index x", 9):
        raise KeyboardInterrupt
    assert lines == ["build index x: 0/9 (0.0%)"]


# --- harness run with stderr in a file ----------------------------------------------------------------------

DOCUMENTS = 600


@pytest.fixture(scope="module")
def dense_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("card")
    path = root / "tiny-dense.yaml"
    card = {"name": "tiny-dense", "adapter": "dense", "parameters": {"path": str(write_tiny_bert(root / "bert"))}}
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    return path


def test_a_run_logged_to_a_file_prints_progress_lines_with_rates_and_an_eta(dense_card: Path, tmp_path: Path) -> None:
    corpus = [
        {"_id": f"d{i:05d}", "text": " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(40))}
        for i in range(DOCUMENTS)
    ]
    data = write_beir(tmp_path / "data", corpus, TINY_QUERIES, [("q1", "d00001", 1)])
    log = tmp_path / "stderr.log"
    argv = [
        sys.executable, "-m", "harness", "run", "--data", str(data), "--language", "en", "-m", str(dense_card),
        "--results-dir", str(tmp_path / "results"), "--cache-dir", str(tmp_path / "cache"), "--no-energy",
        "--latency-sample", "0", "--no-report", "--progress-every", "0",
    ]  # fmt: skip  (0: a line at every advance, so the count does not hang on this machine's speed)
    with log.open("w") as stderr:
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    text = log.read_text()
    assert done.returncode == 0, text
    stage = r"encode documents tiny-dense · \S+ · en"
    assert re.search(rf"^{stage}: 0/600 \(0\.0%\)$", text, re.M), text
    running = re.findall(rf"^{stage}: [\d,]+/600 \(\d+\.\d%\) [\d,]+\.\d texts/s, ETA (?:\d+m)?\d+s$", text, re.M)
    assert len(running) >= 2, text
    assert re.search(rf"^{stage}: 600/600 \(100\.0%\) [\d,]+\.\d texts/s, took (?:\d+m)?\d+s$", text, re.M), text
    assert re.search(r"^search tiny-dense · \S+ · en: 1/1 \(100\.0%\) [\d,]+\.\d queries/s, took", text, re.M), text
    assert "Loading weights" not in text  # transformers' bar is not ours to print
    assert "\r" not in text  # no bar redrawn in place
    assert re.search(r"^wrote \S+\.json$", text, re.M), text  # a path is whole on its line


@pytest.mark.slow  # all-MiniLM-L6-v2 on 1,000 SciFact passages: about a minute and a half on a 2-core machine
def test_a_minute_of_real_encoding_logged_to_a_file_shows_its_progress(
    shared_data: Path, minilm_path: Path, tmp_path: Path
) -> None:
    data = scifact_cut(shared_data / "beir-scifact", tmp_path / "scifact", documents=1000)
    log = tmp_path / "stderr.log"
    argv = [
        sys.executable, "-m", "harness", "run", "--data", str(data), "--language", "en", "-m", "all-minilm-l6-v2",
        "--results-dir", str(tmp_path / "results"), "--cache-dir", str(tmp_path / "cache"), "--no-energy",
        "--no-report", "--progress-every", "5",
    ]  # fmt: skip
    with log.open("w") as stderr:
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    text = log.read_text()
    assert done.returncode == 0, text
    stage = r"encode documents all-minilm-l6-v2 · \S+ · en"
    running = re.findall(rf"^{stage}: [\d,]+/1,000 \(\d+\.\d%\) [\d,]+\.\d texts/s, ETA (?:\d+m)?\d+s$", text, re.M)
    assert len(running) >= 3, text
    assert re.search(rf"^{stage}: 1,000/1,000 \(100\.0%\) [\d,]+\.\d texts/s, took (?:\d+m)?\d+s$", text, re.M), text
    assert "Loading weights" not in text and "\r" not in text


# --- --quiet and --verbose ------------------------------------------------------------------------------------


def run(*args: str) -> object:
    return CliRunner().invoke(app, ["run", "--no-energy", "--latency-sample", "2", "--no-report", *args])


def test_quiet_prints_no_progress_but_the_results(tmp_path: Path) -> None:
    data = write_beir(tmp_path / "tiny", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    common = ("--data", str(data), "--language", "en", "-m", "bm25")
    told = run(*common, "--results-dir", str(tmp_path / "told"))
    assert re.search(r"^search bm25 · \S+ · en: 3/3 ", told.output, re.M), told.output
    outcome = run(*common, "--results-dir", str(tmp_path / "quiet"), "-q")
    assert outcome.exit_code == 0, outcome.output
    assert not re.search(r"^(encode|build|search) ", outcome.output, re.M), outcome.output
    assert "wrote " in outcome.output and "Results" in outcome.output


def test_other_libraries_bars_print_only_with_verbose_and_are_back_as_they_were_after(
    dense_card: Path, tmp_path: Path
) -> None:
    from huggingface_hub.utils import are_progress_bars_disabled
    from transformers.utils import logging as transformers_logging

    before = (are_progress_bars_disabled(), transformers_logging.is_progress_bar_enabled())
    data = write_beir(tmp_path / "tiny", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    common = ("--data", str(data), "--language", "en", "-m", str(dense_card))
    plain = run(*common, "--results-dir", str(tmp_path / "plain"), "--cache-dir", str(tmp_path / "plain-store"))
    assert plain.exit_code == 0, plain.output
    assert "Loading weights" not in plain.output
    assert re.search(r"^encode documents tiny-dense · \S+ · en: 0/6 \(0\.0%\)$", plain.output, re.M), plain.output
    # The command decided for itself: a Python caller of the libraries finds their own settings again.
    assert (are_progress_bars_disabled(), transformers_logging.is_progress_bar_enabled()) == before
    assert logging.getLogger("ir_datasets").filters == logging.getLogger("codecarbon").filters == []
    loud = run(*common, "--results-dir", str(tmp_path / "loud"), "--cache-dir", str(tmp_path / "loud-store"), "-v")
    assert loud.exit_code == 0, loud.output
    assert "Loading weights" in loud.output


def test_ir_datasets_info_lines_are_dropped_for_the_command_and_kept_with_verbose() -> None:
    logger, heard = logging.getLogger("ir_datasets"), []
    handler = logging.Handler()
    handler.emit = lambda record: heard.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO  # as ir_datasets sets it on first use
    try:
        with library_chatter(verbose=False):
            logger.info("[starting] building docstore")
            logger.error("the download failed for good")
        with library_chatter(verbose=True):
            logger.info("[finished] building docstore")
        logger.info("after the command")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert heard == ["the download failed for good", "[finished] building docstore", "after the command"]
