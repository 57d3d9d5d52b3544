"""Suite averages as papers publish them: BEIR over all datasets and over large collections, MIRACL
over languages. An average exists only when every member has a result; otherwise it lists what is
missing rather than averaging a subset.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from harness.catalog.suites import AverageSpec, Suite
from harness.evaluation import canonical_metric
from harness.record import ResultRecord

Cell = tuple[str, str]  # (dataset, language label)


@dataclass(frozen=True)
class SuiteAverage:
    name: str
    model: str
    metric: str
    scope: str  # the language averaged over datasets, or the dataset averaged over languages
    value: float | None  # None while a member is missing
    members: tuple[str, ...]  # datasets (a group such as BEIR's CQADupStack counts once) or languages
    missing: tuple[str, ...]
    sampled: bool  # some member was computed on a sample
    over: str = "datasets"  # or "languages"
    groups: tuple[tuple[str, int], ...] = ()  # (member, how many datasets it averages) for grouped members
    missing_in_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (missing group, its absent datasets)

    @property
    def label(self) -> str:
        """What is averaged, for reports: "all (en): 15 datasets; cqadupstack = mean of its 12"."""
        text = f"{self.name} ({self.scope}): {len(self.members)} {self.over}"
        return text + "".join(f"; {member} = mean of its {count}" for member, count in self.groups)

    @property
    def missing_label(self) -> str:
        """ "1 of 15: cqadupstack (cqadupstack-gis)", or "none"."""
        if not self.missing:
            return "none"
        absent = dict(self.missing_in_groups)
        names = [f"{m} ({', '.join(absent[m])})" if m in absent else m for m in self.missing]
        return f"{len(self.missing)} of {len(self.members)}: " + ", ".join(names)


def _members(suite: Suite, spec: AverageSpec, languages: set[str]) -> Iterator[tuple[str, dict[str, list[Cell]]]]:
    """(scope, {member: the cells averaged into it}) for each scope the average covers."""
    chosen = [
        d
        for d in suite.spec.datasets
        if (d.name in spec.datasets if spec.datasets is not None else d.default)
        and (spec.min_documents is None or (d.documents or 0) >= spec.min_documents)
    ]
    if spec.over == "languages":
        for dataset in chosen:
            yield dataset.name, {pair.label: [(dataset.name, pair.label)] for pair in dataset.pairs()}
        return
    for language in sorted(languages):
        members: dict[str, list[Cell]] = defaultdict(list)
        for dataset in chosen:
            members[dataset.group or dataset.name].append((dataset.name, language))
        yield language, dict(members)


def suite_averages(suite: Suite, records: Sequence[ResultRecord], metric: str | None = None) -> list[SuiteAverage]:
    """Every average the suite declares, per model, for `metric` (default: the suite's primary metric)."""
    wanted = canonical_metric(metric) if metric else suite.spec.primary_metric
    scores: dict[str, dict[Cell, tuple[float, bool]]] = defaultdict(dict)
    for record in records:
        if record.suite == suite.name and wanted in record.metrics:
            scores[record.display_name][(record.dataset, record.language)] = (record.metrics[wanted], record.sampled)
    averages: list[SuiteAverage] = []
    for spec in suite.spec.averages:
        for model, cells in sorted(scores.items()):
            for scope, members in _members(suite, spec, {language for _, language in cells}):
                if not any(cell in cells for member in members.values() for cell in member):
                    continue
                values: list[float] = []
                missing: list[str] = []
                missing_in_groups: list[tuple[str, tuple[str, ...]]] = []
                for member, member_cells in members.items():
                    if all(cell in cells for cell in member_cells):
                        values.append(sum(cells[cell][0] for cell in member_cells) / len(member_cells))
                    else:
                        missing.append(member)
                        if len(member_cells) > 1:
                            absent = tuple(
                                dataset for dataset, language in member_cells if (dataset, language) not in cells
                            )
                            missing_in_groups.append((member, absent))
                present = [cells[cell] for member in members.values() for cell in member if cell in cells]
                averages.append(
                    SuiteAverage(
                        name=spec.name,
                        model=model,
                        metric=wanted,
                        scope=scope,
                        value=sum(values) / len(values) if values and not missing else None,
                        members=tuple(members),
                        missing=tuple(missing),
                        sampled=any(sampled for _, sampled in present),
                        over=spec.over,
                        groups=tuple((m, len(c)) for m, c in members.items() if len(c) > 1),
                        missing_in_groups=tuple(missing_in_groups),
                    )
                )
    return averages
