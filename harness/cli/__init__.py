"""The `harness` command line: run models on suites, list what exists, render leaderboards.

Commands parse options into library calls (a `RunRequest` for run, sweep and fuse), show progress and
print; the work is done below. May import: every package.
"""

from __future__ import annotations

import typer

from harness.cli import cache, card, compare, distill, explain, export, fetch, fuse, gate, listing, report, run, sweep

app = typer.Typer(
    name="harness",
    help=(
        "Benchmark multilingual retrievers on effectiveness and cost.\n\n"
        "Start with `harness run` (the bundled demo suite, offline), then `harness list suites` "
        "and `harness list models` to see what else you can run."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
app.command("run")(run.run_command)
app.command("report")(report.report_command)
app.command("fetch")(fetch.fetch_command)
app.command("compare")(compare.compare_command)
app.command("fuse")(fuse.fuse_command)
app.command("gate")(gate.gate_command)
app.command("export")(export.export_command)
app.command("sweep")(sweep.sweep_command)
app.command("explain")(explain.explain_command)
app.command("card")(card.card_command)
app.add_typer(listing.app, name="list")
app.add_typer(distill.app, name="distill")
app.add_typer(cache.app, name="cache")


def main() -> None:
    app()
