"""Orchestration: data -> encode -> store -> index/search -> evaluate -> record, for each model and unit.

Each (model, unit) has a run key (`harness.run.keys`) computed before any work: a unit whose result
exists under its key is kept and skipped, so rerunning an interrupted command resumes it. Encodings go
through the embedding store (`harness.store`) in shards, so a corpus shared by several units is
encoded once, a later run reuses it, and a run killed mid-encoding loses at most one shard. Models are
loaded one at a time, only for the units that still need them.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from harness.catalog.cards import ModelCard
from harness.catalog.suites import Unit
from harness.core.errors import HarnessError, InputError, SourceUnavailableError
from harness.core.temporary import temporary_directory
from harness.data import RetrievalTask
from harness.data.fingerprint import DataFingerprint
from harness.encode import (
    DenseRepresentation,
    Encoder,
    EncodeSettings,
    Family,
    MultiVectorRepresentation,
    ProgressCallback,
    Representation,
    SparseRepresentation,
)
from harness.evaluation import Evaluation
from harness.evaluation.protocol import trec_eval_ranking
from harness.evaluation.task import evaluate_task
from harness.index import Index, SearchResult, make_index
from harness.models.adapters import card_adapter, card_family, load_encoder
from harness.models.common import card_parameters
from harness.record import (
    Efficiency,
    EnergyMeter,
    EnergyReading,
    EnergySettings,
    ModelInfo,
    ResultRecord,
    result_stem,
    trec_id,
    write_result,
)
from harness.record.measure import PeakMemory, percentiles_ms, stopwatch
from harness.record.provenance import code_version, hardware, library_versions
from harness.record.result import run_tag
from harness.run.distributed import RayEncodingPool
from harness.run.keys import RunKey, resolved_index, run_key, why_recompute
from harness.run.passages import PassageSplit, max_passage_search, maxp_passages
from harness.store import EmbeddingStore, StoredEncoding, default_store_dir
from harness.store.embeddings import Role, StoredDtype, encode_in_memory


class Progress(Protocol):
    def task(self, description: str, total: int) -> contextlib.AbstractContextManager[ProgressCallback]: ...


class SilentProgress:
    @contextlib.contextmanager
    def task(self, description: str, total: int) -> Iterator[ProgressCallback]:
        yield lambda advanced: None


@dataclass(frozen=True)
class StoreSettings:
    """Where encodings are kept between runs. Disabled, a run still encodes through a temporary store
    (removed when it ends), so its units share encodings and vectors stay on disk."""

    root: Path | None = None  # None: the user cache (`harness.store.default_store_dir`)
    enabled: bool = True
    shard_size: int | None = None  # None: from each corpus's size, 8 shards or more (`store.embeddings.shard_size_for`)
    dtype: StoredDtype = "float32"  # dense and multi-vector vectors on disk; float16 halves them
    recompute_damaged: bool = True  # False: a damaged stored shard stops the run (`--no-recompute`, exit 2)


@dataclass(frozen=True)
class RunSettings:
    results_dir: Path = Path("results")
    k: int | None = None  # None: the suite's depth (1000 by default)
    encode: EncodeSettings = field(default_factory=EncodeSettings)
    energy: EnergySettings = field(default_factory=EnergySettings)
    latency_sample: int = 200
    index: dict[str, Any] | None = None  # overrides the card's `index:`
    overwrite: bool = False  # recompute units whose result already exists under the same key
    store: StoreSettings = field(default_factory=StoreSettings)


def rank_run(task: RetrievalTask, result: SearchResult) -> dict[str, dict[str, float]]:
    """Search results as {query id: {document id: score}}, padding dropped."""
    run: dict[str, dict[str, float]] = {}
    doc_ids = task.corpus.ids
    for row, query_id in enumerate(task.queries.ids):
        scores = result.scores[row]
        indices = result.indices[row]
        keep = indices >= 0
        run[query_id] = {doc_ids[int(i)]: float(s) for i, s in zip(indices[keep], scores[keep], strict=True)}
    return run


def trec_lines(run: dict[str, dict[str, float]], run_name: str) -> Iterator[str]:
    """TREC run lines in trec_eval's order (score descending, ties by document id descending); ids with
    whitespace or control characters are escaped and the name made one token (`run_tag`), so every line keeps
    its six columns."""
    tag = run_tag(run_name)
    for query_id, scored in run.items():
        query = trec_id(query_id)
        for rank, doc_id in enumerate(trec_eval_ranking(scored, query_id), start=1):
            yield f"{query} Q0 {trec_id(doc_id)} {rank} {scored[doc_id]!r} {tag}\n"


def probe_latency(index: Index, queries: Representation, k: int, sample: int) -> list[float]:
    """Per-query search latency, one query at a time, on a fixed sample (first query is a warm-up)."""
    if sample <= 0 or len(queries) == 0:
        return []
    rows = np.random.default_rng(0).permutation(len(queries))[: min(sample, len(queries))]
    index.search(queries.select(rows[:1]), k)
    latencies = []
    for row in rows:
        single = queries.select(np.asarray([row]))
        with stopwatch() as elapsed:
            index.search(single, k)
        latencies.append(elapsed.seconds)
    return latencies


def unit_protocol(unit: Unit, passages: PassageSplit | None, num_documents: int) -> dict[str, Any]:
    """What the dataset's protocol adds to the metric protocol: its label and MaxP, when asked for."""
    extra: dict[str, Any] = {"dataset_protocol": unit.dataset.protocol} if unit.dataset.protocol else {}
    if unit.maxp:
        extra["maxp"] = (
            passages.describe(num_documents)
            if passages
            else {"method": "maxp", "applied": False, "reason": "the model reads documents whole or translates them"}
        )
    return extra


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def keyed_stem(results_dir: Path, card: ModelCard, unit: Unit, key: RunKey | None) -> Path:
    """Where a unit's result goes: `result_stem` tagged with its run key (untagged without one)."""
    tag = key.file_tag if key else None
    return result_stem(results_dir, unit.suite, card.name, unit.dataset.name, unit.languages.label, unit.split, tag=tag)


