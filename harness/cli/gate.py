"""`harness gate`: check fresh results against expected scores kept in YAML, with the exit code CI needs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from harness.cli.common import console, error_console, log_console, reported_errors
from harness.core.errors import InputError

if TYPE_CHECKING:
    from harness.results.gate import Check, GateReport

STYLES = {"OK": "green", "OKISH": "yellow", "FAIL": "bold red", "MISSING": "bold red"}  # by `Status` value


def _value(check: Check, value: float | None) -> str:
    if value is None:
        return "–"
    if check.quantity == "index_size_bytes":
        return f"{value:,.0f}"
    return f"{value:.4f}" if not check.relative else f"{value:.3f}"


def _deviation(check: Check) -> str:
    delta = check.delta
    if delta is None:
        return "–"
    from harness.reporting.render import signed

    return f"{delta:+.1%}" if check.relative else signed(delta)


def _tolerance(check: Check) -> str:
    return f"+{check.tolerance:.0%}" if check.relative else f"±{check.tolerance:g}"


def _tables(checks: Sequence[Check]) -> list[Table]:
    """One table per suite and model, status first and numbers never wrapped: fits a narrow CI log."""
    tables: dict[tuple[str, str], Table] = {}
    for check in checks:
        table = tables.get((check.suite, check.model))
        if table is None:
            table = Table(title=escape(f"{check.suite} · {check.model}"), title_justify="left", box=box.SIMPLE_HEAD)
            table.add_column("status", no_wrap=True)
            table.add_column("result", overflow="fold")
            table.add_column("quantity", overflow="fold")
            for name in ("expected", "actual", "Δ", "tolerance"):
                table.add_column(name, justify="right", no_wrap=True)
            tables[(check.suite, check.model)] = table
        table.add_row(
            f"[{STYLES[check.status.value]}]{check.status.value}[/]",
            escape(f"{check.dataset}/{check.language}"),
            escape(check.quantity),
            _value(check, check.expected),
            _value(check, check.actual),
            _deviation(check),
            _tolerance(check),
        )
    return list(tables.values())


def _counts(report: GateReport) -> str:
    """`132 checks: 130 OK, 1 OKISH, 1 FAIL`: the statuses that occur."""
    from harness.results.gate import Status

    counts = [f"{report.count(status)} {status.value}" for status in Status if report.count(status)]
    return f"{len(report.checks)} checks" + (f": {', '.join(counts)}" if counts else "")


def _summary_markdown(report: GateReport) -> str:
    """A Markdown table for CI job summaries (e.g. `--summary "$GITHUB_STEP_SUMMARY"`)."""
    from harness.reporting.render import markdown_cell
    from harness.results.gate import Status

    lines = [
        f"### harness gate: {'passed' if report.passed else 'FAILED'}",
        "",
        f"{report.count(Status.OK)} OK · {report.count(Status.OKISH)} OKISH · {report.count(Status.FAIL)} FAIL"
        f" · {report.count(Status.MISSING)} missing",
        "",
        "| suite | model | dataset | language | quantity | expected | actual | Δ | tolerance | status |",
        "|---|---|---|---|---|---:|---:|---:|---:|---|",
    ]
    for check in report.checks:
        parts = (check.suite, check.model, check.dataset, check.language, check.quantity)
        lines.append(
            "| "
            + " | ".join(
                [
                    *(markdown_cell(p) for p in parts),
                    _value(check, check.expected),
                    _value(check, check.actual),
                    _deviation(check),
                    _tolerance(check),
                    check.status.value,
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def gate_command(
    results_dir: Annotated[Path, typer.Option(help="Folder of result JSON files (searched recursively).")] = Path(
        "results"
    ),
    expected: Annotated[
        Path, typer.Option("--expected", help="Folder of expected scores, one `<suite>/<model>.yaml` each.")
    ] = Path("regressions"),
    suite: Annotated[
        list[str] | None, typer.Option("--suite", "-s", help="Only this suite (repeatable). Default: all.")
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Only this model (repeatable). Default: all.")
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Only the results of this `harness run --data` folder.")
    ] = None,
    language: Annotated[str | None, typer.Option("--language", help="With --data: its language (default en).")] = None,
    efficiency: Annotated[
        bool,
        typer.Option(
            "--efficiency",
            help="Also gate latency p50/p95 and index size growth (meaningful on a stable machine only); with "
            "--update, also record them (otherwise the expected ones are kept).",
        ),
    ] = False,
    allow_missing: Annotated[
        bool, typer.Option("--allow-missing", help="An expected result with no current result is not a failure.")
    ] = False,
    update_expected: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Rewrite the expected scores of --suite / -m (or --all) from the current results (after review).",
        ),
    ] = False,
    update_all: Annotated[
        bool, typer.Option("--all", help="With --update: rewrite the expectations of every result.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Print every check, OK ones too (default: only the others).")
    ] = False,
    summary: Annotated[
        Path | None,
        typer.Option(help='Append a Markdown summary to this file (e.g. "$GITHUB_STEP_SUMMARY").'),
    ] = None,
) -> None:
    """Check results against expected scores: per value OK, OKISH (within 1.5x tolerance) or FAIL.

    Expected scores are data, one YAML per suite and model (`regressions/<suite>/<model>.yaml`), with
    an absolute tolerance per metric. Prints what is not OK and a count of each status (`--verbose`: every
    check). Exit status: 0 when nothing fails (OKISH passes, with a warning), 1 when a value is beyond 1.5x
    its tolerance or an expected result is missing, 2 on bad input.

    `--update` rewrites only what `--suite` / `-m` / `--data` name (everything: `--all`), records latency and
    index size only with `--efficiency`, and refuses sampled results (`--max-queries`, `--corpus-sample`).

    Examples:

    * `harness gate` (after `harness run`): check every result that has expectations
    * `harness gate --update --suite demo`: record the current demo results as expected
    * `harness gate --efficiency`: also fail when latency or index size grew beyond tolerance
    * `harness gate --data ../shared/data/beir-scifact --language en`: the results of a `harness run --data` folder
    """
    with reported_errors():
        from harness.catalog.suites import LOCAL_SUITE
        from harness.results import load
        from harness.results.gate import Status, gate, load_expectations, update
        from harness.run.local_data import data_selection, results_of_data

        if update_all and not update_expected:
            raise InputError("--all goes with --update (a check covers every expectation already)", key="--all")
        if update_expected and not (suite or model or data or update_all):
            raise InputError(
                "say which expectations to rewrite: --suite NAME, -m MODEL, --data DIR or --all", key="--update"
            )
        selection = data_selection(data, language, results_dir)
        stored = results_of_data(load(results_dir), selection)
        if selection is not None:
            suite = [LOCAL_SUITE]
        if update_expected:
            for path in update(stored, expected, suite, model, efficiency=efficiency):
                console.print(f"wrote [bold]{escape(str(path))}[/]")
            return
        expectations = [e for _, e in load_expectations(expected, suite, model)]
        if selection is not None:  # only the entries of that folder's dataset and language
            expectations = [
                e.model_copy(update={"results": [r for r in e.results if (r.dataset, r.language) == selection]})
                for e in expectations
            ]
        if not expectations:
            raise InputError(
                "no expected scores match; record them with `harness gate --update --suite NAME` (or -m MODEL)",
                path=expected,
            )
        records = [result.record for result in stored]
        report = gate(records, expectations, efficiency=efficiency, allow_missing=allow_missing)
        shown = report.checks if verbose else [check for check in report.checks if check.status is not Status.OK]
        for table in _tables(shown):
            log_console.print(table)
        for entry, record in report.changed_data:
            error_console.print(
                f"[yellow]note:[/] {escape(record.display_name)} on {escape(record.dataset)}/{escape(record.language)} "
                f"ran on different data than expected ({entry.checksum} -> {record.dataset_identity.get('checksum')})",
                highlight=False,
            )
        if report.unexpected:
            names = ", ".join(f"{r.display_name} {r.dataset}/{r.language}" for r in report.unexpected)
            error_console.print(
                f"[yellow]note:[/] {len(report.unexpected)} result(s) have no expected scores yet ({escape(names)}); "
                "record them with --update --suite or -m",
                highlight=False,
            )
        verdict = "[bold green]passed[/]" if report.passed else "[bold red]FAILED[/]"
        console.print(f"gate {verdict}: {_counts(report)}", highlight=False)
        if summary is not None:
            with summary.open("a", encoding="utf-8") as stream:
                stream.write(_summary_markdown(report))
    raise typer.Exit(report.exit_code)
