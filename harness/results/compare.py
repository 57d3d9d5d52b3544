"""Paired significance tests between models, on the per-query scores each result recorded.

For every (dataset, language) both a baseline and a model were run on, the per-query values of a
metric (the ones the harness's trec_eval -c protocol produced, a judged query without results
counting 0) are paired by query id and tested:

* `student`: two-sided paired Student's t-test, computed by ranx (`paired_student_t_test`).
* `fisher`: Fisher's two-sided paired randomization test (Smucker et al., CIKM 2007): each query's
  pair of scores is swapped at random, i.e. the sign of its difference flipped. ranx implements the
  same test, but its numba-parallel random generator ignores the seed (the same call gives different
  p-values run to run), so this module draws the permutations from a seeded numpy generator:
  the same inputs always give the same p-value, which agrees with ranx's within Monte Carlo error.
  With few queries every sign assignment is enumerated and the p-value is exact.

p-values are corrected with Holm-Bonferroni across the (dataset, language) units of a comparison,
separately for each model against the baseline, each metric and each test.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import fmean

import numpy as np

from harness.core.errors import InputError
from harness.evaluation import canonical_metric
from harness.record import ResultRecord
from harness.results.library import latest, resolve_labels, sweep_of

TESTS = {"student": "paired t-test", "fisher": "Fisher's randomization test"}


def paired_t_test(baseline: np.ndarray, model: np.ndarray) -> float:
    """Two-sided paired t-test p-value; 1.0 (no evidence) when the systems agree on every query or the
    test is undefined (a single query)."""
    from ranx.statistical_tests import paired_student_t_test

    if np.array_equal(baseline, model):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's precision note on near-constant differences
        p_value, _ = paired_student_t_test(baseline, model, 1.0)
    return 1.0 if math.isnan(p_value) else float(p_value)


def randomization_test(baseline: np.ndarray, model: np.ndarray, permutations: int = 10_000, seed: int = 42) -> float:
    """Two-sided paired randomization test: the share of sign flips of the per-query differences whose
    mean is at least as far from 0 as the observed one. Exact when 2^n <= permutations; otherwise
    (count + 1) / (permutations + 1), which never reports an impossible p of 0."""
    differences = np.asarray(model, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    n = len(differences)
    if n == 0 or not np.any(differences):
        return 1.0
    observed = abs(differences.mean())
    tolerance = 1e-12 * max(1.0, observed)
    if 2**n <= permutations:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        means = np.abs(signs @ differences) / n
        return float(np.mean(means >= observed - tolerance))
    rng = np.random.default_rng(seed)
    extreme = 0
    for start in range(0, permutations, 2048):
        size = min(2048, permutations - start)
        signs = rng.integers(0, 2, size=(size, n), dtype=np.int8) * 2 - 1
        extreme += int(np.count_nonzero(np.abs(signs @ differences) / n >= observed - tolerance))
    return (extreme + 1) / (permutations + 1)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for position, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - position) * p_values[index]))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True)
class Unit:
    suite: str
    dataset: str
    language: str
    split: str

    def label(self, show_suite: bool = False, show_dataset: bool = True) -> str:
        parts = ([self.suite] if show_suite else []) + ([self.dataset] if show_dataset else []) + [self.language]
        return "/".join(parts)


@dataclass(frozen=True)
class TestOutcome:
    p_value: float
    p_adjusted: float
    significant: bool


@dataclass(frozen=True)
class PairedResult:
    """One model against the baseline on one unit and metric."""

    unit: Unit
    metric: str
    model: str
    baseline_score: float
    score: float
    num_queries: int
    wins: int
    ties: int
    losses: int
    tests: dict[str, TestOutcome]

    @property
    def delta(self) -> float:
        return self.score - self.baseline_score

    def mark(self, test: str) -> str:
        """▲ significantly better than the baseline, ▼ significantly worse, "" otherwise."""
        outcome = self.tests.get(test)
        if outcome is None or not outcome.significant or self.delta == 0:
            return ""
        return "▲" if self.delta > 0 else "▼"


@dataclass
class Comparison:
    baseline: str
    models: list[str]  # the baseline first
    metrics: list[str]
    units: list[Unit]
    alpha: float
    tests: list[str]
    mark_test: str
    permutations: int
    seed: int
    scores: dict[tuple[str, Unit, str], float]
    results: list[PairedResult]
    skipped: list[tuple[Unit, list[str]]] = field(default_factory=list)

    def result(self, model: str, unit: Unit, metric: str) -> PairedResult:
        for item in self.results:
            if item.model == model and item.unit == unit and item.metric == metric:
                return item
        raise KeyError((model, unit, metric))

    def average(self, model: str, metric: str) -> float:
        return fmean(self.scores[(model, unit, metric)] for unit in self.units)

    @property
    def show_suite(self) -> bool:
        """Name the suite only when one dataset name stands in two suites."""
        pairs = {(u.suite, u.dataset) for u in self.units}
        return len({dataset for _, dataset in pairs}) < len(pairs)

    @property
    def show_dataset(self) -> bool:
        return len({(u.suite, u.dataset) for u in self.units}) > 1

    @property
    def datasets(self) -> str:
        """The compared suites/datasets, for titles."""
        return ", ".join(dict.fromkeys(f"{u.suite}/{u.dataset}" if self.show_suite else u.dataset for u in self.units))

    def label(self, unit: Unit) -> str:
        return unit.label(self.show_suite, self.show_dataset)

    def column_groups(self) -> list[tuple[str, list[Unit]]]:
        """Units grouped by dataset (and suite, when several), in order: the header of a paper's table."""
        groups: dict[str, list[Unit]] = {}
        for unit in self.units:
            groups.setdefault(f"{unit.suite}/{unit.dataset}" if self.show_suite else unit.dataset, []).append(unit)
        return list(groups.items())

    def best(self, unit: Unit, metric: str) -> float:
        return max(self.scores[(model, unit, metric)] for model in self.models)


