"""Results as a library: every recorded result in a pandas DataFrame, and exports to MTEB and TREC.

```python
from harness import results

frame = results.load_frame("results")  # one row per model/dataset/language/metric
frame.query("metric == 'ndcg@10'").pivot_table(index="model", columns="language", values="value")
results.export_mteb(results.load("results"), "mteb-results")  # MTEB's results-repository layout
results.export_trec(results.load("results"), "runs")  # plain TREC run files for trec_eval
```
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.core.errors import InputError
from harness.core.files import atomic_write_text, safe_name
from harness.core.languages import language_with_script
from harness.data.formats import gzip_errors
from harness.evaluation.metrics import parse_metric
from harness.record import ResultRecord, iter_result_files, read_result
from harness.record.result import run_tag

if TYPE_CHECKING:
    import pandas as pd


class SweepPruning(BaseModel):
    documents: str = "none"
    queries: str = "none"


class Sweep(BaseModel):
    """A point of a sparsity sweep: the same model run under one pruning setting of a named group."""

    model_config = ConfigDict(extra="allow")

    group: str
    pruning: SweepPruning = SweepPruning()
    avg_active_terms_per_document: float | None = None
    avg_active_terms_per_query: float | None = None

    @property
    def label(self) -> str:
        return f"docs {self.pruning.documents} · queries {self.pruning.queries}"


def sweep_of(record: ResultRecord) -> Sweep | None:
    """The record's `sweep` field (written by sparsity sweeps), or None for an ordinary result."""
    raw = (record.model_extra or {}).get("sweep")
    if raw is None:
        return None
    try:
        return Sweep.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        raise InputError(
            f"malformed sweep in a {record.model.name} result: {first['msg']}",
            key="sweep." + ".".join(str(p) for p in first["loc"]),
        ) from None


class FusionComponent(BaseModel):
    """One run a fused result was made from: the result it was read from and a hash of its TREC run."""

    model_config = ConfigDict(extra="allow")

    model: str
    family: str
    result: str  # the component's result JSON, relative to the results folder
    created_at: str
    run_sha256: str


class FusionInfo(BaseModel):
    """How a fused result was made (written by `harness fuse`): ranx's method, the components, what tuned it."""

    model_config = ConfigDict(extra="allow")

    method: str
    norm: str | None
    params: dict[str, Any]
    components: list[FusionComponent]
    tuning: dict[str, Any] | None = None
    cost: dict[str, str] = {}

    @property
    def component_models(self) -> list[str]:
        return [component.model for component in self.components]


def fusion_of(record: ResultRecord) -> FusionInfo | None:
    """The record's `fusion` field (written by `harness fuse`), or None for a single model's result."""
    raw = (record.model_extra or {}).get("fusion")
    if raw is None:
        return None
    try:
        return FusionInfo.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        raise InputError(
            f"malformed fusion block in a {record.model.name} result: {first['msg']}",
            key="fusion." + ".".join(str(p) for p in first["loc"]),
        ) from None


def hardware_label(record: ResultRecord) -> str:
    """The accelerator's name, else the CPU model and core count the result was measured on."""
    hardware = record.environment.get("hardware", {})
    gpu = hardware.get("gpu")
    if isinstance(gpu, dict) and gpu.get("name"):
        return str(gpu["name"])
    return f"{hardware.get('cpu', '?')} ({hardware.get('cpu_cores', '?')} cores)"


def result_id(record: ResultRecord) -> str:
    """What identifies a result when it is read back (suite, label, dataset, language, split, sweep point);
    also the report's HTML anchor linking a score to its provenance."""
    sweep = sweep_of(record)
    key = "\x1f".join(
        [record.suite, record.display_name, record.dataset, record.language, record.split]
        + ([sweep.group, sweep.pruning.documents, sweep.pruning.queries] if sweep else [])
    )
    return "r-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def latest(results: Sequence[ResultRecord]) -> list[ResultRecord]:
    """One result per (suite, model, dataset, language, split, sweep setting): the newest."""
    newest: dict[str, ResultRecord] = {}
    for record in results:
        key = result_id(record)
        if key not in newest or record.created_at >= newest[key].created_at:
            newest[key] = record
    return list(newest.values())


