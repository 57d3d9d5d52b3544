"""`harness export`: recorded results in other tools' formats (MTEB result JSON, TREC run files)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from harness.cli.common import console, reported_errors
from harness.core.errors import InputError


class ExportFormat(str, Enum):
    mteb = "mteb"
    trec = "trec"


def export_command(
    to: Annotated[ExportFormat, typer.Argument(help="`mteb`: MTEB's results-repository JSON; `trec`: TREC runs.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    results_dir: Annotated[Path, typer.Option(help="Folder of result JSON files (searched recursively).")] = Path(
        "results"
    ),
    suite: Annotated[list[str] | None, typer.Option("--suite", "-s", help="Only this suite (repeatable).")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Only this model (repeatable).")] = None,
    tag: Annotated[
        str | None, typer.Option(help="TREC only: run name for the last column (default: the model name).")
    ] = None,
) -> None:
    """Export results: MTEB result JSON (`<model>/<revision>/<Task>.json`, loadable by `mteb`) or plain
    TREC run files (`<suite>/<model>/<dataset>.<language>.<split>.trec`, for trec_eval or ranx).

    Examples:

    * `harness export mteb --out mteb-results`
    * `harness export trec --out runs --suite demo -m bm25`
    """
    with reported_errors():
        from harness.results import export_mteb, export_trec, load
        from harness.run.checks import check_output_folder

        check_output_folder(out, "--out")
        results = [
            stored
            for stored in load(results_dir)
            if (not suite or stored.record.suite in suite) and (not model or stored.record.model.name in model)
        ]
        if not results:
            raise InputError("no results match", path=results_dir)
        written = export_mteb(results, out) if to is ExportFormat.mteb else export_trec(results, out, tag)
        for path in written:
            console.print(f"wrote {escape(str(path))}", highlight=False)
