"""Published values to set beside measured ones: the one place reports look them up.

Today the source is the model card each result was run with (its `references:`, recorded inside the
result, so a report needs nothing but the results folder). Suite-level reference data plugs in
here as a further source, without touching any report code.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.evaluate import canonical_metric
from harness.record import ResultRecord


@dataclass(frozen=True)
class Reference:
    value: float
    source: str


def _same_metric(written: object, metric: str) -> bool:
    try:
        return canonical_metric(str(written)) == metric
    except ValueError:
        return False


def _card_reference(record: ResultRecord, metric: str) -> Reference | None:
    for entry in record.model.card.get("references", []) or []:
        if (
            entry.get("suite") == record.suite
            and entry.get("dataset") == record.dataset
            and entry.get("language") == record.language
            and _same_metric(entry.get("metric"), metric)
        ):
            return Reference(float(entry["value"]), str(entry.get("source", "")))
    return None


def find_reference(record: ResultRecord, metric: str) -> Reference | None:
    """The published `metric` for this result's model on its suite, dataset and language, if any."""
    return _card_reference(record, metric)
