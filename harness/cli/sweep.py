"""`harness sweep`: one sparse model, one encoding, many pruned indexes; a result record per point."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harness.cli.common import announce_results, comma_list, kept_results, log_console, reported_errors
from harness.cli.options import (
    DEFAULT_COUNTRY,
    DTYPE_HELP,
    CacheDirOption,
    CorpusSampleOption,
    Dtype,
    LocalOption,
    MaxQueriesOption,
    MetricsOption,
    NoCacheOption,
    PrecisionOption,
    RayOption,
    SeedOption,
    ShardSizeOption,
    StoredDtype,
    WorkersOption,
    cluster_settings,
    encode_settings,
    energy_settings,
    parse_local,
    sampling,
    say_note,
    store_settings,
)
from harness.cli.progress import (
    DEFAULT_EVERY_S,
    ProgressEveryOption,
    QuietOption,
    VerboseOption,
    command_progress,
    library_chatter,
)
from harness.core.errors import InputError

if TYPE_CHECKING:
    from rich.table import Table

    from harness.encode.pruning import Pruning


def _rules(specs: list[str], key: str) -> list[Pruning]:
    from harness.encode.pruning import parse_pruning_list

    rules: list[Pruning] = []
    for spec in specs:
        try:
            rules.extend(parse_pruning_list(spec))
        except ValueError as error:
            raise InputError(str(error), key=key) from None
    return list(dict.fromkeys(rules))


def _points_table(paths: list[Path]) -> Table:
    from rich.table import Table

    from harness.record import read_result
    from harness.results import sweep_of

    records = [read_result(path) for path in paths]
    table = Table(title="Pruning sweep (single-thread search)")
    for column in ("dataset", "language", "documents", "queries", "metric", "terms/doc", "terms/query"):
        table.add_column(column, justify="left" if column in {"dataset", "language"} else "right")
    for column in ("index size", "build s", "p50 ms", "p95 ms", "QPS"):
        table.add_column(column, justify="right")
    for record in records:
        sweep = sweep_of(record)
        assert sweep is not None  # every record the sweep writes has its `sweep` block
        latency = record.efficiency.search_latency_ms
        table.add_row(
            escape(record.dataset),
            escape(record.language),
            escape(sweep.pruning.documents),
            escape(sweep.pruning.queries),
            f"{record.primary_metric} {record.metrics.get(record.primary_metric, float('nan')):.4f}",
            f"{sweep.avg_active_terms_per_document:.1f}",
            f"{sweep.avg_active_terms_per_query:.1f}",
            f"{record.efficiency.index_size_bytes / 2**20:.1f} MiB",
            f"{record.efficiency.index_build_s:.2f}",
            f"{latency.get('p50', float('nan')):.2f}",
            f"{latency.get('p95', float('nan')):.2f}",
            f"{1000 / latency['p50']:.0f}" if latency.get("p50") else "–",
        )
    return table


def sweep_command(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="One sparse model: card name or path, or a checkpoint (folder or hf:ORG/NAME), e.g. `milco`.",
        ),
    ],
    prune: Annotated[
        list[str],
        typer.Option(
            "--prune",
            help=(
                "Document pruning points: `mass:0,10,30,50,60,95` (keep the heaviest terms up to P% of each "
                "vector's mass) or `topk:16,32,64` (keep K terms); 0 means unpruned. Repeat to combine."
            ),
        ),
    ],
    query_prune: Annotated[
        str, typer.Option("--query-prune", help="One rule applied to every query, e.g. `topk:32`.")
    ] = "none",
    suite: Annotated[str | None, typer.Option("--suite", "-s", help="Suite name or YAML path (default: demo).")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="A local BEIR folder instead of a suite.")] = None,
    language: Annotated[str | None, typer.Option("--language", help="Language of the --data folder.")] = None,
    languages: Annotated[str | None, typer.Option("--languages", help="Only these suite languages.")] = None,
    datasets: Annotated[str | None, typer.Option("--datasets", help="Only these suite datasets.")] = None,
    local: LocalOption = None,
    metrics: MetricsOption = None,
    max_queries: MaxQueriesOption = None,
    corpus_sample: CorpusSampleOption = None,
    seed: SeedOption = 0,
    index: Annotated[
        str | None,
        typer.Option(
            "--index",
            help="Index kind instead of the card's, optionally with parameters: `sparse-exact`, `seismic`, "
            "`seismic:n_postings=1000,query_cut=10` (a bare kind keeps the card's parameters for that kind).",
        ),
    ] = None,
    results_dir: Annotated[Path, typer.Option(help="Result root; points go to <suite>/<model>/sweep/<group>/.")] = Path(
        "results"
    ),
    k: Annotated[int | None, typer.Option("--k", min=1, help="Documents retrieved per query.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per encoding batch.")] = 32,
    device: Annotated[str, typer.Option(help="Encoding device: `auto`, `cpu`, `cuda`, ...")] = "auto",
    dtype: Annotated[Dtype, typer.Option(help=DTYPE_HELP)] = Dtype.float32,
    precision: PrecisionOption = None,
    max_query_length: Annotated[int | None, typer.Option(min=1, help="Query max length (tokens).")] = None,
    max_document_length: Annotated[int | None, typer.Option(min=1, help="Document max length (tokens).")] = None,
    energy: Annotated[bool, typer.Option(help="Measure each point's energy with CodeCarbon.")] = True,
    country: Annotated[str, typer.Option(help="ISO 3166 alpha-3 grid country.")] = DEFAULT_COUNTRY,
    latency_sample: Annotated[int, typer.Option(min=0, help="Queries timed one at a time per point.")] = 200,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    shard_size: ShardSizeOption = None,
    ray: RayOption = None,
    workers: WorkersOption = None,
    suites_dir: Annotated[list[Path] | None, typer.Option("--suites-dir", help="Extra suite folder.")] = None,
    cards_dir: Annotated[list[Path] | None, typer.Option("--cards-dir", help="Extra model card folder.")] = None,
    progress_every: ProgressEveryOption = DEFAULT_EVERY_S,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Trade effectiveness for efficiency after training: prune a sparse model's vectors at many levels.

    The model encodes each dataset once, through the embedding store (a sweep after `harness run`
    reuses its stored vectors); every pruning point then gets its own index, a
    single-thread search and latency probe, and a full result record (metrics, average active
    terms per document and query, index size, build time, latency p50/p95, QPS), stored under
    `<results-dir>/<suite>/<model>/sweep/<group>/` with the point's label in the file name; a
    later sweep adds a group and never overwrites an earlier one.

    Examples:

    * `harness sweep -m milco --suite demo --languages en --prune mass:0,10,30,50,60,95`
    * `harness sweep -m splade-v3 --data ../shared/data/beir-scifact --prune topk:0,16,32,64,128 --index seismic`
    """
    so_far: list[Path] = []  # said on an interrupt or a failure
    with reported_errors(kept=lambda: kept_results(so_far)), library_chatter(verbose):
        from harness.run import RunEvents, RunRequest, run_sweep
        from harness.run.sweep import SweepPlan

        cluster = cluster_settings(ray, workers)
        query_rules = _rules([query_prune], "--query-prune")
        if len(query_rules) != 1:
            raise InputError("--query-prune takes one rule, e.g. `topk:32`", key="--query-prune")
        plan = SweepPlan(_rules(prune, "--prune"), query_rules[0])
        request = RunRequest(
            suite=suite,
            data=data,
            language=language,
            languages=comma_list(languages),
            datasets=comma_list(datasets),
            local=parse_local(local),
            models=(model,),
            sampling=sampling(max_queries, corpus_sample, seed),
            metrics=comma_list(metrics),
            index=index,
            k=k,
            encode=encode_settings(batch_size, device, dtype, max_query_length, max_document_length, precision),
            store=store_settings(cache_dir, no_cache, shard_size, StoredDtype.float32),
            cluster=cluster,
            energy=energy_settings(energy, country),
            latency_sample=latency_sample,
            results_dir=results_dir,
            suites_dirs=suites_dir or (),
            cards_dirs=cards_dir or (),
        )
        with command_progress(quiet, progress_every, remaining=False) as progress:
            events = RunEvents(progress=progress, on_result=announce_results(so_far), on_note=say_note)
            outcome = run_sweep(request, plan, events)
        log_console.print(_points_table(list(outcome.results)))