def _records_by_unit(
    records: Sequence[ResultRecord], suites: Sequence[str] | None
) -> dict[Unit, dict[str, ResultRecord]]:
    by_unit: dict[Unit, dict[str, ResultRecord]] = defaultdict(dict)
    for record in latest(records):
        if sweep_of(record) is not None or (suites and record.suite not in suites):
            continue
        by_unit[Unit(record.suite, record.dataset, record.language, record.split)][record.display_name] = record
    return by_unit


def _paired_values(
    unit: Unit, metric: str, baseline: ResultRecord, other: ResultRecord
) -> tuple[np.ndarray, np.ndarray]:
    where = unit.label(show_suite=True)
    for record in (baseline, other):
        if metric not in record.per_query:
            known = ", ".join(sorted(record.per_query)) or "none"
            raise InputError(
                f"{record.display_name} on {where} has no per-query {metric} (it has {known})", key="--metric"
            )
    if baseline.dataset_identity.get("checksum") != other.dataset_identity.get("checksum"):
        raise InputError(
            f"{baseline.display_name} and {other.display_name} on {where} were run on different data "
            f"({baseline.dataset_identity.get('checksum')} vs {other.dataset_identity.get('checksum')})"
        )
    first, second = baseline.per_query[metric], other.per_query[metric]
    if first.keys() != second.keys():
        raise InputError(
            f"{baseline.display_name} and {other.display_name} on {where} were evaluated on different queries "
            f"({len(first)} vs {len(second)}, {len(first.keys() ^ second.keys())} not shared)"
        )
    query_ids = sorted(first)
    return np.array([first[q] for q in query_ids]), np.array([second[q] for q in query_ids])


