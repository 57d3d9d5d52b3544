"""`harness list suites|models`: what can be run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from harness.cli.common import console, reported_errors

if TYPE_CHECKING:
    from harness.suite import DatasetSpec, Suite

app = typer.Typer(help="List the suites and model cards harness knows about.", no_args_is_help=True)

SuitesDir = Annotated[list[Path] | None, typer.Option("--suites-dir", help="Extra folder of suite YAML files.")]
CardsDir = Annotated[list[Path] | None, typer.Option("--cards-dir", help="Extra folder of model cards.")]


def cached_languages(suite: Suite, dataset: DatasetSpec) -> str:
    from harness.data.sources import make_source

    """Which of a dataset's language pairs are on this machine, checked without network."""
    source = make_source(dataset.source, suite.base_dir, suite.path)
    split = dataset.split or suite.spec.split
    status = {pair.label: source.cache_status(dataset.name, pair, split) for pair in dataset.pairs()}
    if all(value is None for value in status.values()):
        return "unknown"
    cached = [label for label, value in status.items() if value]
    if len(cached) == len(status):
        return "all"
    return ", ".join(cached) if cached else "none"


@app.command("suites")
def list_suites(
    suites_dir: SuitesDir = None,
    cache: Annotated[bool, typer.Option(help="Check which datasets are already on this machine.")] = True,
) -> None:
    """Suites: their datasets, languages, sizes, official metrics, and what is cached locally."""
    with reported_errors():
        from harness.suite import load_suite_file, suite_paths

        table = Table(title="Suites", show_lines=True)
        for column in ("suite", "dataset", "languages", "split", "metrics", "size", "cached"):
            table.add_column(column, overflow="fold")
        for name, path in suite_paths(suites_dir or []).items():
            suite = load_suite_file(path)
            for dataset in suite.spec.datasets:
                metrics = dataset.metrics or suite.spec.metrics
                cells = (
                    name,
                    dataset.name + ("" if dataset.default else " (on request)"),
                    ", ".join(pair.label for pair in dataset.pairs()),
                    dataset.split or suite.spec.split,
                    ", ".join(metrics),
                    dataset.size,
                    cached_languages(suite, dataset) if cache else "–",
                )
                table.add_row(*(escape(cell) for cell in cells))
        console.print(table)


@app.command("models")
def list_models(cards_dir: CardsDir = None) -> None:
    """Model cards: name, adapter and what the card says about the model."""
    with reported_errors():
        from harness.cards import card_paths, load_card_file

        table = Table(title="Model cards", show_lines=False)
        for column in ("card", "adapter", "description"):
            table.add_column(column, overflow="fold")
        for name, path in card_paths(cards_dir or []).items():
            card = load_card_file(path)
            table.add_row(escape(name), escape(card.adapter), escape(card.description))
        console.print(table)
