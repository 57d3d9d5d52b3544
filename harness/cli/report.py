"""`harness report`: render the leaderboard from recorded results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from harness.cli.common import console, reported_errors
from harness.errors import InputError
from harness.record import load_results
from harness.report import render_reports


def report_command(
    results_dir: Annotated[Path, typer.Option(help="Folder of result JSON files (searched recursively).")] = Path(
        "results"
    ),
    out: Annotated[Path, typer.Option("--out", help="Folder for leaderboard.md and index.html.")] = Path("reports"),
) -> None:
    """Render a leaderboard (Markdown and a self-contained HTML page) from `results/`."""
    with reported_errors():
        if not results_dir.is_dir():
            raise InputError("results folder not found; run `harness run` first", path=results_dir)
        results = load_results(results_dir)
        if not results:
            raise InputError("no results to report; run `harness run` first", path=results_dir)
        for path in render_reports(results, out):
            console.print(f"wrote [bold]{escape(str(path))}[/]")
