"""Options that `harness run`, `sweep` and `fuse` share, and turning them into the run API's settings;
the lines a run says as it goes (its progress: `harness.cli.progress`).

Commands import the pipeline when they run, not when the CLI starts, so `harness --help` is instant.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harness.cli.common import error_console
from harness.core.errors import HarnessError, InputError

if TYPE_CHECKING:
    from harness.catalog.cards import ModelCard
    from harness.data.sampling import Sampling
    from harness.encode import EncodeSettings
    from harness.record import EnergySettings
    from harness.run.distributed import ClusterSettings
    from harness.run.runner import StoreSettings

DEFAULT_COUNTRY = "NLD"  # harness.record.energy's, which would load pydantic at start-up; a test keeps them equal


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
        help="Texts per stored shard: an interrupted run loses at most the shard it was writing. Default: "
        "sized from each corpus, at least 8 shards (of 256 to 16,384 texts), so a kill loses at most an eighth.",
    ),
]


NoRecomputeOption = Annotated[
    bool,
    typer.Option(
        "--no-recompute",
        help="Stop (exit 2) at a damaged stored shard, naming it, instead of moving it aside and encoding it "
        "again (see `harness cache verify`).",
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
    """`--ray`/`--workers`: the run's Ray cluster, or None for a one-process run."""
    from harness.run.distributed import ClusterSettings

    if address is None:
        if workers is not None:
            raise InputError("--workers needs --ray (local, auto or an address)", key="--workers")
        return None
    return ClusterSettings(address=address.strip() or "local", workers=workers)


def store_settings(
    cache_dir: Path | None,
    no_cache: bool,
    shard_size: int | None,
    stored_dtype: StoredDtype,
    no_recompute: bool = False,
) -> StoreSettings:
    """`--cache-dir`, `--no-cache`, `--shard-size`, `--stored-dtype`, `--no-recompute` as the run's store settings."""
    from harness.run.runner import StoreSettings

    return StoreSettings(
        root=cache_dir.expanduser() / "embeddings" if cache_dir else None,
        enabled=not no_cache,
        shard_size=shard_size,
        dtype=stored_dtype.value,
        recompute_damaged=not no_recompute,
    )


def parse_local(entries: list[str] | None) -> dict[str | None, Path]:
    """`--local DATASET=DIR` entries by dataset; a bare `DIR` under None (the one dataset selected). Names are
    trimmed where the run API reads them (`harness.run.api.local_folders`)."""
    folders: dict[str | None, Path] = {}
    for entry in entries or []:
        name, separator, folder = entry.partition("=")
        folders[name if separator else None] = Path(folder if separator else entry)
    return folders


def sampling(max_queries: int | None, corpus_sample: int | None, seed: int) -> Sampling:
    from harness.data.sampling import Sampling

    return Sampling(max_queries, corpus_sample, seed)


def encode_settings(
    batch_size: int,
    device: str,
    dtype: Dtype,
    max_query_length: int | None,
    max_document_length: int | None,
    precision: Precision | None,
) -> EncodeSettings:
    from harness.encode import EncodeSettings

    return EncodeSettings(
        batch_size, device, dtype.value, max_query_length, max_document_length, precision and precision.value
    )


def energy_settings(energy: bool, country: str) -> EnergySettings:
    from harness.record import EnergySettings

    return EnergySettings(enabled=energy, country_iso_code=country)


def say_note(text: str) -> None:
    error_console.print(f"[yellow]note:[/] {escape(text)}", soft_wrap=True)  # a path stays whole on one line


def say_kept(path: Path) -> None:
    error_console.print(
        f"kept {escape(str(path))} (its result exists under the same run key; --overwrite recomputes)",
        highlight=False,
        soft_wrap=True,
    )


def say_skipped(card: ModelCard, error: HarnessError) -> None:
    error_console.print(f"[yellow]skipping default model {escape(card.name)}:[/] {escape(str(error))}", soft_wrap=True)