def resolve_labels(records: Iterable[ResultRecord], names: Sequence[str], key: str = "--model") -> list[str]:
    """The result label each of `names` means among `records`. A label some result has (`bm25`,
    `bm25 [50 queries]`) means itself; a model's bare name means its one label (`bm25` when only
    `bm25 [50 queries]` was run); a bare name with several labels is refused, naming them. A name no result
    has is returned as it is, for the caller to say what is missing where."""
    labels: set[str] = set()
    by_model: dict[str, set[str]] = defaultdict(set)
    for record in records:
        labels.add(record.display_name)
        by_model[record.model.name].add(record.display_name)
    resolved = []
    for name in names:
        candidates = sorted(by_model.get(name, ()))
        if name in labels or not candidates:
            resolved.append(name)
        elif len(candidates) == 1:
            resolved.append(candidates[0])
        else:
            choices = ", ".join(repr(label) for label in candidates)
            raise InputError(f"{name!r} has results under several labels: {choices}; name the one you mean", key=key)
    return resolved


def matches_model(record: ResultRecord, names: Collection[str]) -> bool:
    """Whether `-m` filters (`harness export`, `harness gate`) select the result: by its model's name (every
    label of the model) or by its exact label (`bm25 [50 queries]`)."""
    return record.model.name in names or record.display_name in names


@dataclass(frozen=True)
class StoredResult:
    """A result and the file it was read from (its TREC run lies beside it)."""

    path: Path
    record: ResultRecord

    @property
    def metrics(self) -> dict[str, float]:
        """Mean of each metric over the queries."""
        return self.record.metrics

    @property
    def per_query(self) -> dict[str, dict[str, float]]:
        """Metric -> query id -> value: what the means and significance tests come from."""
        return self.record.per_query

    def to_frame(self) -> pd.DataFrame:
        """This result as `to_frame` rows: one per metric, with its cost and provenance."""
        return to_frame([self])

    @property
    def run_path(self) -> Path:
        """The run beside the result; `run_file` names a file in the result's folder, never a path elsewhere."""
        name = self.record.run_file
        if not name or name in {".", ".."} or Path(name).name != name:
            raise InputError(
                f"`run_file` must name a file beside the result, not {name!r}", path=self.path, key="run_file"
            )
        return self.path.with_name(name)

    def run_lines(self) -> Iterator[str]:
        """The recorded TREC run, line by line, in trec_eval's order; a truncated run names its file."""
        path = self.run_path
        if not path.is_file():
            raise InputError("the TREC run recorded with this result is missing", path=path)
        with gzip_errors(path), gzip.open(path, "rt", encoding="utf-8") as handle:
            yield from handle


def load(results_dir: Path | str) -> list[StoredResult]:
    """Every result JSON under `results_dir` (searched recursively), with its path."""
    folder = Path(results_dir)
    if not folder.is_dir():
        raise InputError("results folder not found; run `harness run` first", path=folder)
    return [StoredResult(path, read_result(path)) for path in iter_result_files(folder)]


def _records(results: Iterable[ResultRecord | StoredResult]) -> list[ResultRecord]:
    return [item.record if isinstance(item, StoredResult) else item for item in results]


FACT_COLUMNS = ("parameters", "embedding_dimension", "max_tokens", "license")
"""The model facts a result records (`ModelInfo.facts`), one column each; empty where a result predates them."""
_COUNT_COLUMNS = dict.fromkeys(FACT_COLUMNS[:3], "Int64")  # whole numbers even where some are unknown


def _fact_columns(record: ResultRecord) -> dict[str, Any]:
    return {name: record.model.facts.get(name) for name in FACT_COLUMNS}


