"""Suite averages as papers publish them: BEIR over all datasets and over large collections, MIRACL
over languages. An average exists only when every member has a result; otherwise it lists what is
missing rather than averaging a subset.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from harness.record import ResultRecord
from harness.suite import AverageSpec, Suite, suite_metric


@dataclass(frozen=True)
class SuiteAverage:
    name: str
    model: str
    metric: str
    scope: str  # the language label averaged over datasets, or the dataset averaged over languages
    value: float | None  # None while members are missing
    members: tuple[str, ...]
    missing: tuple[str, ...]
    sampled: bool  # some member was computed on a sample


def _dataset_members(suite: Suite, spec: AverageSpec) -> list[str]:
    """Entries averaged over: dataset names, with each `group` standing once for its datasets."""
    members: list[str] = []
    for dataset in suite.spec.datasets:
        if spec.datasets is not None and dataset.name not in spec.datasets:
            continue
        if spec.datasets is None and not dataset.default:
            continue
        if spec.min_documents is not None and (dataset.documents or 0) < spec.min_documents:
            continue
        entry = dataset.group or dataset.name
        if entry not in members:
            members.append(entry)
    return members


def suite_averages(suite: Suite, records: Sequence[ResultRecord], metric: str | None = None) -> list[SuiteAverage]:
    """Every average the suite declares, per model, for `metric` (default: the suite's primary metric)."""
    wanted = suite_metric(metric) if metric else suite.spec.primary_metric
    group_of = {dataset.name: dataset.group or dataset.name for dataset in suite.spec.datasets}
    # model -> (entry, language) -> list of (value, sampled) of its datasets
    cells: dict[str, dict[tuple[str, str], list[tuple[float, bool]]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        if record.suite != suite.name or wanted not in record.metrics or record.dataset not in group_of:
            continue
        cells[record.model.name][(group_of[record.dataset], record.language)].append(
            (record.metrics[wanted], record.sampled)
        )
    group_sizes = defaultdict(int)
    for dataset in suite.spec.datasets:
        group_sizes[dataset.group or dataset.name] += 1

    def entry_value(model_cells: dict, entry: str, language: str) -> tuple[float, bool] | None:
        values = model_cells.get((entry, language), [])
        if len(values) < group_sizes[entry]:
            return None
        return sum(v for v, _ in values) / len(values), any(s for _, s in values)

    averages: list[SuiteAverage] = []
    for spec in suite.spec.averages:
        for model, model_cells in sorted(cells.items()):
            if spec.over == "datasets":
                members = _dataset_members(suite, spec)
                scopes = sorted({language for _, language in model_cells})
                pairs = [(scope, [(member, scope) for member in members]) for scope in scopes]
            else:
                names = spec.datasets or [d.name for d in suite.spec.datasets if d.default]
                pairs = [
                    (name, [(name, pair.label) for pair in suite.dataset(name).pairs()])
                    for name in names
                    if any(entry == name for entry, _ in model_cells)
                ]
            for scope, wanted_cells in pairs:
                found = {cell: entry_value(model_cells, *cell) for cell in wanted_cells}
                missing = tuple(
                    entry if spec.over == "datasets" else language
                    for (entry, language), v in found.items()
                    if v is None
                )
                present = [v for v in found.values() if v is not None]
                value = sum(v for v, _ in present) / len(present) if present and not missing else None
                averages.append(
                    SuiteAverage(
                        name=spec.name,
                        model=model,
                        metric=wanted,
                        scope=scope,
                        value=value,
                        members=tuple(entry if spec.over == "datasets" else language for entry, language in found),
                        missing=missing,
                        sampled=any(s for _, s in present),
                    )
                )
    return averages
