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
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pycountry
from pydantic import BaseModel, ConfigDict, ValidationError

from harness.core.errors import InputError
from harness.core.files import atomic_write_text
from harness.core.languages import lookup_language
from harness.data.formats import gzip_errors
from harness.evaluation.metrics import parse_metric
from harness.record import ResultRecord, iter_result_files, read_result

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
        "family": record.model.family,
        "adapter": record.model.adapter,
        **_fact_columns(record),
        "num_queries": record.dataset_identity.get("num_queries"),
        "num_documents": record.dataset_identity.get("num_documents"),
        "sampled": record.sampled,
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
    """One row per (model, dataset, language, metric): the value, the paper's value where one is known,
    and the result's cost and provenance repeated on each of its rows so any row stands alone."""
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

    rows = [
        (record.suite, record.dataset, record.split, record.language, record.model.name, metric, query_id, value)
        for record in _records(results)
        for metric, scores in record.per_query.items()
        for query_id, value in scores.items()
    ]
    return pd.DataFrame(rows, columns=["suite", "dataset", "split", "language", "model", "metric", "query_id", "value"])


def export_trec(results: Sequence[StoredResult], out_dir: Path | str, tag: str | None = None) -> list[Path]:
    """Each result's run as a plain TREC file, `<out>/<suite>/<model>/<dataset>.<language>.<split>.trec`.

    `tag` replaces the run name in the last column (trec_eval and ranx read it as the system name).
    """
    written = []
    for result in results:
        stem = result.path.name.removesuffix(".json")
        target = Path(out_dir) / result.path.parent.parent.name / result.path.parent.name / f"{stem}.trec"
        lines = result.run_lines()
        if tag is not None:
            lines = (line.rsplit(" ", 1)[0] + f" {tag}\n" for line in lines)
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
        """`de` -> `deu-Latn`; the script is `Zzzz` (ISO 15924 "uncoded") when the table lacks it."""
        language = lookup_language(code)
        alpha_3 = code
        if language is not None and len(language.code) == 2:
            alpha_3 = pycountry.languages.get(alpha_2=language.code).alpha_3
        return f"{alpha_3}-{self.scripts.get(alpha_3, 'Zzzz')}"


def _mteb_model(record: ResultRecord) -> tuple[str, str]:
    """The model's hub name and revision as MTEB's results folders spell them."""
    parameters = record.model.card.get("parameters", {}) or {}
    name = str(parameters.get("hub_id") or record.model.name)
    revision = str(parameters.get("revision") or "no_revision_available")
    return name, revision


def _mteb_subset(record: ResultRecord, task: MtebTask | None, registry: MtebRegistry) -> tuple[str, list[str]]:
    """MTEB's subset for the result's language (`default` for a one-subset task) and its language codes."""
    if task is not None:
        if record.language in task.subsets:
            return record.language, task.subsets[record.language]
        if list(task.subsets) == ["default"]:
            return "default", task.subsets["default"]
    languages = dict.fromkeys([record.query_language, record.document_language])
    return record.language, [registry.language(code) for code in languages]


def export_mteb(
    results: Iterable[ResultRecord | StoredResult],
    out_dir: Path | str,
    registry: MtebRegistry | None = None,
) -> list[Path]:
    """Results in the layout of MTEB's results repository, readable by `mteb.load_results`:
    `<out>/<org>__<model>/<revision>/<Task>.json` (one file per task, one score entry per language)
    and `model_meta.json`. Datasets MTEB knows take MTEB's task name, revision and subsets; `registry`
    defaults to the installed mteb's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        mteb_version = version("mteb")
    except PackageNotFoundError:
        mteb_version = None
    by_file: dict[tuple[str, str, str, str], list[ResultRecord]] = defaultdict(list)
    for record in _records(results):
        if sweep_of(record) is not None:
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
        folder = Path(out_dir) / model.replace("/", "__") / revision
        path = folder / f"{document['task_name']}.json"
        atomic_write_text(path, json.dumps(document, indent=2) + "\n")
        meta = {"name": model, "revision": revision, "framework": ["harness"], "loader": None}
        atomic_write_text(folder / "model_meta.json", json.dumps(meta, indent=2) + "\n")
        written.append(path)
    return written