def _result_columns(record: ResultRecord) -> dict[str, Any]:
    efficiency = record.efficiency
    energy = record.energy
    sweep = sweep_of(record)
    return {
        "suite": record.suite,
        "dataset": record.dataset,
        "split": record.split,
        "language": record.language,
        "query_language": record.query_language,
        "document_language": record.document_language,
        "model": record.model.name,
        "label": record.display_name,
        "family": record.model.family,
        "adapter": record.model.adapter,
        **_fact_columns(record),
        "num_queries": record.dataset_identity.get("num_queries"),
        "num_documents": record.dataset_identity.get("num_documents"),
        "sampled": record.sampled,
        "sample": record.sample or None,
        "dataset_checksum": record.dataset_identity.get("checksum"),
        "k": record.k,
        "index_size_bytes": efficiency.index_size_bytes,
        "documents_per_s": efficiency.documents_per_s,
        "queries_per_s": efficiency.queries_per_s,
        "search_qps": efficiency.search_qps,
        "latency_p50_ms": efficiency.search_latency_ms.get("p50"),
        "latency_p95_ms": efficiency.search_latency_ms.get("p95"),
        "peak_memory_bytes": efficiency.peak_memory_bytes,
        "energy_kwh": energy.energy_kwh if energy else None,
        "emissions_kg": energy.emissions_kg if energy else None,
        "hardware": hardware_label(record),
        "sweep_group": sweep.group if sweep else None,
        "pruning_documents": sweep.pruning.documents if sweep else None,
        "pruning_queries": sweep.pruning.queries if sweep else None,
        "avg_active_terms_per_document": sweep.avg_active_terms_per_document if sweep else None,
        "avg_active_terms_per_query": sweep.avg_active_terms_per_query if sweep else None,
        "harness_version": record.environment.get("harness_version"),
        "git_commit": record.environment.get("git_commit"),
        "created_at": record.created_at,
    }


FRAME_COLUMNS = [
    "suite",
    "dataset",
    "split",
    "language",
    "query_language",
    "document_language",
    "model",
    "label",
    "family",
    "adapter",
    *FACT_COLUMNS,
    "metric",
    "value",
    "primary",
    "reference",
    "reference_source",
    "num_queries",
    "num_documents",
    "sampled",
    "sample",
    "dataset_checksum",
    "k",
    "index_size_bytes",
    "documents_per_s",
    "queries_per_s",
    "search_qps",
    "latency_p50_ms",
    "latency_p95_ms",
    "peak_memory_bytes",
    "energy_kwh",
    "emissions_kg",
    "hardware",
    "sweep_group",
    "pruning_documents",
    "pruning_queries",
    "avg_active_terms_per_document",
    "avg_active_terms_per_query",
    "harness_version",
    "git_commit",
    "created_at",
]


def to_frame(results: Iterable[ResultRecord | StoredResult]) -> pd.DataFrame:
    """One row per (result, metric): the value, the paper's value where one is known (never for a sampled
    result), and the result's cost and provenance repeated on each of its rows so any row stands alone.
    `model` is the model's name, `label` the result's (`bm25 [50 queries]`), `sample` what was drawn."""
    import pandas as pd

    from harness.results.reference_book import ReferenceBook

    book = ReferenceBook()
    rows = []
    for record in _records(results):
        shared = _result_columns(record)
        for metric, value in record.metrics.items():
            reference = book.find(record, metric)
            rows.append(
                {
                    **shared,
                    "metric": metric,
                    "value": value,
                    "primary": metric == record.primary_metric,
                    "reference": reference.value if reference else None,
                    "reference_source": reference.source if reference else None,
                }
            )
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS)).astype(_COUNT_COLUMNS)


def load_frame(results_dir: Path | str) -> pd.DataFrame:
    """`to_frame` over every result under `results_dir`."""
    return to_frame(load(results_dir))


def per_query_frame(results: Iterable[ResultRecord | StoredResult]) -> pd.DataFrame:
    """One row per (model, dataset, language, metric, query): the per-query scores the means came from."""
    import pandas as pd

    rows = []
    for record in _records(results):
        unit = (record.suite, record.dataset, record.split, record.language, record.model.name, record.display_name)
        rows += [
            (*unit, metric, query_id, value)
            for metric, scores in record.per_query.items()
            for query_id, value in scores.items()
        ]
    columns = ["suite", "dataset", "split", "language", "model", "label", "metric", "query_id", "value"]
    return pd.DataFrame(rows, columns=columns)


