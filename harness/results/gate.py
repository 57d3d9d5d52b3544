"""Regression gate: expected scores kept as data, one YAML per suite and model, checked against results.

```yaml
# regressions/demo/bm25.yaml
suite: demo
model: bm25
tolerance: {ndcg@10: 0.001, recall@100: 0.001}       # absolute, either direction
efficiency_tolerance: {latency_p50_ms: 0.5, index_size_bytes: 0.05}  # relative growth
results:
  - dataset: demo
    language: en
    split: test
    checksum: sha256:...
    metrics: {ndcg@10: 0.812345, recall@100: 0.98}
    efficiency: {latency_p50_ms: 0.41, latency_p95_ms: 0.8, index_size_bytes: 144596}
```

Each value is OK within its tolerance, OKISH within 1.5 times it, FAIL beyond. Effectiveness fails in
both directions, as in Pyserini's regressions: a score that moved up without a known reason is a change
to review too. Efficiency (gated only when asked) fails on growth only. CI exits 0 when nothing
FAILs (OKISH is printed as a warning, not a failure), 1 when anything FAILs or an expected result is
missing. `update` rewrites the files from current results, keeping the tolerances; it records latency and
index size only when asked, and never a sampled result.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.core.errors import InputError
from harness.core.files import atomic_write_text, safe_name
from harness.core.yaml_files import load_yaml
from harness.evaluation import canonical_metric
from harness.record import ResultRecord
from harness.results.library import StoredResult, latest, sweep_of

DEFAULT_TOLERANCE = 0.001
EFFICIENCY_QUANTITIES = ("latency_p50_ms", "latency_p95_ms", "index_size_bytes")
DEFAULT_EFFICIENCY_TOLERANCE = {"latency_p50_ms": 0.5, "latency_p95_ms": 0.5, "index_size_bytes": 0.05}
OKISH_FACTOR = 1.5
HEADER = (
    "# Expected results for `harness gate` (suite {suite}, model {model}).\n"
    "# tolerance: absolute, per metric, either direction; efficiency_tolerance: relative growth, checked with\n"
    "# --efficiency. OK within tolerance, OKISH within 1.5x, FAIL beyond. Rewrite with `harness gate --update`\n"
    "# after reviewing a change.\n"
)


class Status(str, Enum):
    OK = "OK"
    OKISH = "OKISH"
    FAIL = "FAIL"
    MISSING = "MISSING"


def _check_quantities(values: dict[str, Any]) -> dict[str, Any]:
    for name in values:
        if name not in EFFICIENCY_QUANTITIES:
            raise ValueError(f"unknown efficiency quantity {name!r}; known: {', '.join(EFFICIENCY_QUANTITIES)}")
    return values


class ExpectedResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str
    language: str
    split: str
    checksum: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    efficiency: dict[str, int | float] = Field(default_factory=dict)

    @field_validator("metrics")
    @classmethod
    def _canonical(cls, metrics: dict[str, float]) -> dict[str, float]:
        return {canonical_metric(name): value for name, value in metrics.items()}

    @field_validator("efficiency")
    @classmethod
    def _known_quantities(cls, efficiency: dict[str, int | float]) -> dict[str, int | float]:
        return _check_quantities(efficiency)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.dataset, self.language, self.split)


class Expectations(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str
    model: str
    tolerance: dict[str, float] = Field(default_factory=dict)
    efficiency_tolerance: dict[str, float] = Field(default_factory=dict)
    results: list[ExpectedResult] = Field(default_factory=list)

    @field_validator("tolerance")
    @classmethod
    def _canonical(cls, tolerance: dict[str, float]) -> dict[str, float]:
        return {canonical_metric(name): value for name, value in tolerance.items()}

    @field_validator("efficiency_tolerance")
    @classmethod
    def _known_quantities(cls, tolerance: dict[str, float]) -> dict[str, float]:
        return _check_quantities(tolerance)

    @field_validator("tolerance", "efficiency_tolerance")
    @classmethod
    def _non_negative(cls, tolerance: dict[str, float]) -> dict[str, float]:
        for name, value in tolerance.items():
            if value < 0:
                raise ValueError(f"tolerance of {name} must not be negative, not {value}")
        return tolerance

    def metric_tolerance(self, metric: str) -> float:
        return self.tolerance.get(metric, DEFAULT_TOLERANCE)

    def efficiency_tolerance_of(self, quantity: str) -> float:
        return self.efficiency_tolerance.get(quantity, DEFAULT_EFFICIENCY_TOLERANCE[quantity])


def expectations_path(root: Path, suite: str, model: str) -> Path:
    return root / safe_name(suite) / f"{safe_name(model)}.yaml"


def read_expectations(path: Path) -> Expectations:
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise InputError("expected scores must be a YAML mapping", path=path)
    try:
        return Expectations.model_validate(data)
    except ValidationError as error:
        raise InputError.from_validation(error, path=path) from None
    except ValueError as error:  # an unknown metric name
        raise InputError(str(error).splitlines()[0], path=path) from None


def load_expectations(
    root: Path, suites: Sequence[str] | None = None, models: Sequence[str] | None = None
) -> list[tuple[Path, Expectations]]:
    """Every `<root>/<suite>/<model>.yaml`, optionally only these suites and models."""
    if not root.is_dir():
        raise InputError(
            "no expected scores here; record them with `harness gate --update --suite NAME` (or -m MODEL)", path=root
        )
    found = []
    for path in sorted(root.glob("*/*.y*ml")):
        expected = read_expectations(path)
        if (suites and expected.suite not in suites) or (models and expected.model not in models):
            continue
        found.append((path, expected))
    return found


def classify(deviation: float, tolerance: float) -> Status:
    """OK within the tolerance, OKISH within 1.5 times it, FAIL beyond (a hair of float slack)."""
    slack = 1e-9
    if deviation <= tolerance + slack:
        return Status.OK
    if deviation <= OKISH_FACTOR * tolerance + slack:
        return Status.OKISH
    return Status.FAIL


@dataclass(frozen=True)
class Check:
    suite: str
    model: str
    dataset: str
    language: str
    split: str
    quantity: str
    expected: float
    actual: float | None
    tolerance: float
    status: Status
    relative: bool = False  # efficiency: the tolerance is a relative growth

    @property
    def delta(self) -> float | None:
        if self.actual is None:
            return None
        if self.relative:
            return self.actual / self.expected - 1 if self.expected else math.inf
        return self.actual - self.expected


@dataclass
class GateReport:
    checks: list[Check] = field(default_factory=list)
    unexpected: list[ResultRecord] = field(default_factory=list)  # results no expectation covers
    changed_data: list[tuple[ExpectedResult, ResultRecord]] = field(default_factory=list)
    allow_missing: bool = False

    def count(self, status: Status) -> int:
        return sum(check.status == status for check in self.checks)

    @property
    def passed(self) -> bool:
        failing = {Status.FAIL} if self.allow_missing else {Status.FAIL, Status.MISSING}
        return not any(check.status in failing for check in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def _efficiency_values(record: ResultRecord) -> dict[str, int | float]:
    efficiency = record.efficiency
    values: dict[str, int | float] = {"index_size_bytes": efficiency.index_size_bytes}
    for quantile in ("p50", "p95"):
        if quantile in efficiency.search_latency_ms:
            values[f"latency_{quantile}_ms"] = efficiency.search_latency_ms[quantile]
    return values


def _index(records: Sequence[ResultRecord]) -> dict[tuple[str, str, str, str, str], ResultRecord]:
    plain = (r for r in latest(records) if sweep_of(r) is None)
    return {(r.suite, r.display_name, r.dataset, r.language, r.split): r for r in plain}


def gate(
    records: Sequence[ResultRecord],
    expectations: Sequence[Expectations],
    *,
    efficiency: bool = False,
    allow_missing: bool = False,
) -> GateReport:
    """Check every expected value against the newest matching result."""
    current = _index(records)
    report = GateReport(allow_missing=allow_missing)
    covered = set()
    for expected in expectations:
        for entry in expected.results:
            key = (expected.suite, expected.model, *entry.key)
            covered.add(key)
            record = current.get(key)
            if record is not None and entry.checksum and record.dataset_identity.get("checksum") != entry.checksum:
                report.changed_data.append((entry, record))
            for metric, value in entry.metrics.items():
                tolerance = expected.metric_tolerance(metric)
                actual = record.metrics.get(metric) if record is not None else None
                status = Status.MISSING if actual is None else classify(abs(actual - value), tolerance)
                report.checks.append(Check(*key, metric, value, actual, tolerance, status))
            if not efficiency:
                continue
            measured = _efficiency_values(record) if record is not None else {}
            for quantity, value in entry.efficiency.items():
                tolerance = expected.efficiency_tolerance_of(quantity)
                actual = measured.get(quantity)
                if actual is None:
                    status = Status.MISSING
                else:
                    growth = actual / value - 1 if value > 0 else (0.0 if actual <= 0 else math.inf)
                    status = classify(max(growth, 0.0), tolerance)
                report.checks.append(Check(*key, quantity, value, actual, tolerance, status, relative=True))
    suites_models = {(e.suite, e.model) for e in expectations}
    report.unexpected = [
        record for key, record in sorted(current.items()) if key not in covered and key[:2] in suites_models
    ]
    return report


def _chosen(record: ResultRecord, suites: Sequence[str] | None, models: Sequence[str] | None) -> bool:
    """Within the filters; a sampled result is chosen by its model's name too (`-m bm25` finds `bm25 [sampled]`)."""
    names = {record.display_name, record.model.name} if record.sampled else {record.display_name}
    return (not suites or record.suite in suites) and (not models or bool(names.intersection(models)))


