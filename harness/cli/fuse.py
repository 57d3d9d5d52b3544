"""`harness fuse`: rank fusion (ranx) of models' recorded runs, written as a result of its own."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from harness.cli.common import comma_list, console, error_console, reported_errors
from harness.cli.options import CorpusSampleOption, LocalOption, MaxQueriesOption, SeedOption, parse_local, sampling
from harness.core.errors import InputError


class Method(str, Enum):
    rrf = "rrf"
    combsum = "combsum"
    combmnz = "combmnz"
    wsum = "wsum"


class Norm(str, Enum):
    min_max = "min-max"
    max = "max"
    sum = "sum"
    zmuv = "zmuv"
    rank = "rank"
    borda = "borda"
    none = "none"


def _weights(text: str | None) -> tuple[float, ...] | None:
    values = comma_list(text)
    if values is None:
        return None
    try:
        return tuple(float(value) for value in values)
    except ValueError:
        raise InputError(f"weights must be numbers separated by commas, got {text!r}", key="--weights") from None


def fuse_command(
    model: Annotated[
        list[str],
        typer.Option("--model", "-m", help="A model whose recorded results to fuse; repeat for each (at least two)."),
    ],
    suite: Annotated[
        str | None,
        typer.Option("--suite", "-s", help="The suite the models were run on. Default: the bundled `demo` suite."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="The local BEIR folder the models were run on with `harness run --data`."),
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="With --data: its language, as given to `harness run`.")
    ] = None,
    method: Annotated[Method, typer.Option(help="ranx fusion method (combsum is ranx `sum`, combmnz `mnz`).")] = (
        Method.rrf
    ),
    norm: Annotated[
        Norm, typer.Option(help="ranx normalisation of each run's scores before fusing (ranx's default: min-max).")
    ] = Norm.min_max,
    weights: Annotated[
        str | None,
        typer.Option(help="wsum weights, one per --model in their order, e.g. `0.3,0.7`. Default: equal."),
    ] = None,
    rrf_k: Annotated[int, typer.Option("--rrf-k", help="RRF's k (Cormack et al. use 60).")] = 60,
    optimize: Annotated[
        bool,
        typer.Option(
            help="Tune the method's parameter (wsum weights, RRF k) with ranx's optimize_fusion on --tune-split."
        ),
    ] = False,
    tune_split: Annotated[
        str | None,
        typer.Option(help="Split to tune on (never the reported one); the models must have results on it."),
    ] = None,
    tune_metric: Annotated[
        str | None, typer.Option(help="ranx metric to tune for, e.g. ndcg@10. Default: the suite's primary metric.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Name of the fused result. Default: `<method>:<model>+<model>...`.")
    ] = None,
    languages: Annotated[str | None, typer.Option(help="Only these of the suite's languages, comma-separated.")] = None,
    datasets: Annotated[str | None, typer.Option(help="Only these of the suite's datasets, comma-separated.")] = None,
    local: LocalOption = None,
    max_queries: MaxQueriesOption = None,
    corpus_sample: CorpusSampleOption = None,
    seed: SeedOption = 0,
    results_dir: Annotated[
        Path, typer.Option(help="Where the models' results are, and where the fused ones are written.")
    ] = Path("results"),
    latency_sample: Annotated[
        int, typer.Option(min=0, help="Queries fused one at a time to measure the fusion's latency.")
    ] = 200,
    suites_dir: Annotated[
        list[Path] | None, typer.Option("--suites-dir", help="Extra folder of suite YAML files.")
    ] = None,
) -> None:
    """Fuse the recorded runs of several models with ranx, and record the fused run like a model's result.

    The qrels come from the suite or --data folder (give the same --local, --max-queries, --corpus-sample and
    --seed as the run; the components are the results computed on exactly that data). A model is named by its
    result's label (`bm25 [index seismic]`) or by its name when it has one label there (`bm25` for a quick
    run's `bm25 [50 queries]`). The fused result has metrics under harness's
    trec_eval protocol, per-query scores, its TREC run, its components and their summed cost, so it
    appears in `harness report` and `harness compare` like any model.

    Examples:

    * `harness fuse --suite demo -m bm25 -m all-minilm-l6-v2 --method rrf`
    * `harness fuse --suite xquad --local xquad=../shared/data/xquad -m bm25 -m all-minilm-l6-v2 --method wsum
      --weights 0.3,0.7`
    * `harness fuse --data ../shared/data/beir-scifact --language en -m bm25 -m all-minilm-l6-v2`
    * `harness fuse --suite beir --datasets scifact -m bm25 -m all-minilm-l6-v2 --method wsum --optimize
      --tune-split train` (the models run on train too)
    """
    with reported_errors():
        from rich.table import Table

        from harness.record import read_result
        from harness.results import fusion_of
        from harness.run import RunEvents, RunRequest, run_fusion
        from harness.run.fusion import FusionSpec

        if optimize and tune_split is None:
            raise InputError("--optimize needs --tune-split: the split to tune on", key="--tune-split")
        if tune_split is not None and not optimize:
            raise InputError("--tune-split is only read with --optimize", key="--tune-split")
        spec = FusionSpec(method.value, norm.value, _weights(weights), rrf_k)
        if optimize and weights is not None:
            raise InputError("give --weights or --optimize, not both", key="--weights")
        request = RunRequest(
            suite=suite,
            data=data,
            language=language,
            languages=comma_list(languages),
            datasets=comma_list(datasets),
            local=parse_local(local),
            models=model,
            sampling=sampling(max_queries, corpus_sample, seed),
            results_dir=results_dir,
            latency_sample=latency_sample,
            suites_dirs=suites_dir or (),
        )
        events = RunEvents(on_result=lambda path: error_console.print(f"wrote {escape(str(path))}", highlight=False))
        outcome = run_fusion(request, spec, name, tune_split, tune_metric, events)
        table = Table(title=f"{method.value} fusion", show_lines=False)
        for column in ("result", "dataset", "language", "metric", "fused", *model):
            table.add_column(escape(column), justify="right" if column in ("fused", *model) else "left")
        for path in outcome.results:
            record = read_result(path)
            info = fusion_of(record)
            assert info is not None
            scores = [
                read_result(results_dir / component.result).metrics.get(record.primary_metric)
                for component in info.components
            ]
            table.add_row(
                escape(record.display_name),
                escape(record.dataset),
                escape(record.language),
                escape(record.primary_metric),
                f"{record.metrics[record.primary_metric]:.4f}",
                *("–" if value is None else f"{value:.4f}" for value in scores),
            )
        console.print(table)
        console.print("Significance: `harness compare <component> <fused name>`; leaderboard: `harness report`.")