def export_trec(results: Sequence[StoredResult], out_dir: Path | str, tag: str | None = None) -> list[Path]:
    """Each result's run as a plain TREC file, `<out>/<suite>/<label>/<dataset>.<language>.<split>.trec` (a sweep
    point adds its setting before `.trec`); the newest result of each label, so no file is written twice.

    The last column is `tag`, else the result's label (`bm25__50_queries_`), made one token (`run_tag`):
    trec_eval and ranx read it as the system name, and a label with spaces would add columns.
    """
    written = []
    newest = {id(record) for record in latest([result.record for result in results])}
    for result in results:
        record = result.record
        if id(record) not in newest:
            continue
        sweep = sweep_of(record)
        parts = [record.dataset, record.language, record.split]
        if sweep is not None:
            parts.append(f"{sweep.group}-{sweep.pruning.documents}-{sweep.pruning.queries}")
        name = ".".join(safe_name(part) for part in parts) + ".trec"
        target = Path(out_dir) / safe_name(record.suite) / safe_name(record.display_name) / name
        column = run_tag(tag if tag is not None else record.display_name)
        lines = (line.rsplit(" ", 1)[0] + f" {column}\n" for line in result.run_lines())
        atomic_write_text(target, "".join(lines))
        written.append(target)
    return written


# MTEB names its scores `<metric>_at_<k>`; these are the harness metric families it spells differently.
_MTEB_METRIC_NAMES = {"success": "hit_rate", "r-precision": "r_precision", "answer-recall": "answer_recall"}


def mteb_metric_name(metric: str) -> str:
    spec = parse_metric(metric)
    family = _MTEB_METRIC_NAMES.get(spec.family, spec.family)
    return family if spec.cutoff is None else f"{family}_at_{spec.cutoff}"


@dataclass(frozen=True)
class MtebTask:
    name: str
    revision: str
    subsets: dict[str, list[str]]  # hf_subset -> ["eng-Latn", ...]


@dataclass(frozen=True)
class MtebRegistry:
    """What the export borrows from MTEB: its retrieval tasks by lower-cased name, and the default script
    of each ISO 639-3 language (for `<language>-<script>` codes of datasets MTEB does not know)."""

    tasks: Mapping[str, MtebTask]
    scripts: Mapping[str, str]

    @classmethod
    def installed(cls) -> MtebRegistry:
        """From the installed mteb (an optional extra); empty without it."""
        try:
            import mteb
            from mteb.languages.iso_mappings import _get_iso3_to_default_script
        except ImportError:
            return cls({}, {})
        tasks = {}
        for task in mteb.get_tasks(task_types=["Retrieval"]):
            metadata = task.metadata
            tasks[metadata.name.lower()] = MtebTask(
                metadata.name, str(metadata.revision), dict(metadata.hf_subsets_to_langscripts)
            )
        return cls(tasks, dict(_get_iso3_to_default_script()))

    def task(self, dataset: str) -> MtebTask | None:
        """`scifact` -> SciFact, `xquad` -> XQuADRetrieval."""
        return self.tasks.get(dataset.lower()) or self.tasks.get(f"{dataset.lower()}retrieval")

    def language(self, code: str) -> str:
        """`de` -> `deu-Latn`, `zh` -> `zho-Hans`: MTEB's default script for the language, else CLDR's."""
        spelled = language_with_script(code)
        alpha_3 = spelled.partition("-")[0]
        return f"{alpha_3}-{self.scripts[alpha_3]}" if alpha_3 in self.scripts else spelled


_SNAPSHOT = re.compile(r"[/\\]snapshots[/\\]([0-9a-f]{40})(?:[/\\]|$)")


def model_revision(record: ResultRecord) -> str:
    """The revision of the weights a result ran: the card's pinned one, else the Hugging Face snapshot the weights
    were read from (its commit), else the checksum of a checkpoint folder's files, else the card's own digest
    (`card-<sha256>`), which changes whenever what ran could."""
    parameters = record.model.card.get("parameters", {}) or {}
    weights = record.model.details.get("weights", {}) or {}
    if parameters.get("revision") or weights.get("revision"):
        return str(parameters.get("revision") or weights.get("revision"))
    snapshot = _SNAPSHOT.search(str(weights.get("path", "")))
    if snapshot:
        return snapshot.group(1)
    if parameters.get("checksum"):
        return str(parameters["checksum"]).removeprefix("sha256:")[:40]
    return "card-" + record.model.card_sha256.removeprefix("sha256:")[:12]


