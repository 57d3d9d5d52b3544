"""`harness report`: render the leaderboard from recorded results."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from harness.cli.common import console, reported_errors
from harness.core.errors import InputError


class ReportFormat(str, Enum):
    html = "html"
    md = "md"
    tex = "tex"


def report_command(
    results_dir: Annotated[Path, typer.Option(help="Folder of result JSON files (searched recursively).")] = Path(
        "results"
    ),
    out: Annotated[
        Path, typer.Option("--out", help="Folder for index.html, leaderboard.md and leaderboard.tex.")
    ] = Path("reports"),
    formats: Annotated[
        list[ReportFormat] | None,
        typer.Option("--format", help="Only these formats (repeatable). Default: html, md and tex."),
    ] = None,
    title: Annotated[str | None, typer.Option(help="Title of the page and tables.")] = None,
    suites_dir: Annotated[
        list[Path] | None,
        typer.Option("--suites-dir", help="Extra folder of suite YAML files (for the averages a suite declares)."),
    ] = None,
) -> None:
    """Render the leaderboard from `results/`: one self-contained HTML page, Markdown and LaTeX.

    Per suite: models x languages on the suite's metric with averages (and the averages the suite's
    YAML declares, such as BEIR's with CQADupStack counted once), ranks and the published
    value where a card records one; cost (index size, throughput, latency, QPS, energy, emissions,
    hardware); charts of effectiveness against latency, index size and emissions with the Pareto
    front; cross-lingual matrices; sparsity-sweep curves; the provenance of every result.
    The HTML page needs no network: styles, script and charts are inline.
    """
    with reported_errors():
        from harness.record import load_results
        from harness.reporting import render_reports
        from harness.run.checks import check_output_folder

        check_output_folder(out, "--out")
        if not results_dir.is_dir():
            raise InputError("results folder not found; run `harness run` first", path=results_dir)
        results = load_results(results_dir)
        if not results:
            raise InputError("no results to report; run `harness run` first", path=results_dir)
        chosen = [f.value for f in formats] if formats else ["html", "md", "tex"]
        for path in render_reports(results, out, chosen, title, suites_dir or []):
            console.print(f"wrote [bold]{escape(str(path))}[/]")
