"""The `harness` command line: run models on suites, list what exists, render leaderboards.

Commands parse options into library calls (a `RunRequest` for run, sweep and fuse), show progress and
print; the work is done below. May import: every package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from harness.cli import cache, card, compare, distill, explain, export, fetch, fuse, gate, listing, report, run, sweep


def _flags_without_type(params: Sequence[Any]) -> None:
    """A flag takes no value, so its help row names no type (typer's rich help writes `<bool>` for one)."""
    for param in params:
        if param.param_type_name == "option" and getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""


class FlagGroup(TyperGroup):
    """The command groups: their flags, and those of every command they hold, shown as plain flags in `--help`."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _flags_without_type(params)
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _flags_without_type(command.get_params(ctx))
        return command


app = typer.Typer(
    name="harness",
    cls=FlagGroup,
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
app.add_typer(listing.app, name="list", cls=FlagGroup)
app.add_typer(distill.app, name="distill", cls=FlagGroup)
app.add_typer(cache.app, name="cache", cls=FlagGroup)


def main() -> None:
    app()
