"""Published values to set beside measured ones: `ReferenceBook` is the one place reports look them up.

Two sources: the model card each result was run with (its `references:`, recorded inside the
result) and the suite's reference file (`suites/<suite>.references.yaml`, see `harness.results.references`),
which holds published numbers per model card name. A reference whose language is `avg` is a published average over the
suite's languages; the leaderboard sets it beside a model's average. A sampled result gets none: a score on
50 queries set beside a paper's full-dataset number reads as a reproduction (or a failure) it is not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.core.errors import InputError
from harness.evaluation import canonical_metric
from harness.record import ResultRecord
from harness.results.references import Reference as PublishedReference
from harness.results.references import find_references, load_references

AVERAGE = "avg"


@dataclass(frozen=True)
class Reference:
    value: float
    source: str
    protocol: str = ""


def _same_metric(written: object, metric: str) -> bool:
    try:
        return canonical_metric(str(written)) == metric
    except ValueError:
        return False


class ReferenceBook:
    """Published values for many cells: each suite's reference file is read and checked once, however
    many cells a report looks up (a leaderboard asks per model, dataset, language and metric)."""

    def __init__(self) -> None:
        self._published: dict[str, list[PublishedReference]] = {}

    def _suite(self, suite: str) -> list[PublishedReference]:
        if suite not in self._published:
            try:
                self._published[suite] = load_references(suite)
            except InputError:  # a suite this installation does not know (e.g. `local`): nothing published
                self._published[suite] = []
        return self._published[suite]

    def references_for(
        self, card: Mapping[str, Any], *, suite: str, dataset: str, language: str, metric: str
    ) -> list[Reference]:
        """Every published `metric` for the model of `card` on one suite, dataset and language (or `avg`)."""
        from_card = [
            Reference(float(entry["value"]), str(entry.get("source", "")), str(entry.get("protocol", "")))
            for entry in card.get("references", []) or []
            if entry.get("suite") == suite
            and entry.get("dataset") == dataset
            and entry.get("language") == language
            and _same_metric(entry.get("metric"), metric)
        ]
        from_suite = [
            Reference(found.value, found.source, found.protocol)
            for found in find_references(
                self._suite(suite), model=str(card.get("name", "")), dataset=dataset, language=language, metric=metric
            )
        ]
        return list(dict.fromkeys([*from_card, *from_suite]))

    def find(self, record: ResultRecord, metric: str) -> Reference | None:
        """The published `metric` for this result's model, suite, dataset and language, if any; never for a
        sampled result, whose score on a sample is not comparable with a published full-data one."""
        if record.sampled:
            return None
        found = self.references_for(
            record.model.card, suite=record.suite, dataset=record.dataset, language=record.language, metric=metric
        )
        return found[0] if found else None

    def average(self, records: Sequence[ResultRecord], metric: str) -> Reference | None:
        """The published average for one model's results on a one-dataset suite, if any (none when a result is
        sampled)."""
        if not records or len({(r.suite, r.dataset) for r in records}) != 1 or any(r.sampled for r in records):
            return None
        first = records[0]
        found = self.references_for(
            first.model.card, suite=first.suite, dataset=first.dataset, language=AVERAGE, metric=metric
        )
        return found[0] if found else None
