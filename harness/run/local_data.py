"""A `--data` folder as a dataset of suite `local`, identified by its content rather than its folder's name.

The dataset's name is `--name` when given; else the name earlier results (in the results folder) gave the
same files — the same `dataset_identity.checksum`, the SHA-256 of the corpus, queries and judgements `load`
records — so SciFact copied to `beir-scifact/` and `scifact/` is one dataset, whose results are kept, fused,
compared and exported together; else the folder's name. The corpus is hashed only when an earlier result's
queries and judgements (its recorded fingerprint, cheap to compare) equal the folder's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from harness.catalog.suites import LOCAL_SUITE, Suite, local_suite
from harness.core.errors import InputError
from harness.core.files import safe_name
from harness.data.fingerprint import DataFingerprint
from harness.data.sources.beir import BeirSource
from harness.record import ResultRecord, iter_result_files, read_result
from harness.results import StoredResult


def _local_results(results_dir: Path) -> list[ResultRecord]:
    folder = results_dir / safe_name(LOCAL_SUITE)
    records = []
    for path in iter_result_files(folder) if folder.is_dir() else ():
        try:
            records.append(read_result(path))
        except InputError:  # an unreadable result names nothing; `harness report` says what is wrong with it
            continue
    return records


def recorded_name(suite: Suite, results_dir: Path) -> str | None:
    """The dataset name the newest earlier result on exactly these files recorded, if any."""
    [unit] = suite.units()
    records = [record for record in _local_results(results_dir) if record.split == unit.split]
    files = unit.source.data_files(unit.dataset.name, unit.languages, unit.split)
    if not records or files is None or not files.present() or not isinstance(unit.source, BeirSource):
        return None
    now = files.fingerprint().content
    candidates = [
        record
        for record in records
        if (recorded := DataFingerprint.from_dict(record.data_fingerprint)) is not None and recorded.content == now
    ]
    if not candidates:
        return None
    checksum = unit.source.checksum(unit.dataset.name, unit.languages, unit.split)
    same = [record for record in candidates if record.dataset_identity.get("checksum") == checksum]
    return max(same, key=lambda record: record.created_at).dataset if same else None


def data_suite(
    data: Path,
    language: str,
    results_dir: Path,
    name: str | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Suite:
    """The one-dataset suite of a `--data` folder, its dataset named as the module docstring says."""
    suite = local_suite(data, language, name=name)
    if name is not None:
        return suite
    folder_name = suite.spec.datasets[0].name
    earlier = recorded_name(suite, results_dir)
    if earlier is None or earlier == folder_name:
        return suite
    if on_note:
        on_note(
            f"the files in {data} were recorded as dataset {earlier!r} in {results_dir}: naming them so "
            f"(--name to name them otherwise)"
        )
    return local_suite(data, language, name=earlier)


def data_selection(data: Path | None, language: str | None, results_dir: Path) -> tuple[str, str] | None:
    """The (dataset, language) under which suite `local` holds the results of a `--data` folder, named as
    `harness run --data` names it, for commands that read results (`compare`, `gate`, `export`); None without
    `data` (a `language` alone is refused: it describes a folder)."""
    if data is None:
        if language is not None:
            raise InputError("--language describes a --data folder", key="--language")
        return None
    suite = data_suite(data, language or "en", results_dir)
    [unit] = suite.units()
    return unit.dataset.name, unit.languages.label


def results_of_data(results: Sequence[StoredResult], selection: tuple[str, str] | None) -> list[StoredResult]:
    """The results of a `data_selection` (all of `results` for None): suite `local`, its dataset and language."""
    if selection is None:
        return list(results)
    wanted = (LOCAL_SUITE, *selection)
    return [
        stored for stored in results if (stored.record.suite, stored.record.dataset, stored.record.language) == wanted
    ]