def _label(card: ModelCard, unit: Unit) -> str:
    return f"{card.name} · {unit.dataset.name} · {unit.languages.label}"


def encode_texts(
    store: EmbeddingStore | None,
    encoder: Encoder,
    texts: Sequence[str],
    language: str,
    role: Role,
    progress: ProgressCallback | None = None,
    pool: RayEncodingPool | None = None,
) -> StoredEncoding:
    """Through the store when the encoder's vectors can be stored, else in memory (BM25); with a Ray
    `pool`, the missing shards are encoded on its workers."""
    if store is None or not encoder.storable:
        return encode_in_memory(encoder, texts, language, role, progress)
    return store.encode(encoder, texts, language, role, progress, executor=pool)


def evaluate_unit(
    encoder: Encoder,
    card: ModelCard,
    unit: Unit,
    task: RetrievalTask,
    settings: RunSettings,
    k: int,
    meter: EnergyMeter,
    progress: Progress,
    key: RunKey | None = None,
    store: EmbeddingStore | None = None,
    pool: RayEncodingPool | None = None,
    fingerprint: DataFingerprint | None = None,
) -> Path:
    """Run one model on one loaded unit and write its result; returns the result JSON's path. `fingerprint` is
    the data's, taken before it was loaded (`harness.run.keys` checks it when the result may be kept)."""
    label = _label(card, unit)
    documents = task.corpus.joined_texts()
    passages = maxp_passages(encoder, documents, task.languages.document) if unit.maxp else None
    texts = passages.texts if passages else documents
    with meter.measure(label) as energy, PeakMemory() as memory:
        with progress.task(f"encode documents  {label}", len(texts)) as advance, stopwatch() as t_documents:
            document_encoding = encode_texts(store, encoder, texts, task.languages.document, "document", advance, pool)
        index = make_index(encoder.family, resolved_index(card, encoder.family, settings.index), device=encoder.device)
        if pool is not None:
            index.use_searcher(pool)  # exact dense search on the cluster's searchers; other indexes search here
        with progress.task(f"build index       {label}", len(texts)) as advance, stopwatch() as t_build:
            index.build_from_shards(document_encoding.shards, advance)
        with progress.task(f"encode queries    {label}", len(task.queries)) as advance, stopwatch() as t_queries:
            query_encoding = encode_texts(
                store, encoder, task.queries.texts, task.languages.query, "query", advance, pool
            )
            query_vectors = query_encoding.whole()
        with progress.task(f"search            {label}", len(task.queries)) as advance, stopwatch() as t_search:
            if passages:
                result = max_passage_search(index, query_vectors, k, passages, len(documents), advance)
            else:
                result = index.search(query_vectors, k, advance)
        latencies = probe_latency(index, query_vectors, k, settings.latency_sample)

    run = rank_run(task, result)
    evaluation = evaluate_task(task, run, unit.metrics)
    times = StageTimes(
        document_encoding.status.cost_s,
        query_encoding.status.cost_s,
        t_build.seconds,
        t_search.seconds,
    )
    efficiency = efficiency_of(times, len(documents), len(task.queries), latencies, index, memory)
    protocol = unit_protocol(unit, passages, len(documents))
    reading = energy[0] if energy else None
    record = build_record(
        encoder,
        card,
        unit,
        task,
        index,
        k,
        evaluation,
        protocol,
        efficiency,
        reading,
        documents=document_encoding.shards,
    )
    entries = (document_encoding.status.location, query_encoding.status.location)
    encodings = {
        "documents": {**document_encoding.status.to_dict(), "wall_s": t_documents.seconds},
        "queries": {**query_encoding.status.to_dict(), "wall_s": t_queries.seconds},
        **({"cluster": pool.describe(entries)} if pool and encoder.storable else {}),
    }
    record = record.model_copy(
        update={
            "run_key": key.to_dict() if key else None,
            "encodings": encodings,
            "data_fingerprint": fingerprint.to_dict() if fingerprint else None,
        }
    )
    stem = keyed_stem(settings.results_dir, card, unit, key)
    with naming_folder(stem.parent):
        return write_result(stem, record, trec_lines(run, card.name))


