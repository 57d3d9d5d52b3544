"""Rank fusion of recorded runs (`harness fuse`): ranx's fusion over the TREC runs models recorded.

Components are found among the recorded results by their fields (suite, model, dataset, language,
split, not a sweep point), never by file name, the newest when a model has several; each must have
been run on exactly the data the suite gives now (same dataset checksum). ranx fuses the runs as
read back from their TREC files; the fused run is cut to the components' depth and scored under
harness's own protocol (trec_eval -c tie-breaking) on the unit's qrels, so a fused result has the
schema of any model's and takes part in reports and `harness compare` like one.

Cost is that of running the components one after the other, then fusing: stage times, index sizes,
memory and energy summed; latency percentiles = the components' percentiles summed plus the
percentile of fusing one query at a time with ranx, measured here on a fixed sample of queries.

`--optimize` tunes the method's parameters (wsum weights, the RRF k) with ranx's
`optimize_fusion` on the components' runs and the qrels of another split, never the reported one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shlex
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from harness.catalog.suites import Unit
from harness.core.errors import InputError
from harness.data.dataset import Qrels
from harness.data.sampling import sample_label
from harness.evaluation.protocol import Evaluation, RunScores, trec_eval_ranking
from harness.evaluation.ranx_cache import cached_ranx
from harness.evaluation.task import evaluate_task
from harness.record import (
    Efficiency,
    EnergyReading,
    ModelInfo,
    ResultRecord,
    id_from_trec,
    result_stem,
    write_result,
)
from harness.record.measure import percentiles_ms, stopwatch
from harness.record.provenance import code_version, library_versions
from harness.results import FusionComponent, FusionInfo, StoredResult, load, resolve_labels, sweep_of
from harness.run.runner import trec_lines

METHODS: dict[str, str] = {"rrf": "rrf", "combsum": "sum", "combmnz": "mnz", "wsum": "wsum"}
"""harness's method names -> ranx's (`ranx.fuse(method=...)`)."""

NORMS = ("min-max", "max", "sum", "zmuv", "rank", "borda", "none")
"""ranx's score normalisations, applied to each run before fusing; `none` fuses raw scores."""

TUNABLE = {"rrf": "k", "wsum": "weights"}
"""Methods with a parameter `optimize_fusion` tunes, and that parameter."""

RunDict = dict[str, dict[str, float]]


@dataclass(frozen=True)
class FusionSpec:
    """What to fuse with: the method, the normalisation and the method's parameters."""

    method: str
    norm: str = "min-max"
    weights: tuple[float, ...] | None = None
    rrf_k: int = 60

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown fusion method {self.method!r}; known: {', '.join(METHODS)}", key="--method")
        if self.norm not in NORMS:
            raise InputError(f"unknown normalisation {self.norm!r}; known: {', '.join(NORMS)}", key="--norm")
        if self.weights is not None:
            if self.method != "wsum":
                raise InputError(f"--weights applies to wsum, not {self.method}", key="--weights")
            if not all(math.isfinite(weight) and weight >= 0 for weight in self.weights) or not any(self.weights):
                # NaN passes `< 0` and ranx would fuse it into NaN scores; infinity swamps every other run.
                shown = ",".join(str(weight) for weight in self.weights)
                raise InputError(f"weights must be finite and non-negative, not all zero; got {shown}", key="--weights")
        if self.rrf_k < 1:
            raise InputError(f"the RRF k must be at least 1, not {self.rrf_k}", key="--rrf-k")

    @property
    def ranx_norm(self) -> str | None:
        return None if self.norm == "none" else self.norm

    def params(self, n_runs: int) -> dict[str, Any]:
        """ranx's parameters for `n_runs` runs: wsum weights default to equal ones."""
        if self.method == "rrf":
            return {"k": self.rrf_k}
        if self.method == "wsum":
            weights = self.weights or tuple(1.0 / n_runs for _ in range(n_runs))
            if len(weights) != n_runs:
                raise InputError(f"{len(weights)} weights for {n_runs} models", key="--weights")
            return {"weights": [float(w) for w in weights]}
        return {}


@dataclass(frozen=True)
class Tuning:
    """Tune the method's parameter on `split` (never the reported one) for ranx's `metric`."""

    split: str
    metric: str


