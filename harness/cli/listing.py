"""`harness list suites|models|adapters`: what can be run, and where each adapter comes from."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harness.cli.arguments import argument
from harness.cli.common import console, reported_errors
from harness.core.errors import InputError

if TYPE_CHECKING:
    from harness.catalog.suites import DatasetSpec, Suite
    from harness.models.adapters import PluginAdapter

app = typer.Typer(help="List the suites, model cards and adapters harness knows about.", no_args_is_help=True)

SuitesDir = Annotated[list[Path] | None, typer.Option("--suites-dir", help="Extra folder of suite YAML files.")]
_SHOWN_LANGUAGES = 8

CardsDir = Annotated[list[Path] | None, typer.Option("--cards-dir", help="Extra folder of model cards.")]


def cached_languages(suite: Suite, dataset: DatasetSpec) -> str:
    """Which of a dataset's language pairs are on this machine, checked without network."""
    from harness.data.sources import make_source

    source = make_source(dataset.source, suite.base_dir, suite.path)
    split = dataset.split or suite.spec.split
    status = {pair.label: source.cache_status(dataset.name, pair, split) for pair in dataset.pairs()}
    if all(value is None for value in status.values()):
        return "unknown"
    cached = [label for label, value in status.items() if value]
    if len(cached) == len(status):
        return "all"
    return ", ".join(cached) if cached else "none"


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A rich table on a terminal; plain space-aligned columns otherwise, one line per row, so a pipe,
    a log or `grep` never sees a name broken across lines."""
    if console.is_terminal:
        from rich.table import Table

        table = Table(title=title)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        console.print(table)
        return
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]
    for row in [columns, *rows]:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _languages(suite: Suite) -> str:
    labels = list(dict.fromkeys(pair.label for dataset in suite.spec.datasets for pair in dataset.pairs()))
    shown = ", ".join(labels[:_SHOWN_LANGUAGES]) + (", …" if len(labels) > _SHOWN_LANGUAGES else "")
    return f"{len(labels)}: {shown}"


def _dataset_size(dataset: DatasetSpec) -> str:
    """What the suite file says of a dataset's size: its text, else its document count, else `unknown`."""
    if dataset.size:
        return dataset.size
    return f"{dataset.documents:,} documents" if dataset.documents is not None else "unknown"


def _size(suite: Suite) -> str:
    """The size of what the suite runs by default: one dataset's own size, else the range of the stated
    document counts (naming the datasets without one), else a pointer to the per-dataset listing."""
    datasets = [d for d in suite.spec.datasets if d.default] or suite.spec.datasets
    if len(datasets) == 1:
        return _dataset_size(datasets[0])
    counts = [d.documents for d in datasets if d.documents is not None]
    if not counts:
        stated = any(d.size for d in datasets)
        return f"per dataset: `harness list suites {suite.name}`" if stated else "unknown"
    low, high = min(counts), max(counts)
    text = (f"{low:,}" if low == high else f"{low:,} to {high:,}") + " documents per dataset"
    unknown = [d.name for d in datasets if d.documents is None]
    return text + (f" ({', '.join(unknown)}: unknown)" if unknown else "")


def _suite_row(suite: Suite) -> list[str]:
    datasets = suite.spec.datasets
    on_request = sum(not d.default for d in datasets)
    splits = dict.fromkeys([suite.spec.split, *(d.split for d in datasets if d.split)])
    metrics = dict.fromkeys(m for d in datasets for m in (d.metrics or suite.spec.metrics))
    return [
        suite.name,
        f"{len(datasets)}" + (f" ({on_request} on request)" if on_request else ""),
        _languages(suite),
        ", ".join(splits),
        ", ".join(metrics),
        _size(suite),
    ]


@app.command("suites")
def list_suites(
    name: Annotated[str | None, typer.Argument(metavar="NAME", help="A suite: list its datasets one row each.")] = None,
    suites_dir: SuitesDir = None,
    cache: Annotated[bool, typer.Option(help="With NAME: check which datasets are already on this machine.")] = True,
) -> None:
    """Suites, one row each (datasets, languages, split, metrics, size); `harness list suites NAME` lists
    that suite's datasets with their languages, sizes, metrics and what is cached locally."""
    with reported_errors():
        from harness.catalog.suites import load_suite, load_suite_file, suite_paths

        if name is None:
            suites = [load_suite_file(path) for path in suite_paths(suites_dir or []).values()]
            columns = ("suite", "datasets", "languages", "split", "metrics", "size")
            print_table(
                "Suites (`harness list suites NAME` for a suite's datasets)", columns, [_suite_row(s) for s in suites]
            )
            return
        with argument("NAME", "--suite"):
            suite = load_suite(name, suites_dir or [])
        rows = []
        for dataset in suite.spec.datasets:
            rows.append(
                [
                    dataset.name + ("" if dataset.default else " (on request)"),
                    ", ".join(pair.label for pair in dataset.pairs()),
                    dataset.split or suite.spec.split,
                    ", ".join(dataset.metrics or suite.spec.metrics),
                    _dataset_size(dataset),
                    cached_languages(suite, dataset) if cache else "–",
                ]
            )
        print_table(f"Suite {suite.name}", ("dataset", "languages", "split", "metrics", "size", "cached"), rows)


def _origin_cell(adapter: str, origins: dict[str, str]) -> str:
    """Where a card's adapter comes from, in brief; a card naming no usable adapter does not fail the listing."""
    from harness.models.adapters import adapter_origin

    if adapter not in origins:
        try:
            origins[adapter] = adapter_origin(adapter, brief=True)
        except InputError:
            origins[adapter] = "unknown or ambiguous (see `harness list adapters`)"
    return origins[adapter]


@app.command("models")
def list_models(cards_dir: CardsDir = None) -> None:
    """Model cards: name, adapter, where the adapter comes from and what the card says about the model.

    A checkpoint needs no card: `harness run -m path/to/checkpoint` or `-m hf:ORG/NAME` reads one from its
    files (`harness card` prints it)."""
    with reported_errors():
        from harness.catalog.cards import card_paths, load_card_file

        rows = []
        origins: dict[str, str] = {}
        for name, path in card_paths(cards_dir or []).items():
            card = load_card_file(path)
            rows.append([name, card.adapter, _origin_cell(card.adapter, origins), card.description])
        print_table("Model cards", ("card", "adapter", "adapter from", "description"), rows)


def _family(name: str) -> str:
    """An adapter's class attribute `family` (`per card` when the card decides it): the adapter is imported,
    no weights are loaded."""
    from harness.models.adapters import adapter_class

    return getattr(adapter_class(name), "family", None) or "per card"


def _plugin_row(plugin: PluginAdapter) -> list[str]:
    """A declaration is imported for its family only when a card could name it and it loads."""
    from harness.models.adapters import plugin_problem

    problem = plugin.clash or plugin_problem(plugin)
    if problem:
        return [plugin.name, "–", plugin.origin, problem]
    return [plugin.name, _family(plugin.name), plugin.origin, ""]


@app.command("adapters")
def list_adapters() -> None:
    """Adapters a card can name: built-in ones and those installed packages declare (entry-point group
    `harness.adapters`), with their family, origin and any clash or failure to load."""
    with reported_errors():
        from harness.models.adapters import BUILT_IN, builtin_names, plugin_adapters

        rows = [[name, _family(name), BUILT_IN, ""] for name in builtin_names()]
        rows += [_plugin_row(plugin) for plugin in sorted(plugin_adapters(), key=lambda p: (p.name, p.package))]
        print_table("Adapters", ("adapter", "family", "origin", "note"), rows)
