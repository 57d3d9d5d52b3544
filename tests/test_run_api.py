"""The run API (`harness.run`): a frozen `RunRequest` and `run()`, the one call under `harness run` and any
Python caller."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.core.errors import InputError
from harness.record import EnergySettings
from harness.run import RunEvents, RunRequest, run


def request_for(data: Path, results: Path, **changes: object) -> RunRequest:
    base = RunRequest(
        data=data,
        language="en",
        models=["bm25"],
        energy=EnergySettings(enabled=False),
        latency_sample=5,
        results_dir=results,
    )
    return dataclasses.replace(base, **changes)


def without_measured(path: Path) -> dict:
    record = json.loads(path.read_text())
    record.pop("measured")
    return record


def test_a_request_cannot_change_once_made(tmp_path: Path) -> None:
    request = request_for(tmp_path, tmp_path, languages=["en"], local={"x": str(tmp_path)})
    assert request.models == ("bm25",) and request.languages == ("en",)
    assert request.local["x"] == tmp_path
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.k = 10  # type: ignore[misc]
    with pytest.raises(TypeError):
        request.local["y"] = tmp_path  # type: ignore[index]


def test_run_from_python_writes_what_the_command_writes(tiny_beir: Path, tmp_path: Path) -> None:
    outcome = run(request_for(tiny_beir, tmp_path / "api"))
    [path] = outcome.results
    assert path.is_file() and path.is_relative_to(tmp_path / "api")
    assert outcome.reports == ()
    options = ["--data", str(tiny_beir), "--language", "en", "-m", "bm25", "--no-energy", "--latency-sample", "5"]
    command = CliRunner().invoke(app, ["run", *options, "--results-dir", str(tmp_path / "cli"), "--no-report"])
    assert command.exit_code == 0, command.output
    [written] = (tmp_path / "cli").rglob("*.json")
    assert written.name == path.name
    assert without_measured(written) == without_measured(path)


def test_a_rerun_keeps_the_result_and_says_so(tiny_beir: Path, tmp_path: Path) -> None:
    first = run(request_for(tiny_beir, tmp_path))
    kept: list[Path] = []
    written: list[Path] = []
    second = run(request_for(tiny_beir, tmp_path), RunEvents(on_kept=kept.append, on_result=written.append))
    assert second.results == first.results == tuple(kept)
    assert written == []


def test_a_suite_is_named_or_given_by_path(tmp_path: Path) -> None:
    from harness.catalog.suites import default_suites_dir
    from harness.run.api import select_suite

    by_path = select_suite(RunRequest(suite=default_suites_dir() / "demo.yaml"))
    assert by_path.spec.name == select_suite(RunRequest()).spec.name == "demo"


def test_a_report_dir_renders_the_leaderboard(tiny_beir: Path, tmp_path: Path) -> None:
    outcome = run(request_for(tiny_beir, tmp_path / "results", report_dir=tmp_path / "reports"))
    assert {path.name for path in outcome.reports} == {"index.html", "leaderboard.md", "leaderboard.tex"}


def test_data_without_a_language_is_read_as_english_and_said(tiny_beir: Path, tmp_path: Path) -> None:
    notes: list[str] = []
    [path] = run(request_for(tiny_beir, tmp_path, language=None), RunEvents(on_note=notes.append)).results
    assert notes == ["no --language given; analysing the data as English (en)"]
    assert json.loads(path.read_text())["language"] == "en"


def test_a_bad_request_is_refused_before_any_work(tiny_beir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError) as refused:
        run(request_for(tiny_beir, tmp_path / "results", k=20_000))
    assert refused.value.key == "--k"
    assert not (tmp_path / "results").exists()


def test_a_bare_local_folder_needs_one_selected_dataset(tmp_path: Path) -> None:
    from harness.catalog.suites import load_suite
    from harness.run.api import local_folders

    suite = load_suite("beir")
    with pytest.raises(InputError, match="say which dataset"):
        local_folders(RunRequest(suite="beir", local={None: tmp_path}), suite)
    chosen = RunRequest(suite="beir", datasets=["scifact"], local={None: tmp_path})
    assert local_folders(chosen, suite) == {"scifact": tmp_path}