def _mteb_model(record: ResultRecord) -> tuple[str, str]:
    """The model's hub name and revision as MTEB's results folders spell them."""
    parameters = record.model.card.get("parameters", {}) or {}
    return str(parameters.get("hub_id") or record.model.name), model_revision(record)


def _mteb_subset(record: ResultRecord, task: MtebTask | None, registry: MtebRegistry) -> tuple[str, list[str]]:
    """MTEB's subset for the result's language (`default` for a one-subset task) and its language codes."""
    if task is not None:
        if record.language in task.subsets:
            return record.language, task.subsets[record.language]
        if list(task.subsets) == ["default"]:
            return "default", task.subsets["default"]
    languages = dict.fromkeys([record.query_language, record.document_language])
    return record.language, [registry.language(code) for code in languages]


def mteb_exportable(record: ResultRecord) -> bool:
    """Whether `export_mteb` writes the result: a model's score on the full dataset, not a sample or a sweep point."""
    return sweep_of(record) is None and not record.sampled


def export_mteb(
    results: Iterable[ResultRecord | StoredResult],
    out_dir: Path | str,
    registry: MtebRegistry | None = None,
) -> list[Path]:
    """Results in the layout of MTEB's results repository, readable by `mteb.load_results`:
    `<out>/<org>__<model>/<revision>/<Task>.json` (one file per task, one score entry per language)
    and `model_meta.json`. Datasets MTEB knows take MTEB's task name, revision and subsets; `registry`
    defaults to the installed mteb's. Languages are `<ISO 639-3>-<ISO 15924>` (`zho-Hans`), the revision the
    one the weights resolved to (`model_revision`). Sampled results and sweep points are left out: MTEB's
    files hold full-dataset scores of a model, with nothing to say that a score came from a sample
    (`mteb_exportable` says which results are written)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        mteb_version = version("mteb")
    except PackageNotFoundError:
        mteb_version = None
    by_file: dict[tuple[str, str, str, str], list[ResultRecord]] = defaultdict(list)
    for record in latest(_records(results)):
        if not mteb_exportable(record):
            continue
        model, revision = _mteb_model(record)
        by_file[(model, revision, record.dataset, record.split)].append(record)
    written: list[Path] = []
    if registry is None:
        registry = MtebRegistry.installed() if by_file else MtebRegistry({}, {})
    for (model, revision, dataset, split), records in sorted(by_file.items()):
        task = registry.task(dataset)
        entries = []
        for record in sorted(records, key=lambda r: r.language):
            subset, languages = _mteb_subset(record, task, registry)
            scores = {mteb_metric_name(metric): value for metric, value in record.metrics.items()}
            entries.append(
                {
                    **scores,
                    "main_score": record.metrics[record.primary_metric],
                    "hf_subset": subset,
                    "languages": languages,
                }
            )
        emissions = [r.energy.emissions_kg for r in records if r.energy and r.energy.emissions_kg is not None]
        document = {
            "dataset_revision": task.revision if task else records[0].dataset_identity.get("checksum", "unknown"),
            "task_name": task.name if task else dataset,
            "mteb_version": mteb_version,
            "scores": {split: entries},
            "evaluation_time": sum(
                r.efficiency.corpus_encode_s
                + r.efficiency.query_encode_s
                + r.efficiency.index_build_s
                + r.efficiency.search_s
                for r in records
            ),
            "kg_co2_emissions": sum(emissions) if emissions else None,
        }
        folder = Path(out_dir) / safe_name(model.replace("/", "__")) / safe_name(revision)
        path = folder / f"{safe_name(str(document['task_name']))}.json"
        atomic_write_text(path, json.dumps(document, indent=2) + "\n")
        meta = {"name": model, "revision": revision, "framework": ["harness"], "loader": None}
        atomic_write_text(folder / "model_meta.json", json.dumps(meta, indent=2) + "\n")
        written.append(path)
    return written