@contextlib.contextmanager
def naming_folder(folder: Path) -> Iterator[None]:
    """Writing into `folder`: an OS error that names no file (a full disk: a failed write names none) names the
    folder, so the one line a user reads says where to make room."""
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise OSError(error.errno, error.strerror, str(folder)) from error


@dataclass(frozen=True)
class StageTimes:
    """Seconds spent in each stage of one unit."""

    corpus_encode_s: float
    query_encode_s: float
    index_build_s: float
    search_s: float


def efficiency_of(
    times: StageTimes, n_documents: int, n_queries: int, latencies: Sequence[float], index: Index, memory: PeakMemory
) -> Efficiency:
    """The record's cost block: stage times, throughputs, latency percentiles, index size, memory."""
    return Efficiency(
        corpus_encode_s=times.corpus_encode_s,
        query_encode_s=times.query_encode_s,
        index_build_s=times.index_build_s,
        search_s=times.search_s,
        documents_per_s=_rate(n_documents, times.corpus_encode_s),
        queries_per_s=_rate(n_queries, times.query_encode_s),
        search_qps=_rate(n_queries, times.search_s),
        end_to_end_qps=_rate(n_queries, times.query_encode_s + times.search_s),
        search_latency_ms=percentiles_ms(latencies),
        latency_sample_size=len(latencies),
        index_size_bytes=index.size_bytes(),
        peak_memory_bytes=memory.peak_bytes,
        baseline_memory_bytes=memory.baseline_bytes,
        peak_gpu_memory_bytes=memory.peak_gpu_bytes,
    )


def encoding_dimension(representation: Representation) -> int | None:
    """The size every vector of a representation shares: a dense or token vector's length, a sparse vector's
    columns (its vocabulary); None for a hybrid, whose three parts each have their own."""
    if isinstance(representation, DenseRepresentation | MultiVectorRepresentation):
        return representation.dim
    if isinstance(representation, SparseRepresentation):
        return int(representation.matrix.shape[1])
    return None


def recorded_facts(encoder: Encoder, documents: Sequence[Representation]) -> dict[str, Any]:
    """The encoder's `model_facts()`, the embedding dimension read off the document encoding where the
    encoder does not know it (BM25, whose vocabulary is the corpus's), so every result can show one."""
    facts = encoder.model_facts()
    if facts.embedding_dimension is None and documents:
        facts = replace(facts, embedding_dimension=encoding_dimension(documents[0]))
    return facts.to_dict()


