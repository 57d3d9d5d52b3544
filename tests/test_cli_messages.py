"""What the command line says about itself: help that shows flags as flags, errors that blame an argument by
its own name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from harness.cli import app

runner = CliRunner()


def command_paths(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under `group`, as the words that invoke it."""
    paths = [path]
    for name, command in sorted(getattr(group, "commands", {}).items()):
        paths += command_paths(command, (*path, name))
    return paths


COMMANDS = command_paths(typer.main.get_command(app))


def test_every_command_is_checked() -> None:
    assert {("run",), ("gate",), ("list", "suites"), ("cache", "prune"), ()} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "harness")
def test_help_shows_no_bool_placeholder(path: tuple[str, ...]) -> None:
    outcome = runner.invoke(app, [*path, "--help"])
    assert outcome.exit_code == 0, outcome.output
    assert "<bool>" not in outcome.output


def test_run_help_shows_boolean_options_as_flags() -> None:
    rows = [row for row in runner.invoke(app, ["run", "--help"]).output.splitlines() if "--maxp" in row]
    assert rows and rows[0].split()[1:4] == ["--maxp", "--no-maxp", "Split"]  # no type between flag and help


def test_an_unknown_card_is_blamed_on_the_model_argument() -> None:
    outcome = runner.invoke(app, ["card", "no-such-model"])
    assert outcome.exit_code == 2
    assert "[MODEL]: unknown model 'no-such-model'" in outcome.output and "--model" not in outcome.output


def test_every_argument_is_named_as_its_usage_line_and_its_errors_spell_it() -> None:
    root = typer.main.get_command(app)
    for path in COMMANDS:
        command = root
        for word in path:
            command = command.commands[word]
        for param in command.params:
            if param.param_type_name == "argument":
                assert param.metavar and param.metavar.isupper(), (path, param.name)


def test_compare_blames_unknown_models_on_the_models_argument(tmp_path: Path) -> None:
    outcome = runner.invoke(app, ["compare", "a", "b", "--results-dir", str(tmp_path)])
    assert outcome.exit_code == 2
    assert "[MODELS]: no results for a, b" in outcome.output


def test_export_names_its_format_argument_to() -> None:
    outcome = runner.invoke(app, ["export", "csv", "--out", "x"])
    assert outcome.exit_code == 2
    assert "Invalid value for 'TO'" in outcome.output