def compare(
    records: Sequence[ResultRecord],
    models: Sequence[str],
    *,
    suites: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    alpha: float = 0.05,
    tests: Sequence[str] = ("student", "fisher"),
    mark_test: str = "student",
    permutations: int = 10_000,
    seed: int = 42,
) -> Comparison:
    """Every model in `models[1:]` against `models[0]` on each unit all of them were run on. A model is named by
    a result label or by its bare name when that has one label (`resolve_labels`)."""
    if len(models) < 2 or len(set(models)) != len(models):
        raise InputError("name at least two different models: the baseline first, then the models to compare")
    for name in tests:
        if name not in TESTS:
            raise InputError(f"unknown test {name!r}; choose from {', '.join(TESTS)}", key="--test")
    if mark_test not in tests:
        raise InputError(f"the marks use {mark_test!r}, which is not among the tests run", key="--mark")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, not {alpha}", key="--alpha")
    by_unit = _records_by_unit(records, suites)
    models = resolve_labels([record for runs in by_unit.values() for record in runs.values()], models, "models")
    if len(set(models)) != len(models):
        raise InputError(f"two of the names mean the same result ({', '.join(models)})", key="models")
    found_models = {name for runs in by_unit.values() for name in runs}
    missing = [m for m in models if m not in found_models]
    if missing:
        where = f" in suite(s) {', '.join(suites)}" if suites else ""
        known = ", ".join(sorted(found_models)) or "none"
        raise InputError(
            f"no results for {', '.join(missing)}{where}; models with results: {known}",
            key="models",
        )
    units, skipped = [], []
    for unit in sorted(by_unit, key=lambda u: (u.suite, u.dataset, u.language, u.split)):
        absent = [m for m in models if m not in by_unit[unit]]
        if not absent:
            units.append(unit)
        elif len(absent) < len(models):
            skipped.append((unit, absent))
    if not units:
        raise InputError(f"no dataset/language has results for all of {', '.join(models)}")
    baseline = models[0]
    chosen = [canonical_metric(m) for m in metrics] if metrics else [_primary(by_unit, units, baseline)]
    scores: dict[tuple[str, Unit, str], float] = {}
    results: list[PairedResult] = []
    for metric in chosen:
        for model in models[1:]:
            raw: list[tuple[Unit, np.ndarray, np.ndarray]] = []
            for unit in units:
                first, second = _paired_values(unit, metric, by_unit[unit][baseline], by_unit[unit][model])
                raw.append((unit, first, second))
                scores[(baseline, unit, metric)] = float(first.mean())
                scores[(model, unit, metric)] = float(second.mean())
            p_values = {
                test: [
                    paired_t_test(a, b) if test == "student" else randomization_test(a, b, permutations, seed)
                    for _, a, b in raw
                ]
                for test in tests
            }
            adjusted = {test: holm(values) for test, values in p_values.items()}
            for index, (unit, first, second) in enumerate(raw):
                results.append(
                    PairedResult(
                        unit=unit,
                        metric=metric,
                        model=model,
                        baseline_score=float(first.mean()),
                        score=float(second.mean()),
                        num_queries=len(first),
                        wins=int(np.sum(second > first)),
                        ties=int(np.sum(second == first)),
                        losses=int(np.sum(second < first)),
                        tests={
                            test: TestOutcome(
                                p_values[test][index], adjusted[test][index], adjusted[test][index] <= alpha
                            )
                            for test in tests
                        },
                    )
                )
    return Comparison(
        baseline=baseline,
        models=list(models),
        metrics=chosen,
        units=units,
        alpha=alpha,
        tests=list(tests),
        mark_test=mark_test,
        permutations=permutations,
        seed=seed,
        scores=scores,
        results=results,
        skipped=skipped,
    )


def _primary(by_unit: dict[Unit, dict[str, ResultRecord]], units: list[Unit], baseline: str) -> str:
    counts: dict[str, int] = defaultdict(int)
    for unit in units:
        counts[by_unit[unit][baseline].primary_metric] += 1
    return max(sorted(counts), key=lambda m: counts[m])