def build_record(
    encoder: Encoder,
    card: ModelCard,
    unit: Unit,
    task: RetrievalTask,
    index: Index,
    k: int,
    evaluation: Evaluation,
    unit_protocol: dict[str, Any],
    efficiency: Efficiency,
    energy: EnergyReading | None,
    *,
    documents: Sequence[Representation],
) -> ResultRecord:
    """One unit's result record, for `harness run` and the sweep alike (`write_result` fills `run_file`);
    `documents` is the document encoding (its shards), which shows the embedding dimension."""
    return ResultRecord(
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        suite=unit.suite,
        dataset=unit.dataset.name,
        split=unit.split,
        language=task.languages.label,
        query_language=task.languages.query,
        document_language=task.languages.document,
        model=ModelInfo(
            name=card.name,
            adapter=card.adapter,
            family=encoder.family,
            card_path=str(card.path) if card.path else None,
            card_sha256=card.sha256,
            card=card.model_dump(mode="json"),
            details=encoder.describe(),
            facts=recorded_facts(encoder, documents),
        ),
        index=index.describe(),
        k=k,
        primary_metric=unit.primary_metric,
        metrics=evaluation.means,
        per_query=evaluation.per_query,
        protocol={**evaluation.protocol, **unit_protocol},
        dataset_identity={**task.identity.to_dict(), **({"metadata": dict(task.metadata)} if task.metadata else {})},
        efficiency=efficiency,
        energy=energy,
        environment={**code_version(), "libraries": library_versions(), "hardware": hardware(encoder.device)},
        run_file="",
    )


def _is_missing_weights(error: HarnessError) -> bool:
    return isinstance(error, SourceUnavailableError) or (
        isinstance(error, InputError) and error.key == "parameters.python_package"
    )


def check_cards(cards: Sequence[ModelCard], built: Mapping[str, Encoder] | None = None) -> None:
    """Adapter names and card parameters, checked before any work (loading the weights comes later); the
    cards of encoders a caller `built` were checked when they were."""
    for card in cards:
        if built and card.name in built:
            continue
        parameters = getattr(card_adapter(card), "Parameters", None)
        if parameters is not None:
            card_parameters(card, parameters)


@dataclass(frozen=True)
class PlannedResult:
    """A (model, unit) of the run, its key, and where its result goes."""

    card: ModelCard
    unit: Unit
    key: RunKey
    path: Path
    fingerprint: DataFingerprint | None = None  # the unit's data, before loading it


def model_family(card: ModelCard, built: Mapping[str, Encoder] | None = None) -> Family:
    """A model's family: the encoder's when a caller built it, else what its card gives its adapter."""
    encoder = built.get(card.name) if built else None
    return encoder.family if encoder is not None else card_family(card)


def plan_results(
    units: Sequence[Unit],
    cards: Sequence[ModelCard],
    settings: RunSettings,
    k: int,
    built: Mapping[str, Encoder] | None = None,
) -> list[PlannedResult]:
    """Every (model, unit) of the run with its key and its data's fingerprint, model by model."""
    plans = []
    fingerprints = [unit.fingerprint() for unit in units]
    for card in cards:
        family = model_family(card, built)
        for unit, fingerprint in zip(units, fingerprints, strict=True):
            depth = settings.k or k
            key = run_key(
                unit,
                card,
                family,
                k=depth,
                encode=settings.encode,
                index_override=settings.index,
                k_override=settings.k,
                stored_dtype=settings.store.dtype,
            )
            stem = keyed_stem(settings.results_dir, card, unit, key)
            plans.append(PlannedResult(card, unit, key, stem.with_name(stem.name + ".json"), fingerprint))
    return plans


class LoadedData:
    """One dataset in memory at a time: the unit read last, read again only for another unit."""

    def __init__(self) -> None:
        self._unit: Unit | None = None
        self._task: RetrievalTask | None = None

    def task(self, unit: Unit) -> RetrievalTask:
        if self._task is None or self._unit is not unit:
            self._task = None  # free the previous dataset before reading the next
            self._task, self._unit = unit.load(), unit
        return self._task


def keeps(
    plan: PlannedResult, settings: RunSettings, data: LoadedData, on_note: Callable[[str], None] | None = None
) -> bool:
    """Whether the plan's result on disk is kept: it exists, `--overwrite` is off, and it has its run and was
    computed on the data the unit reads now (`why_recompute`, which `on_note` hears when it is not)."""
    if settings.overwrite or not plan.path.is_file():
        return False
    where = f"{plan.unit.dataset.name}/{plan.unit.languages.label}"
    why = why_recompute(plan.path, plan.fingerprint, where, lambda: data.task(plan.unit))
    if why is not None and on_note is not None:
        on_note(why)
    return why is None


