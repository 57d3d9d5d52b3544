"""`harness compare`: paired significance tests of models against a baseline, per dataset and language."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from harness.cli.arguments import argument
from harness.cli.common import console, error_console, log_console, reported_errors

if TYPE_CHECKING:
    from harness.results.compare import Comparison


class Test(str, Enum):
    student = "student"
    fisher = "fisher"


def _table(comparison: Comparison, metric: str) -> Table:
    from harness.reporting.render import number, p_value, signed

    table = Table(
        title=f"{metric} on {escape(comparison.datasets)}: against {escape(comparison.baseline)}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("dataset/language" if comparison.show_dataset else "language", no_wrap=True)
    table.add_column(escape(comparison.baseline), justify="right", no_wrap=True)
    for model in comparison.models[1:]:
        table.add_column(escape(model), justify="right", no_wrap=True, overflow="fold")
        table.add_column("Δ", justify="right", no_wrap=True, min_width=8)
        for test in comparison.tests:
            table.add_column(f"p {test}", justify="right", no_wrap=True)
        table.add_column("W/T/L", justify="right", no_wrap=True)
    for unit in comparison.units:
        cells = [escape(comparison.label(unit)), number(comparison.scores[(comparison.baseline, unit, metric)])]
        for model in comparison.models[1:]:
            result = comparison.result(model, unit, metric)
            mark = result.mark(comparison.mark_test)
            style = "green" if mark == "▲" else "red" if mark == "▼" else "default"
            cells += [
                number(result.score),
                f"[{style}]{signed(result.delta)}{mark}[/]" if mark else signed(result.delta),
                *(p_value(result.tests[test].p_adjusted) for test in comparison.tests),
                f"{result.wins}/{result.ties}/{result.losses}",
            ]
        table.add_row(*cells)
    average = comparison.average(comparison.baseline, metric)
    footer = ["[bold]average[/]", number(average)]
    for model in comparison.models[1:]:
        mean = comparison.average(model, metric)
        footer += [number(mean), signed(mean - average), *("" for _ in comparison.tests), ""]
    table.add_row(*footer, end_section=True)
    return table


def compare_command(
    models: Annotated[
        list[str],
        typer.Argument(
            metavar="MODELS",
            help="Models as recorded in the results, the baseline first: a result's label (`bm25 [50 queries]`) or a "
            "model's name when its results have one label.",
        ),
    ],
    suite: Annotated[
        list[str] | None,
        typer.Option("--suite", "-s", help="Only results of this suite; repeat for several. Default: every suite."),
    ] = None,
    results_dir: Annotated[Path, typer.Option(help="Folder of result JSON files (searched recursively).")] = Path(
        "results"
    ),
    data: Annotated[
        Path | None, typer.Option("--data", help="Only the results of this `harness run --data` folder.")
    ] = None,
    language: Annotated[str | None, typer.Option("--language", help="With --data: its language (default en).")] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="Metric to test; repeat for several. Default: the suites' primary metric."),
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level, after Holm-Bonferroni correction.")] = 0.05,
    test: Annotated[
        list[Test] | None,
        typer.Option("--test", help="Paired tests to run (repeatable). Default: both student and fisher."),
    ] = None,
    mark: Annotated[Test, typer.Option(help="The test whose outcome draws the ▲/▼ marks.")] = Test.student,
    permutations: Annotated[
        int, typer.Option(min=100, help="Permutations of the randomization (fisher) test.")
    ] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the randomization test's permutations.")] = 42,
    out: Annotated[Path, typer.Option("--out", help="Folder for comparison.md, .html, .tex and .json.")] = Path(
        "reports/compare"
    ),
    write: Annotated[bool, typer.Option(help="Write the report files (the table is always printed).")] = True,
) -> None:
    """Test whether models differ significantly from a baseline, dataset by dataset and language by language.

    Uses the per-query scores every result recorded (trec_eval -c protocol): a two-sided paired t-test
    (ranx) and Fisher's paired randomization test, Holm-Bonferroni corrected across the compared
    datasets/languages. ▲/▼ mark a model significantly better/worse than the baseline.

    Examples:

    * `harness compare bm25 all-minilm-l6-v2 --suite xquad`
    * `harness compare bm25 all-minilm-l6-v2 --data ../shared/data/beir-scifact --language en`
    * `harness compare bm25 all-minilm-l6-v2 multilingual-e5-small --suite beir --suite xquad --metric recall@100`
    """
    with reported_errors():
        from harness.reporting.render import COMPARISON_FORMATS, render_comparison
        from harness.results import load
        from harness.results.compare import compare
        from harness.run.local_data import data_selection, results_of_data

        stored = load(results_dir)
        stored = results_of_data(stored, data_selection(data, language, results_dir))
        records = [result.record for result in stored]
        tests = [t.value for t in test] if test else ["student", "fisher"]
        with argument("MODELS", "models"):
            comparison = compare(
                records,
                models,
                suites=suite,
                metrics=metric,
                alpha=alpha,
                tests=tests,
                mark_test=mark.value,
                permutations=permutations,
                seed=seed,
            )
        for name in comparison.metrics:
            log_console.print(_table(comparison, name))
        console.print(
            f"▲/▼: significant at α = {alpha} by the {mark.value} test after Holm-Bonferroni correction across "
            f"{len(comparison.units)} dataset/language(s); p-values shown are adjusted.",
            highlight=False,
        )
        for unit, missing in comparison.skipped:
            where, absent = escape(comparison.label(unit)), escape(", ".join(missing))
            error_console.print(f"[yellow]not compared:[/] {where} has no result for {absent}")
        if write:
            for path in render_comparison(comparison, out, tuple(COMPARISON_FORMATS)):
                console.print(f"wrote [bold]{escape(str(path))}[/]")
