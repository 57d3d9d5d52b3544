"""`harness fetch`: bring a suite's data onto this machine, for offline and air-gapped runs later."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from harness.cli.common import comma_list, console, error_console, reported_errors
from harness.core.errors import SourceUnavailableError


def fetch_command(
    suite: Annotated[str, typer.Option("--suite", "-s", help="Suite name (see `harness list suites`) or YAML path.")],
    languages: Annotated[
        str | None, typer.Option("--languages", help="Only these languages, comma-separated (e.g. `sw,te`).")
    ] = None,
    datasets: Annotated[str | None, typer.Option("--datasets", help="Only these datasets, comma-separated.")] = None,
    suites_dir: Annotated[
        list[Path] | None, typer.Option("--suites-dir", help="Extra folder of suite YAML files.")
    ] = None,
) -> None:
    """Download a suite's datasets into the local caches, on a machine with network.

    Hugging Face datasets go to the Hugging Face cache (`HF_HOME`, default `~/.cache/huggingface`),
    ir_datasets ones to `IR_DATASETS_HOME` (default `~/.ir_datasets`). Copy those folders to an
    air-gapped machine (same variables) and `harness run` reads them without network.

    Examples:

    * `harness fetch --suite miracl --languages sw,te`
    * `harness fetch --suite beir --datasets scifact,nfcorpus`
    """
    with reported_errors():
        from harness.catalog.suites import load_suite

        chosen = load_suite(suite, suites_dir or [])
        units = chosen.units(comma_list(languages), comma_list(datasets))
        for unit in units:
            label = f"{chosen.name}/{unit.dataset.name} ({unit.languages.label}, {unit.split})"
            error_console.print(f"fetching {escape(label)} …", highlight=False)
            try:
                summary = unit.source.fetch(unit.dataset.name, unit.languages, unit.split)
            except SourceUnavailableError as error:
                raise SourceUnavailableError(
                    f"{label}: {error}. `harness fetch` needs network; on an air-gapped machine copy the caches "
                    "from one that ran it, or use `harness run --local` (see docs/suites.md)"
                ) from None
            console.print(f"[green]ready[/] {escape(label)}: {escape(summary)}", highlight=False)