@contextlib.contextmanager
def open_store(
    settings: StoreSettings,
    on_note: Callable[[str], None] | None = None,
    on_shard: Callable[[Path], None] | None = None,
) -> Iterator[EmbeddingStore]:
    """The run's embedding store: the persistent one, or a temporary one removed when the run ends; `on_note`
    hears of each damaged shard moved aside, `on_shard` of each shard committed to the persistent one."""
    root = settings.root or default_store_dir()
    if settings.enabled:
        yield EmbeddingStore(root, settings.shard_size, settings.dtype, settings.recompute_damaged, on_note, on_shard)
        return
    if settings.root is not None:
        settings.root.mkdir(parents=True, exist_ok=True)
    what = "the temporary embedding store (--no-cache)"
    with temporary_directory("harness-store-", what, settings.root) as temporary:
        yield EmbeddingStore(Path(temporary), settings.shard_size, settings.dtype, settings.recompute_damaged, on_note)


def announced_encoder(
    card: ModelCard, settings: EncodeSettings, on_note: Callable[[str], None] | None = None
) -> Encoder:
    """`load_encoder`, said first when the card lets its checkpoint run its own Python code: that code runs
    with the user's rights, so a run never does it without a word."""
    if card.trust_remote_code and on_note is not None:
        where = f" ({card.path})" if card.path else ""
        on_note(f"card {card.name}{where} sets trust_remote_code: true; the checkpoint's own Python code will run")
    return load_encoder(card, settings)


def run_units(
    units: Sequence[Unit],
    cards: Sequence[ModelCard],
    settings: RunSettings,
    progress: Progress | None = None,
    on_result: Callable[[Path], None] | None = None,
    k: int = 1000,
    on_unavailable: Callable[[ModelCard, HarnessError], None] | None = None,
    on_kept: Callable[[Path], None] | None = None,
    pool: RayEncodingPool | None = None,
    built: Mapping[str, Encoder] | None = None,
    on_note: Callable[[str], None] | None = None,
    on_shard: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Every model on every unit; returns the result paths, written or kept, in run order.

    Cards are checked before any work. A unit whose result exists under its run key is kept
    (`on_kept`) unless `settings.overwrite`, or its TREC run is missing, or its data changed since
    (`harness.run.keys`; `on_note` hears why it is recomputed); a model is loaded only when one of its units is
    missing, and unloaded before the next. A bad dataset stops the run after the results already
    written, which stay on disk. With `on_unavailable`, a model whose weights cannot be found is
    reported and skipped instead of failing the run (used for a suite's default models). With a Ray
    `pool` (`harness.run.distributed`), missing shards are encoded on the cluster's workers and exact
    dense search runs on its search actors. `built` holds encoders a caller made (by card name), used
    instead of loading their cards' adapters. `on_shard` hears of each shard committed to the store, and
    `on_note` of a card that runs its checkpoint's code (`trust_remote_code`), before it loads.
    """
    progress = progress or SilentProgress()
    code_version()  # before any tokenizer threads exist: it forks git
    check_cards(cards, built)
    plans = plan_results(units, cards, settings, k, built)
    paths: list[Path] = []
    loaded_any = False
    data = LoadedData()
    with open_store(settings.store, on_note, on_shard) as store, EnergyMeter(settings.energy) as meter:
        for card in cards:
            mine = [plan for plan in plans if plan.card is card]
            pending = [plan for plan in mine if not keeps(plan, settings, data, on_note)]
            for plan in mine:
                if plan not in pending:
                    paths.append(plan.path)
                    if on_kept:
                        on_kept(plan.path)
            if not pending:
                loaded_any = True
                continue
            try:
                encoder = (
                    built[card.name]
                    if built and card.name in built
                    else announced_encoder(card, settings.encode, on_note)
                )
            except (SourceUnavailableError, InputError) as error:
                if on_unavailable is None or not _is_missing_weights(error):
                    raise
                on_unavailable(card, error)
                continue
            loaded_any = True
            for plan in pending:
                task = data.task(plan.unit)
                depth = settings.k or k
                path = evaluate_unit(
                    encoder,
                    card,
                    plan.unit,
                    task,
                    settings,
                    depth,
                    meter,
                    progress,
                    key=plan.key,
                    store=store,
                    pool=pool,
                    fingerprint=plan.fingerprint,
                )
                paths.append(path)
                if on_result:
                    on_result(path)
            del encoder
            gc.collect()
    if not loaded_any:
        raise HarnessError("no model could be loaded")
    return paths
