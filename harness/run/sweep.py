"""The efficiency sweep: one encoding, many pruned indexes, one result record per pruning point.

For each unit the model encodes documents and queries once, through the embedding store (so a sweep
after `harness run`, or a second sweep, reuses the stored vectors); each pruning rule then prunes the
document vectors (and, if asked, the query vectors), builds a fresh index, searches and
evaluates. Search and the latency probe run on one thread, as the MILCO paper measures latency.

Every point is an ordinary result record (same schema as `harness run`) with one extra field,
`sweep`, that the report reads to draw effectiveness/sparsity and latency/size curves:

    {"group": <id shared by the sweep's points>,
     "pruning": {"documents": "mass:30", "queries": "none"},
     "avg_active_terms_per_document": float, "avg_active_terms_per_query": float,
     "search_threads": 1, "pruning_s": float}

Records go to `<results>/<suite>/<model>/sweep/<group>/<dataset>.<language>.<split>.<label>.json`, so the
points overwrite neither each other, nor an earlier sweep's, nor the model's plain `harness run` result.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from harness.catalog.cards import ModelCard
from harness.catalog.suites import Unit
from harness.core.errors import InputError
from harness.encode import SparseRepresentation
from harness.encode.pruning import Pruning, prune
from harness.evaluation.task import evaluate_task
from harness.index import Index, SearchResult, make_index
from harness.models.adapters import card_family
from harness.record import EnergyMeter, result_stem, write_result
from harness.record.measure import PeakMemory, stopwatch
from harness.record.provenance import code_version
from harness.run.distributed import RayEncodingPool
from harness.run.runner import (
    Progress,
    RunSettings,
    SilentProgress,
    StageTimes,
    announced_encoder,
    build_record,
    efficiency_of,
    encode_texts,
    naming_folder,
    open_store,
    probe_latency,
    rank_run,
    trec_lines,
    unit_protocol,
)

SEARCH_THREADS = 1


@dataclass(frozen=True)
class SweepPlan:
    document_pruning: Sequence[Pruning]
    query_pruning: Pruning = field(default_factory=Pruning)

    def __post_init__(self) -> None:
        if not self.document_pruning:
            raise InputError("a sweep needs at least one pruning rule", key="--prune")


def point_label(documents: Pruning, queries: Pruning) -> str:
    return documents.label if queries.method == "none" else f"{documents.label}.q-{queries.label}"


def sweep_stem(settings: RunSettings, unit: Unit, model: str, language: str, group: str, label: str) -> Path:
    """Beside the plain result's stem, in `sweep/<group>/`, with the point's label after the split: a
    later sweep never overwrites an earlier one's points."""
    named = result_stem(settings.results_dir, unit.suite, model, unit.dataset.name, language, f"{unit.split}.{label}")
    return named.parent / "sweep" / group / named.name


def _single_thread_index(spec: dict[str, Any] | None, device: str) -> Index:
    """The card's (or the override's) index, with any search-thread setting pinned to one."""
    index = make_index("sparse", spec, device=device)
    if "search_threads" in type(index.params).model_fields:
        index.params = index.params.model_copy(update={"search_threads": SEARCH_THREADS})
    return index


def _index_and_search(
    index: Index,
    documents: SparseRepresentation,
    queries: SparseRepresentation,
    k: int,
    latency_sample: int,
    progress: Progress,
    label: str,
) -> tuple[SearchResult, list[float], float, float]:
    """Build, search and probe latency on one thread; returns the result, latencies and build/search seconds."""
    with threadpool_limits(SEARCH_THREADS):
        with progress.task(f"build index       {label}", len(documents)) as advance, stopwatch() as t_build:
            index.build(documents, advance)
        with progress.task(f"search            {label}", len(queries)) as advance, stopwatch() as t_search:
            result = index.search(queries, k, advance)
        latencies = probe_latency(index, queries, k, latency_sample)
    return result, latencies, t_build.seconds, t_search.seconds


def _mean_active(vectors: SparseRepresentation) -> float:
    return float(vectors.active_terms().mean()) if len(vectors) else 0.0


