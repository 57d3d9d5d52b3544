"""The leaderboard as data: per suite, models x (dataset, language) on the primary metric, plus cost.

Rendering (Markdown, HTML) only formats what is computed here, so the numbers are tested once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import fmean

from harness.record import ResultRecord


@dataclass(frozen=True)
class Column:
    dataset: str
    language: str
    show_dataset: bool = True

    @property
    def label(self) -> str:
        return f"{self.dataset}/{self.language}" if self.show_dataset else self.language


@dataclass
class ModelRow:
    model: str
    family: str
    scores: dict[Column, float | None]
    sampled: set[Column]
    average: float | None
    rank: int = 0
    index_size_bytes: int = 0
    documents_per_s: float | None = None
    queries_per_s: float | None = None
    search_qps: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    peak_memory_bytes: int = 0
    energy_kwh: float | None = None
    emissions_kg: float | None = None
    hardware: str = ""


@dataclass
class SuiteBoard:
    suite: str
    metric: str
    columns: list[Column]
    rows: list[ModelRow]
    results: list[ResultRecord] = field(default_factory=list)

    @property
    def best(self) -> dict[Column, float]:
        """The best score in each column, for highlighting."""
        best: dict[Column, float] = {}
        for column in self.columns:
            values = [v for row in self.rows if (v := row.scores.get(column)) is not None]
            if values:
                best[column] = max(values)
        return best


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def _sum(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _hardware(record: ResultRecord) -> str:
    hw = record.environment.get("hardware", {})
    gpu = hw.get("gpu")
    return gpu["name"] if isinstance(gpu, dict) else f"{hw.get('cpu', '?')} ({hw.get('cpu_cores', '?')} cores)"


def _latest(results: Sequence[ResultRecord]) -> list[ResultRecord]:
    """One result per (suite, model, dataset, language, split): the newest."""
    latest: dict[tuple[str, ...], ResultRecord] = {}
    for record in results:
        key = (record.suite, record.model.name, record.dataset, record.language, record.split)
        if key not in latest or record.created_at >= latest[key].created_at:
            latest[key] = record
    return list(latest.values())


def build_boards(results: Sequence[ResultRecord]) -> list[SuiteBoard]:
    by_suite: dict[str, list[ResultRecord]] = defaultdict(list)
    plain = [r for r in results if "sweep" not in (r.model_extra or {})]  # sweep points are curves, not rows
    for record in _latest(plain):
        by_suite[record.suite].append(record)
    boards = []
    for suite in sorted(by_suite):
        records = by_suite[suite]
        metric = _main_metric(records)
        several_datasets = len({r.dataset for r in records}) > 1
        columns = sorted(
            {Column(r.dataset, r.language, several_datasets) for r in records}, key=lambda c: (c.dataset, c.language)
        )
        by_model: dict[str, list[ResultRecord]] = defaultdict(list)
        for record in records:
            by_model[record.model.name].append(record)
        rows = [_row(model, by_model[model], columns, metric, several_datasets) for model in sorted(by_model)]
        ranked = sorted(rows, key=lambda r: (r.average is None, -(r.average or 0.0), r.model))
        for position, row in enumerate(ranked, start=1):
            row.rank = position
        boards.append(SuiteBoard(suite=suite, metric=metric, columns=columns, rows=ranked, results=records))
    return boards


def _main_metric(records: Sequence[ResultRecord]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for record in records:
        counts[record.primary_metric] += 1
    return max(sorted(counts), key=lambda m: counts[m])


def _row(
    model: str, records: list[ResultRecord], columns: list[Column], metric: str, show_dataset: bool
) -> ModelRow:
    scores: dict[Column, float | None] = {}
    sampled: set[Column] = set()
    for record in records:
        column = Column(record.dataset, record.language, show_dataset)
        scores[column] = record.metrics.get(metric)
        if record.sampled:
            sampled.add(column)
    effs = [r.efficiency for r in records]
    energies = [r.energy for r in records if r.energy is not None]
    return ModelRow(
        model=model,
        family=records[0].model.family,
        scores=scores,
        sampled=sampled,
        average=_mean([scores.get(c) for c in columns]) if all(scores.get(c) is not None for c in columns) else None,
        index_size_bytes=sum(e.index_size_bytes for e in effs),
        documents_per_s=_mean([e.documents_per_s for e in effs]),
        queries_per_s=_mean([e.queries_per_s for e in effs]),
        search_qps=_mean([e.search_qps for e in effs]),
        latency_p50_ms=_mean([e.search_latency_ms.get("p50") for e in effs]),
        latency_p95_ms=_mean([e.search_latency_ms.get("p95") for e in effs]),
        peak_memory_bytes=max(e.peak_memory_bytes for e in effs),
        energy_kwh=_sum([e.energy_kwh for e in energies]),
        emissions_kg=_sum([e.emissions_kg for e in energies]),
        hardware=_hardware(records[0]),
    )
