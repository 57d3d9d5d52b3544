"""`harness list suites|models`: what can be run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from harness.cards import card_paths, load_card_file
from harness.cli.common import console, reported_errors
from harness.suite import load_suite_file, suite_paths

app = typer.Typer(help="List the suites and model cards harness knows about.", no_args_is_help=True)

SuitesDir = Annotated[list[Path] | None, typer.Option("--suites-dir", help="Extra folder of suite YAML files.")]
CardsDir = Annotated[list[Path] | None, typer.Option("--cards-dir", help="Extra folder of model cards.")]


@app.command("suites")
def list_suites(suites_dir: SuitesDir = None) -> None:
    """Suites: their datasets, languages, split and official metrics."""
    with reported_errors():
        table = Table(title="Suites", show_lines=True)
        for column in ("suite", "datasets", "languages", "split", "metrics", "description"):
            table.add_column(column, overflow="fold")
        for name, path in suite_paths(suites_dir or []).items():
            suite = load_suite_file(path)
            spec = suite.spec
            labels = sorted({pair.label for d in spec.datasets for pair in d.pairs()})
            cells = (
                name,
                ", ".join(d.name for d in spec.datasets),
                ", ".join(labels),
                spec.split,
                ", ".join(spec.metrics),
                spec.description,
            )
            table.add_row(*(escape(cell) for cell in cells))
        console.print(table)


@app.command("models")
def list_models(cards_dir: CardsDir = None) -> None:
    """Model cards: name, adapter and what the card says about the model."""
    with reported_errors():
        table = Table(title="Model cards", show_lines=False)
        for column in ("card", "adapter", "description"):
            table.add_column(column, overflow="fold")
        for name, path in card_paths(cards_dir or []).items():
            card = load_card_file(path)
            table.add_row(escape(name), escape(card.adapter), escape(card.description))
        console.print(table)