def default_name(method: str, models: Sequence[str]) -> str:
    """`rrf:bm25+all-minilm-l6-v2`: the method, then the components."""
    return f"{method}:{'+'.join(models)}"


def _same_data(recorded: Mapping[str, Any], identity: Mapping[str, Any]) -> bool:
    """Whether a result was computed on the data the unit gives now: the same checksum and the same sample
    (a sample keeps its full data's checksum and says what it drew)."""
    return (
        recorded.get("checksum") == identity["checksum"]
        and bool(recorded.get("sampled")) == bool(identity["sampled"])
        and (recorded.get("sampling") or None) == (identity.get("sampling") or None)
    )


def find_component(
    results: Sequence[StoredResult], unit: Unit, identity: Mapping[str, Any], model: str, run_first: str
) -> StoredResult:
    """The newest result that `model` names (a label, or a model's bare name with one label there:
    `resolve_labels`) on the unit, computed on the unit's data now (`identity`); sweep points are not
    components. `run_first` is the `harness run` command that would make it."""
    where = f"{unit.suite}/{unit.dataset.name} ({unit.languages.label}, {unit.split})"
    on_unit = [
        stored
        for stored in results
        if stored.record.suite == unit.suite
        and stored.record.dataset == unit.dataset.name
        and stored.record.language == unit.languages.label
        and stored.record.split == unit.split
        and sweep_of(stored.record) is None
    ]
    same_data = [stored for stored in on_unit if _same_data(stored.record.dataset_identity, identity)]
    [label] = resolve_labels([stored.record for stored in same_data], [model])
    matches = [stored for stored in same_data if stored.record.display_name == label]
    if matches:
        return max(matches, key=lambda stored: (stored.record.created_at, str(stored.path)))
    elsewhere = sorted(
        {
            stored.record.display_name
            for stored in on_unit
            if model in (stored.record.model.name, stored.record.display_name)
        }
    )
    if elsewhere:
        drawn = identity.get("sampling") or {}
        now = (
            "the full data"
            if not identity["sampled"]
            else "a sample "
            + sample_label(drawn.get("max_queries"), drawn.get("corpus_size"), int(drawn.get("seed") or 0))
        )
        raise InputError(
            f"the results of {model!r} on {where} ({', '.join(elsewhere)}) were computed on other data than this "
            f"fuse reads ({now}): give the --max-queries, --corpus-sample, --seed and --local they were run with",
            key="--model",
        )
    raise InputError(f"no recorded result of {model!r} on {where}; run it first (`{run_first}`)", key="--model")


def read_run(stored: StoredResult) -> tuple[RunDict, str]:
    """A recorded TREC run as {query: {document: score}} in file order, and the SHA-256 of its text."""
    run: RunDict = {}
    digest = hashlib.sha256()
    for number, line in enumerate(stored.run_lines(), start=1):
        digest.update(line.encode("utf-8"))
        parts = line.split()
        if len(parts) != 6:
            raise InputError(
                f"expected 6 columns (query Q0 document rank score run), found {len(parts)}",
                path=stored.run_path,
                line=number,
            )
        try:
            score = float(parts[4])
        except ValueError:
            raise InputError(f"score {parts[4]!r} is not a number", path=stored.run_path, line=number) from None
        run.setdefault(id_from_trec(parts[0]), {})[id_from_trec(parts[2])] = score
    return run, digest.hexdigest()


def _ranx_runs(runs: Sequence[Mapping[str, Mapping[str, float]]], query_ids: Sequence[str]) -> list[Any]:
    """ranx Runs over the same query ids (ranx requires it): a query a run lacks has no results there."""
    return [_ranx_run({q: dict(run.get(q, {})) for q in query_ids}) for run in runs]


def _ranx_run(run: Mapping[str, Mapping[str, float]]) -> Any:
    """`ranx.Run.from_dict`, which cannot build a run without a single document (e.g. BM25 on queries
    sharing no term with the corpus): that one is built as ranx's empty Run with each query's empty results."""
    ranx = cached_ranx()
    if any(run.values()):
        return ranx.Run.from_dict(run)
    from numba import types
    from numba.typed import Dict as TypedDict

    empty = ranx.Run()
    for query in run:
        empty.run[query] = TypedDict.empty(key_type=types.unicode_type, value_type=types.float64)
    return empty