def _unsampled_key(record: ResultRecord) -> tuple[str, ...]:
    return (record.suite, record.model.name, record.dataset, record.language, record.split)


def _refuse_sampled(results: Sequence[StoredResult]) -> None:
    """A sampled result's scores are not the dataset's: refused, unless a full-data result of the same model,
    dataset, language and split stands beside it (that one is recorded, the sample ignored)."""
    full = {_unsampled_key(stored.record) for stored in results if not stored.record.sampled}
    files = [str(s.path) for s in results if s.record.sampled and _unsampled_key(s.record) not in full]
    if files:
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        raise InputError(
            f"sampled results cannot become expected scores ({shown}); rerun without --max-queries/--corpus-sample",
            key="--update",
        )


def update(
    results: Sequence[StoredResult],
    root: Path,
    suites: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    *,
    efficiency: bool = False,
) -> list[Path]:
    """Rewrite `<root>/<suite>/<model>.yaml` from the current results, keeping each file's tolerances
    and the expectations no current result replaces.

    Latency and index size are measurements of one machine: they are recorded only with `efficiency`
    (otherwise each expectation keeps the ones it had). Sampled results are refused before anything is
    written."""
    chosen = [stored for stored in results if _chosen(stored.record, suites, models)]
    current = _index([stored.record for stored in chosen])
    newest = {id(record) for record in current.values()}
    _refuse_sampled([stored for stored in chosen if id(stored.record) in newest])
    grouped: dict[tuple[str, str], list[ResultRecord]] = defaultdict(list)
    for (suite, model, *_), record in sorted(current.items()):
        if not record.sampled:
            grouped[(suite, model)].append(record)
    if not grouped:
        raise InputError("no results match; nothing to record", key="--suite" if suites else None)
    written = []
    for (suite, model), group in grouped.items():
        path = expectations_path(root, suite, model)
        previous = read_expectations(path) if path.is_file() else Expectations(suite=suite, model=model)
        entries = {entry.key: entry for entry in previous.results}
        for record in group:
            key = (record.dataset, record.language, record.split)
            if efficiency:
                measured = {name: round(value, 4) for name, value in _efficiency_values(record).items()}
            else:
                measured = entries[key].efficiency if key in entries else {}
            entries[key] = ExpectedResult(
                dataset=record.dataset,
                language=record.language,
                split=record.split,
                checksum=record.dataset_identity.get("checksum"),
                metrics={name: round(value, 6) for name, value in record.metrics.items()},
                efficiency=measured,
            )
        metrics = dict.fromkeys(name for entry in entries.values() for name in entry.metrics)
        document = {
            "suite": suite,
            "model": model,
            "tolerance": {name: previous.metric_tolerance(name) for name in metrics},
            "efficiency_tolerance": {name: previous.efficiency_tolerance_of(name) for name in EFFICIENCY_QUANTITIES},
            "results": [entries[key].model_dump(exclude_defaults=True) for key in sorted(entries)],
        }
        text = HEADER.format(suite=" ".join(suite.split()), model=" ".join(model.split())) + yaml.safe_dump(
            document, sort_keys=False, allow_unicode=True
        )
        atomic_write_text(path, text)
        written.append(path)
    return written