def sweep_units(
    units: Sequence[Unit],
    card: ModelCard,
    plan: SweepPlan,
    settings: RunSettings,
    progress: Progress | None = None,
    on_result: Callable[[Path], None] | None = None,
    k: int = 1000,
    pool: RayEncodingPool | None = None,
    on_note: Callable[[str], None] | None = None,
    on_shard: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Run the sweep for one sparse model on every unit; returns the written result paths (with a Ray
    `pool`, the missing shards are encoded on its workers; `on_note` hears of damaged shards encoded again
    and of a card that runs its checkpoint's code, `on_shard` of each shard committed to the store)."""
    progress = progress or SilentProgress()
    family = card_family(card)
    if family != "sparse":
        raise InputError(f"{card.name} is a {family} model; the pruning sweep needs a sparse one", key="--model")
    code_version()  # before any tokenizer threads exist: it forks git
    encoder = announced_encoder(card, settings.encode, on_note)
    group = f"{card.name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    k = settings.k or k
    written: list[Path] = []
    with open_store(settings.store, on_note, on_shard) as store, EnergyMeter(settings.energy) as meter:
        for unit in units:
            task = unit.load()
            label = f"{card.name} · {unit.dataset.name} · {task.languages.label}"
            documents = task.corpus.joined_texts()
            languages = task.languages
            with progress.task(f"encode documents  {label}", len(documents)) as advance:
                document_encoding = encode_texts(
                    store, encoder, documents, languages.document, "document", advance, pool
                )
                document_vectors = document_encoding.whole()
            with progress.task(f"encode queries    {label}", len(task.queries)) as advance:
                query_encoding = encode_texts(
                    store, encoder, task.queries.texts, languages.query, "query", advance, pool
                )
                query_vectors = query_encoding.whole()
            encodings = {
                "documents": document_encoding.status.to_dict(),
                "queries": query_encoding.status.to_dict(),
                **({"cluster": pool.describe()} if pool else {}),
            }
            assert isinstance(document_vectors, SparseRepresentation)
            assert isinstance(query_vectors, SparseRepresentation)
            with stopwatch() as t_query_pruning:
                pruned_queries = SparseRepresentation(
                    prune(query_vectors.matrix, plan.query_pruning), query_vectors.vocabulary
                )
            for rule in plan.document_pruning:
                point = point_label(rule, plan.query_pruning)
                with meter.measure(f"{label} · {point}") as energy, PeakMemory() as memory:
                    with stopwatch() as t_pruning:
                        pruned = SparseRepresentation(prune(document_vectors.matrix, rule), document_vectors.vocabulary)
                    index = _single_thread_index(settings.index or card.index, encoder.device)
                    result, latencies, build_s, search_s = _index_and_search(
                        index, pruned, pruned_queries, k, settings.latency_sample, progress, f"{label} · {point}"
                    )
                run = rank_run(task, result)
                evaluation = evaluate_task(task, run, unit.metrics)
                times = StageTimes(document_encoding.status.cost_s, query_encoding.status.cost_s, build_s, search_s)
                efficiency = efficiency_of(times, len(documents), len(task.queries), latencies, index, memory)
                reading = energy[0] if energy else None
                protocol = unit_protocol(unit, None, len(documents))
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
                    documents=(document_vectors,),
                )
                record = record.model_copy(
                    update={
                        "encodings": encodings,
                        "sweep": {
                            "group": group,
                            "pruning": {"documents": rule.label, "queries": plan.query_pruning.label},
                            "avg_active_terms_per_document": _mean_active(pruned),
                            "avg_active_terms_per_query": _mean_active(pruned_queries),
                            "search_threads": SEARCH_THREADS,
                            "pruning_s": t_pruning.seconds + t_query_pruning.seconds,
                        },
                    }
                )
                stem = sweep_stem(settings, unit, card.name, task.languages.label, group, point)
                with naming_folder(stem.parent):
                    path = write_result(stem, record, trec_lines(run, card.name))
                written.append(path)
                if on_result:
                    on_result(path)
                del index, pruned
    return written