def fuse(runs: Sequence[Mapping[str, Mapping[str, float]]], spec: FusionSpec, params: Mapping[str, Any]) -> RunDict:
    """ranx's fusion of the runs, over every query any of them answered."""
    ranx = cached_ranx()
    query_ids = list(dict.fromkeys(q for run in runs for q in run))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's harmless uint64 -> int64 cast warnings inside ranx
        fused = ranx.fuse(
            _ranx_runs(runs, query_ids), norm=spec.ranx_norm, method=METHODS[spec.method], params=dict(params)
        )
    return {q: {doc: float(score) for doc, score in fused.run[q].items()} for q in query_ids}


def top_k(run: RunScores, k: int) -> RunDict:
    """Each query's k best documents in trec_eval's order: what a fused pipeline of depth k returns."""
    return {q: {doc: scored[doc] for doc in trec_eval_ranking(scored, q)[:k]} for q, scored in run.items()}


def tune(
    runs: Sequence[Mapping[str, Mapping[str, float]]], qrels: Qrels, spec: FusionSpec, metric: str
) -> tuple[dict[str, Any], dict[str, float]]:
    """ranx's `optimize_fusion` on these runs and qrels: the best parameters and every trial's score.

    ranx needs runs and qrels over the same queries: the judged queries (negative, unjudged grades
    left out), a run without results for one contributing nothing to it.
    """
    if spec.method not in TUNABLE:
        raise InputError(
            f"{spec.method} has no parameter to tune; --optimize applies to rrf and wsum", key="--optimize"
        )
    ranx = cached_ranx()
    judged = {q: {d: int(g) for d, g in grades.items() if g >= 0} for q, grades in qrels.items()}
    judged = {q: grades for q, grades in judged.items() if grades}
    if not judged:
        raise InputError("the tuning split has no judged queries", key="--tune-split")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best, report = ranx.optimize_fusion(
            ranx.Qrels.from_dict(judged),
            _ranx_runs(runs, list(judged)),
            norm=spec.ranx_norm,
            method=METHODS[spec.method],
            metric=metric,
            show_progress=False,
            return_optimization_report=True,
        )
    trials = {str(config): float(score) for config, score in zip(report.configs, report.results, strict=True)}
    name = TUNABLE[spec.method]
    value = best[name]
    return {name: [float(v) for v in value] if name == "weights" else int(value)}, trials


def fusion_latencies(
    runs: Sequence[Mapping[str, Mapping[str, float]]], spec: FusionSpec, params: Mapping[str, Any], sample: int
) -> list[float]:
    """Seconds to fuse one query's results, on a fixed sample of queries, after a warm-up that also
    keeps numba's first compilation out of every timing (with a sample of 0 too)."""
    query_ids = list(dict.fromkeys(q for run in runs for q in run))
    if not query_ids:
        return []
    rows = np.random.default_rng(0).permutation(len(query_ids))[: max(1, min(sample, len(query_ids)))]

    def single(row: int) -> list[dict[str, dict[str, float]]]:
        query = query_ids[int(row)]
        return [{query: dict(run.get(query, {}))} for run in runs]

    fuse(single(rows[0]), spec, params)
    if sample <= 0:
        return []
    latencies = []
    for row in rows:
        one = single(row)
        with stopwatch() as elapsed:
            fuse(one, spec, params)
        latencies.append(elapsed.seconds)
    return latencies


def _summed_latency(components: Sequence[Efficiency], fusion: Sequence[float]) -> dict[str, float]:
    """Per percentile: the components' values summed plus fusion's (only percentiles every component has)."""
    fused = percentiles_ms(fusion)
    keys = set(fused).intersection(*(set(e.search_latency_ms) for e in components)) if components else set()
    return {key: sum(e.search_latency_ms[key] for e in components) + fused[key] for key in sorted(keys)}


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def summed_efficiency(
    components: Sequence[Efficiency], fusion_s: float, latencies: Sequence[float], n_documents: int, n_queries: int
) -> Efficiency:
    """The cost of the components run one after the other, then fused (see the module docstring)."""
    corpus_s = sum(e.corpus_encode_s for e in components)
    query_s = sum(e.query_encode_s for e in components)
    search_s = sum(e.search_s for e in components) + fusion_s
    gpu = [e.peak_gpu_memory_bytes for e in components if e.peak_gpu_memory_bytes is not None]
    return Efficiency(
        corpus_encode_s=corpus_s,
        query_encode_s=query_s,
        index_build_s=sum(e.index_build_s for e in components),
        search_s=search_s,
        documents_per_s=_rate(n_documents, corpus_s),
        queries_per_s=_rate(n_queries, query_s),
        search_qps=_rate(n_queries, search_s),
        end_to_end_qps=_rate(n_queries, query_s + search_s),
        search_latency_ms=_summed_latency(components, latencies),
        latency_sample_size=len(latencies),
        index_size_bytes=sum(e.index_size_bytes for e in components),
        peak_memory_bytes=sum(e.peak_memory_bytes for e in components),
        baseline_memory_bytes=max((e.baseline_memory_bytes for e in components), default=0),
        peak_gpu_memory_bytes=sum(gpu) if gpu else None,
    )


