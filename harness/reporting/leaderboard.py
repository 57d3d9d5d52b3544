"""The leaderboard as data: per suite, models x (dataset, language) on the suite's metric, with the
published value where one is known, cost, cross-lingual matrices and sparsity sweeps.

Rendering (HTML, Markdown, LaTeX) only formats what is computed here, so the numbers are tested once.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from statistics import fmean

from harness.catalog.suites import Suite
from harness.record import ResultRecord
from harness.results import Sweep, fusion_of, hardware_label, latest, result_id, sweep_of
from harness.results.averages import SuiteAverage, suite_averages
from harness.results.reference_book import Reference, ReferenceBook


@dataclass(frozen=True)
class Column:
    dataset: str
    language: str
    show_dataset: bool = True

    @property
    def label(self) -> str:
        return f"{self.dataset}/{self.language}" if self.show_dataset else self.language


@dataclass(frozen=True)
class Cell:
    value: float | None
    sampled: bool
    result_id: str
    reference: Reference | None = None

    @property
    def delta(self) -> float | None:
        """Measured minus published."""
        return None if self.value is None or self.reference is None else self.value - self.reference.value


@dataclass(frozen=True)
class Cost:
    """A model's cost over one suite: index size and energy summed over its results, rates and
    latencies averaged, peak memory the maximum."""

    index_size_bytes: int
    documents_per_s: float | None
    queries_per_s: float | None
    search_qps: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    peak_memory_bytes: int
    energy_kwh: float | None
    emissions_kg: float | None
    hardware: str


@dataclass
class ModelRow:
    model: str
    family: str
    cells: dict[Column, Cell]
    average: float | None
    cost: Cost
    rank: int = 0
    average_reference: Reference | None = None
    components: tuple[str, ...] = ()  # the fused models, for a result of `harness fuse`

    @property
    def family_label(self) -> str:
        """The family, or for a fused row what it fuses (its cost is theirs summed)."""
        return f"fused: {' + '.join(self.components)}" if self.components else self.family

    @property
    def average_delta(self) -> float | None:
        """Measured average minus the published one."""
        if self.average is None or self.average_reference is None:
            return None
        return self.average - self.average_reference.value

    @property
    def scores(self) -> dict[Column, float | None]:
        return {column: cell.value for column, cell in self.cells.items()}

    @property
    def sampled(self) -> bool:
        return any(cell.sampled for cell in self.cells.values())


@dataclass(frozen=True)
class Reproduction:
    """A measured value next to the published one."""

    model: str
    column: Column
    metric: str
    value: float
    reference: Reference

    @property
    def delta(self) -> float:
        return self.value - self.reference.value


@dataclass
class LanguageMatrix:
    """Query language x document language for one model and dataset; the diagonal is monolingual."""

    model: str
    dataset: str
    languages: list[str]
    values: dict[tuple[str, str], float]

    def get(self, query_language: str, document_language: str) -> float | None:
        return self.values.get((query_language, document_language))

    @property
    def best(self) -> float:
        return max(self.values.values())

    @property
    def worst(self) -> float:
        return min(self.values.values())


@dataclass(frozen=True)
class SweepPoint:
    model: str
    column: Column
    sweep: Sweep
    score: float | None
    latency_p50_ms: float | None
    index_size_bytes: int
    result_id: str


@dataclass
class SweepGroup:
    name: str
    points: list[SweepPoint]

    def series(self) -> dict[str, list[SweepPoint]]:
        """Points by line to draw: one per dataset/language (and model, when a group holds several)."""
        several_models = len({p.model for p in self.points}) > 1
        lines: dict[str, list[SweepPoint]] = defaultdict(list)
        for point in self.points:
            name = f"{point.model} {point.column.label}" if several_models else point.column.label
            lines[name].append(point)
        return dict(lines)


@dataclass
class SuiteBoard:
    suite: str
    metric: str
    columns: list[Column]
    rows: list[ModelRow]
    results: list[ResultRecord] = field(default_factory=list)
    reproductions: list[Reproduction] = field(default_factory=list)
    matrices: list[LanguageMatrix] = field(default_factory=list)
    sweeps: list[SweepGroup] = field(default_factory=list)
    averages: list[SuiteAverage] = field(default_factory=list)  # those the suite's YAML declares

    @property
    def averages_missing_members(self) -> bool:
        return any(average.missing for average in self.averages)

    @cached_property
    def best(self) -> dict[Column, float]:
        """The best score in each column, for highlighting (templates ask per cell: computed once)."""
        best: dict[Column, float] = {}
        for column in self.columns:
            values = [v for row in self.rows if (v := row.scores.get(column)) is not None]
            if values:
                best[column] = max(values)
        return best

    @property
    def anchor(self) -> str:
        return "suite-" + hashlib.sha1(self.suite.encode("utf-8")).hexdigest()[:10]


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def _sum(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def build_boards(results: Sequence[ResultRecord], suites: Mapping[str, Suite] | None = None) -> list[SuiteBoard]:
    """One board per suite; `suites` (by name) adds the averages each declares."""
    by_suite: dict[str, list[ResultRecord]] = defaultdict(list)
    for record in latest(results):
        by_suite[record.suite].append(record)
    book = ReferenceBook()
    return [_board(suite, by_suite[suite], book, (suites or {}).get(suite)) for suite in sorted(by_suite)]


def _board(suite: str, records: list[ResultRecord], book: ReferenceBook, spec: Suite | None = None) -> SuiteBoard:
    ranked_records = [r for r in records if sweep_of(r) is None]
    sweep_records = [r for r in records if sweep_of(r) is not None]
    metric = _main_metric(ranked_records or sweep_records)
    several_datasets = len({r.dataset for r in records}) > 1

    def column_of(record: ResultRecord) -> Column:
        return Column(record.dataset, record.language, several_datasets)

    # monolingual columns first, then the cross-lingual pairs, each alphabetically
    columns = sorted({column_of(r) for r in ranked_records}, key=lambda c: (c.dataset, "-" in c.language, c.language))
    by_model: dict[str, list[ResultRecord]] = defaultdict(list)
    for record in ranked_records:
        by_model[record.display_name].append(record)
    groups = {d.name: d.group for d in spec.spec.datasets if d.group} if spec else {}
    rows = [_row(model, by_model[model], columns, metric, column_of, groups, book) for model in sorted(by_model)]
    rows.sort(key=lambda r: (r.average is None, -(r.average or 0.0), r.model))
    for position, row in enumerate(rows, start=1):
        row.rank = position
    reproductions = [
        Reproduction(record.display_name, column_of(record), name, value, reference)
        for record in sorted(ranked_records, key=lambda r: (r.display_name, r.dataset, r.language))
        for name, value in record.metrics.items()
        if (reference := book.find(record, name)) is not None
    ]
    return SuiteBoard(
        suite=suite,
        metric=metric,
        columns=columns,
        rows=rows,
        results=sorted(ranked_records, key=lambda r: (r.display_name, r.dataset, r.language)),
        reproductions=reproductions,
        matrices=_matrices(ranked_records, metric),
        sweeps=_sweeps(sweep_records, metric, column_of),
        averages=suite_averages(spec, ranked_records, metric) if spec and ranked_records else [],
    )


def _main_metric(records: Sequence[ResultRecord]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for record in records:
        counts[record.primary_metric] += 1
    return max(sorted(counts), key=lambda m: counts[m])


ColumnOf = Callable[[ResultRecord], Column]


def _grouped_mean(values: Mapping[Column, float], groups: Mapping[str, str]) -> float:
    """The mean over columns, the datasets of one group (BEIR's CQADupStack forums) first averaged into one."""
    members: dict[tuple[str, str], list[float]] = defaultdict(list)
    for column, value in values.items():
        members[(groups.get(column.dataset, column.dataset), column.language)].append(value)
    return fmean(fmean(group) for group in members.values())


def _row(
    model: str,
    records: list[ResultRecord],
    columns: list[Column],
    metric: str,
    column_of: ColumnOf,
    groups: Mapping[str, str],
    book: ReferenceBook,
) -> ModelRow:
    cells = {
        column_of(record): Cell(
            value=record.metrics.get(metric),
            sampled=record.sampled,
            result_id=result_id(record),
            reference=book.find(record, metric),
        )
        for record in records
    }
    complete = all(column in cells and cells[column].value is not None for column in columns)
    efficiency = [r.efficiency for r in records]
    energies = [r.energy for r in records if r.energy is not None]
    cost = Cost(
        index_size_bytes=sum(e.index_size_bytes for e in efficiency),
        documents_per_s=_mean([e.documents_per_s for e in efficiency]),
        queries_per_s=_mean([e.queries_per_s for e in efficiency]),
        search_qps=_mean([e.search_qps for e in efficiency]),
        latency_p50_ms=_mean([e.search_latency_ms.get("p50") for e in efficiency]),
        latency_p95_ms=_mean([e.search_latency_ms.get("p95") for e in efficiency]),
        peak_memory_bytes=max(e.peak_memory_bytes for e in efficiency),
        energy_kwh=_sum([e.energy_kwh for e in energies]),
        emissions_kg=_sum([e.emissions_kg for e in energies]),
        hardware=" / ".join(sorted({hardware_label(r) for r in records})),
    )
    values = {c: value for c in columns if c in cells and (value := cells[c].value) is not None}
    average = _grouped_mean(values, groups) if complete and columns else None
    fusion = fusion_of(records[0])
    return ModelRow(
        model=model,
        family=records[0].model.family,
        cells=cells,
        average=average,
        cost=cost,
        average_reference=book.average(records, metric) if average is not None else None,
        components=tuple(fusion.component_models) if fusion else (),
    )


def _matrices(records: Sequence[ResultRecord], metric: str) -> list[LanguageMatrix]:
    """A matrix for each (model, dataset) that has at least one cross-lingual result."""
    grouped: dict[tuple[str, str], list[ResultRecord]] = defaultdict(list)
    for record in records:
        grouped[(record.display_name, record.dataset)].append(record)
    matrices = []
    for (model, dataset), group in sorted(grouped.items()):
        crossing = [r for r in group if r.query_language != r.document_language]
        if not crossing:
            continue
        involved = {code for r in crossing for code in (r.query_language, r.document_language)}
        values = {
            (r.query_language, r.document_language): r.metrics[metric]
            for r in group
            if metric in r.metrics and r.query_language in involved and r.document_language in involved
        }
        matrices.append(LanguageMatrix(model, dataset, sorted(involved), values))
    return matrices


def _sweeps(records: Sequence[ResultRecord], metric: str, column_of: ColumnOf) -> list[SweepGroup]:
    groups: dict[str, list[SweepPoint]] = defaultdict(list)
    for record in records:
        sweep = sweep_of(record)
        if sweep is None:
            continue
        groups[sweep.group].append(
            SweepPoint(
                model=record.display_name,
                column=column_of(record),
                sweep=sweep,
                score=record.metrics.get(metric),
                latency_p50_ms=record.efficiency.search_latency_ms.get("p50"),
                index_size_bytes=record.efficiency.index_size_bytes,
                result_id=result_id(record),
            )
        )
    return [
        SweepGroup(
            name, sorted(points, key=lambda p: (p.model, p.column.label, p.sweep.avg_active_terms_per_document or 0))
        )
        for name, points in sorted(groups.items())
    ]
