"""`harness export`: recorded results in other tools' formats (MTEB result JSON, TREC run files)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from harness.cli.common import console, error_console, reported_errors
from harness.core.errors import InputError


class ExportFormat(str, Enum):
    mteb = "mteb"
    trec = "trec"


def export_command(
    to: Annotated[
        ExportFormat,
        typer.Argument(metavar="TO", help="`mteb`: MTEB's results-repository JSON; `trec`: TREC runs."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    results_dir: Annotated[Path, typer.Option(help="Folder of result JSON files (searched recursively).")] = Path(
        "results"
    ),
    suite: Annotated[list[str] | None, typer.Option("--suite", "-s", help="Only this suite (repeatable).")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Only this model (repeatable).")] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Only the results of this `harness run --data` folder.")
    ] = None,
    language: Annotated[str | None, typer.Option("--language", help="With --data: its language (default en).")] = None,
    tag: Annotated[
        str | None,
        typer.Option(help="TREC only: run name for the last column (default: the result's label, as one token)."),
    ] = None,
) -> None:
    """Export results: MTEB result JSON (`<model>/<revision>/<Task>.json`, loadable by `mteb`) or plain
    TREC run files (`<suite>/<model>/<dataset>.<language>.<split>.trec`, for trec_eval or ranx).

    Examples:

    * `harness export mteb --out mteb-results`
    * `harness export trec --out runs --suite demo -m bm25`
    * `harness export trec --out runs --data ../shared/data/beir-scifact --language en`
    """
    with reported_errors():
        from harness.results import export_mteb, export_trec, load, matches_model, mteb_exportable
        from harness.run.checks import check_output_folder
        from harness.run.local_data import data_selection, results_of_data

        check_output_folder(out, "--out")
        results = [
            stored
            for stored in load(results_dir)
            if (not suite or stored.record.suite in suite) and (not model or matches_model(stored.record, model))
        ]
        results = results_of_data(results, data_selection(data, language, results_dir))
        if not results:
            raise InputError("no results match", path=results_dir)
        if to is ExportFormat.mteb:
            written = export_mteb(results, out)
            left_out = sum(stored.record.sampled for stored in results if not mteb_exportable(stored.record))
            if left_out:
                error_console.print(
                    f"note: {left_out} sampled result(s) left out: MTEB's files hold full-dataset scores "
                    "(rerun without --max-queries/--corpus-sample to export them)",
                    highlight=False,
                )
        else:
            written = export_trec(results, out, tag)
        for path in written:
            console.print(f"wrote {escape(str(path))}", highlight=False)