COST_NOTE = {
    "stages": "corpus encode, query encode, index build and search times of the components summed; "
    "search also includes the measured time ranx took to fuse all queries",
    "latency": "per percentile, the components' search latency summed (their searches run one after the "
    "other) plus that percentile of fusing one query at a time with ranx, measured on latency_sample_size queries",
    "index_size": "sum of the components' indexes (the fused pipeline keeps all of them)",
    "memory": "peak: the components' peaks summed (both pipelines resident); baseline: the largest",
    "energy": "the components' readings summed; fusing itself is not metered",
}


def summed_energy(components: Sequence[ResultRecord]) -> EnergyReading | None:
    """The components' energy and emissions summed, when every one of them has a reading."""
    readings = [record.energy for record in components]
    if any(r is None or r.energy_kwh is None for r in readings):
        return None
    present = [r for r in readings if r is not None]
    emissions = [r.emissions_kg for r in present]
    return EnergyReading(
        energy_kwh=sum(r.energy_kwh or 0.0 for r in present),
        emissions_kg=sum(e for e in emissions if e is not None) if all(e is not None for e in emissions) else None,
        duration_s=sum(r.duration_s or 0.0 for r in present),
        country_iso_code=present[0].country_iso_code,
        tracking_mode="sum of the fused components' readings",
        methods=sorted({method for r in present for method in r.methods}),
        tool=present[0].tool,
        tool_version=present[0].tool_version,
    )


@dataclass(frozen=True)
class FuseSettings:
    results_dir: Path = Path("results")
    name: str | None = None  # default: `default_name`
    tuning: Tuning | None = None
    latency_sample: int = 200
    data_options: str = ""  # the options that gave the unit's data (`--suite xquad --local xquad=DIR`), for hints

    def run_first(self, unit: Unit, model: str) -> str:
        """The `harness run` command that records `model`'s result on `unit`, the data given as this fuse's."""
        selection = (
            ""
            if self.data_options.startswith("--data ")
            else f" --datasets {unit.dataset.name} --languages {unit.languages.label}"
        )
        return f"harness run {self.data_options}{selection} -m {shlex.quote(model)}"


def fuse_unit(unit: Unit, models: Sequence[str], spec: FusionSpec, settings: FuseSettings) -> Path:
    """Fuse the recorded runs of `models` on one unit and write the fused result; returns its JSON's path."""
    if len(models) < 2:
        raise InputError("fusion needs at least two models (-m A -m B)", key="--model")
    if len(set(models)) != len(models):
        raise InputError("a model is named twice", key="--model")
    results = load(settings.results_dir)
    task = unit.load()
    identity = task.identity.to_dict()
    components = [find_component(results, unit, identity, model, settings.run_first(unit, model)) for model in models]
    if len({stored.path for stored in components}) != len(components):
        raise InputError(f"two of {', '.join(models)} name the same result", key="--model")
    read = [read_run(stored) for stored in components]
    runs = [run for run, _ in read]

    params = spec.params(len(runs))
    tuning_block: dict[str, Any] | None = None
    if settings.tuning is not None:
        tuning_block, params = _tuned(unit, models, spec, settings, results)

    k = min(stored.record.k for stored in components)
    latencies = fusion_latencies(runs, spec, params, settings.latency_sample)  # first: it warms numba up
    with stopwatch() as fusing:
        fused = top_k(fuse(runs, spec, params), k)
    evaluation = evaluate_task(task, fused, unit.metrics)

    name = settings.name or default_name(spec.method, models)
    efficiency = summed_efficiency(
        [stored.record.efficiency for stored in components],
        fusing.seconds,
        latencies,
        identity["num_documents"],
        identity["num_queries"],
    )
    info = FusionInfo(
        method=spec.method,
        norm=spec.norm,
        params=params,
        components=[
            FusionComponent(
                model=stored.record.model.name,
                family=stored.record.model.family,
                result=str(stored.path.relative_to(settings.results_dir)),
                created_at=stored.record.created_at,
                run_sha256=digest,
                git_commit=stored.record.environment.get("git_commit"),
                index=stored.record.index,
            )
            for stored, (_, digest) in zip(components, read, strict=True)
        ],
        tuning=tuning_block,
        cost=COST_NOTE,
    )
    energy = summed_energy([stored.record for stored in components])
    record = _record(unit, identity, task.metadata, components, name, spec, info, k, evaluation, efficiency, energy)
    stem = result_stem(settings.results_dir, unit.suite, name, unit.dataset.name, unit.languages.label, unit.split)
    return write_result(stem, record, trec_lines(fused, name))


def _tuned(
    unit: Unit, models: Sequence[str], spec: FusionSpec, settings: FuseSettings, results: Sequence[StoredResult]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parameters tuned on the components' runs of another split; the record's `tuning` block with them."""
    tuning = settings.tuning
    assert tuning is not None
    if tuning.split == unit.split:
        raise InputError(
            f"--tune-split {tuning.split} is the split being reported; tune on another one (e.g. dev or train)",
            key="--tune-split",
        )
    tuning_unit = dataclasses.replace(unit, split=tuning.split)
    task = tuning_unit.load()
    identity = task.identity.to_dict()
    components = [
        find_component(
            results, tuning_unit, identity, model, settings.run_first(tuning_unit, model) + f" --split {tuning.split}"
        )
        for model in models
    ]
    params, trials = tune([read_run(stored)[0] for stored in components], task.qrels, spec, tuning.metric)
    block = {
        "split": tuning.split,
        "metric": tuning.metric,
        "engine": "ranx optimize_fusion (ranx's own metric implementation, on the tuning split only)",
        "dataset_checksum": task.identity.checksum,
        "components": [stored.path.name for stored in components],
        "best": params,
        "trials": trials,
    }
    return block, params


def _record(
    unit: Unit,
    identity: dict[str, Any],
    metadata: Mapping[str, Any],
    components: Sequence[StoredResult],
    name: str,
    spec: FusionSpec,
    info: FusionInfo,
    k: int,
    evaluation: Evaluation,
    efficiency: Efficiency,
    energy: EnergyReading | None,
) -> ResultRecord:
    """The fused result's record: the schema of a model's, with `fusion` saying how it was made."""
    card = {
        "name": name,
        "fusion": {"method": spec.method, "norm": spec.norm, "params": info.params},
        "components": info.component_models,
    }
    first = components[0].record
    extra = {"dataset_protocol": unit.dataset.protocol} if unit.dataset.protocol else {}
    return ResultRecord(
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        suite=unit.suite,
        dataset=unit.dataset.name,
        split=unit.split,
        language=unit.languages.label,
        query_language=unit.languages.query,
        document_language=unit.languages.document,
        model=ModelInfo(
            name=name,
            adapter="fusion",
            family="fused",
            card_path=None,
            card_sha256=hashlib.sha256(json.dumps(card, sort_keys=True).encode("utf-8")).hexdigest(),
            card=card,
            details={"components": info.component_models, "method": spec.method, "norm": spec.norm},
        ),
        index={
            "kind": "fusion",
            "engine": f"ranx {version('ranx')} fuse(method={METHODS[spec.method]!r}, norm={spec.ranx_norm!r})",
            "params": info.params,
            "depth": k,
        },
        k=k,
        primary_metric=unit.primary_metric,
        metrics=evaluation.means,
        per_query=evaluation.per_query,
        protocol={**evaluation.protocol, **extra},
        dataset_identity={**identity, **({"metadata": dict(metadata)} if metadata else {})},
        efficiency=efficiency,
        energy=energy,
        environment={
            **code_version(),
            "libraries": library_versions(),
            "hardware": first.environment.get("hardware", {}),
        },
        run_file="",
        fusion=info.model_dump(mode="json"),
    )
