"""Suites: a YAML file naming datasets, their sources, languages, split and official metrics.

```yaml
name: xquad
split: validation
metrics: [ndcg@10, recall@100]
primary_metric: ndcg@10
datasets:
  - name: xquad
    source: {kind: beir, path: "data/xquad/{language}"}
    languages: [en, de, zh, {query: de, documents: en}]
```
Source paths are relative to the suite file. Placeholders: `{language}` (the label, `de` or
`de-en`), `{query_language}`, `{document_language}`, `{split}`, `{dataset}`, `{language_name}`
(`swahili`) and `{source_language}` / `{source_query_language}` (the source's own spelling, from
the source's `language_codes`).

Per dataset, optionally: `local:` (a source spec whose relative paths are read from the folder a
user names with `--local DATASET=DIR`), `default: false` (runs only when named with `--datasets`),
`maxp: true` (long documents split into passages, MaxP), `protocol:` (which published protocol the
numbers follow), `size:`/`documents:` (for listings and large-collection averages) and `group:`
(datasets averaged into one entry first, like BEIR's CQADupStack). Per suite: `averages:`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.core.errors import InputError, SourceUnavailableError
from harness.core.languages import is_known_language
from harness.core.resources import bundled_dir
from harness.core.yaml_files import load_yaml
from harness.data import LanguagePair, RetrievalTask
from harness.data.fingerprint import DataFingerprint
from harness.data.sampling import Sampling, sample_task
from harness.data.sources import Source, available_source_kinds, make_source, source_class
from harness.evaluation import canonical_metric

MAX_DEPTH = 10_000
"""The deepest run (`k`) a suite or `--k` may ask for: every query's top k is held in memory at once."""


class PairSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str
    documents: str


class DatasetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
    description: str = ""
    source: dict[str, Any]
    local: dict[str, Any] | None = None
    languages: list[str | PairSpec]
    split: str | None = None
    metrics: list[str] | None = None
    primary_metric: str | None = None
    default: bool = True
    maxp: bool = False
    protocol: str = ""
    size: str = ""
    documents: int | None = Field(default=None, ge=0)
    group: str | None = None

    def pairs(self) -> list[LanguagePair]:
        return [
            LanguagePair.parse(entry) if isinstance(entry, str) else LanguagePair(entry.query, entry.documents)
            for entry in self.languages
        ]


class AverageSpec(BaseModel):
    """A published average: over datasets (optionally only those with >= `min_documents`) or languages."""

    model_config = ConfigDict(extra="forbid")

    name: str
    over: Literal["datasets", "languages"] = "datasets"
    datasets: list[str] | None = None
    min_documents: int | None = Field(default=None, ge=0)


class SuiteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
    description: str = ""
    split: str = "test"
    metrics: list[str]
    primary_metric: str
    k: int = Field(default=1000, ge=1, le=MAX_DEPTH)
    default_models: list[str] = Field(default_factory=list)
    datasets: list[DatasetSpec] = Field(min_length=1)
    averages: list[AverageSpec] = Field(default_factory=list)

    @field_validator("metrics")
    @classmethod
    def _canonical_metrics(cls, metrics: list[str]) -> list[str]:
        return [canonical_metric(metric) for metric in metrics]

    @field_validator("primary_metric")
    @classmethod
    def _canonical_primary(cls, metric: str) -> str:
        return canonical_metric(metric)


@dataclass(frozen=True)
class Unit:
    """One (dataset, language pair, split) of a suite: what one result file records."""

    suite: str
    dataset: DatasetSpec
    languages: LanguagePair
    split: str
    metrics: list[str]
    primary_metric: str
    source: Source
    sampling: Sampling | None = None
    maxp: bool = False

    def load(self) -> RetrievalTask:
        """The data, sampled when asked; an unreachable source says how to get it onto this machine."""
        try:
            task = self.source.load(self.dataset.name, self.languages, self.split)
        except SourceUnavailableError as error:
            name, label = self.dataset.name, self.languages.label
            where = name if name == self.suite else f"{self.suite}/{name}"
            raise SourceUnavailableError(
                f"{where} ({label}): {error}. Either pre-download it where there is network "
                f"(`harness fetch --suite {self.suite} --datasets {name} --languages {label}`) and copy the cache "
                f"here, or run with `--local {name}=DIR` on a folder holding its files (see docs/suites.md)"
            ) from None
        return sample_task(task, self.sampling) if self.sampling and self.sampling.requested else task

    def fingerprint(self) -> DataFingerprint | None:
        """A cheap fingerprint of the data `load` reads (`harness.data.fingerprint`), taken without reading it."""
        return self.source.fingerprint(self.dataset.name, self.languages, self.split)


@dataclass(frozen=True)
class Suite:
    spec: SuiteSpec
    path: Path | None
    base_dir: Path

    @property
    def name(self) -> str:
        return self.spec.name

    def dataset(self, name: str) -> DatasetSpec:
        for dataset in self.spec.datasets:
            if dataset.name == name:
                return dataset
        raise InputError(f"suite {self.name!r} has no dataset {name!r}", key="--datasets")

    def units(
        self,
        languages: Sequence[str] | None = None,
        datasets: Sequence[str] | None = None,
        local: Mapping[str, Path] | None = None,
        sampling: Sampling | None = None,
        maxp: bool | None = None,
        metrics: Sequence[str] | None = None,
    ) -> list[Unit]:
        """Every evaluation unit, optionally only these language labels and dataset names.

        Datasets marked `default: false` run only when named. `local` maps a dataset to a folder
        holding its files (read through the dataset's `local:` spec, or its own source's `path`).
        `maxp` overrides the datasets' own MaxP setting. `metrics` replaces every dataset's metrics;
        the dataset's primary metric stays primary when it is among them (the leaderboard keeps
        ranking on the published metric), else the first one given becomes primary.
        """
        requested = _requested_metrics(metrics)
        known_datasets = {d.name for d in self.spec.datasets}
        for name in [*(datasets or ()), *(local or {})]:
            if name not in known_datasets:
                raise InputError(
                    f"suite {self.name!r} has no dataset {name!r}; it has {', '.join(sorted(known_datasets))}",
                    key="--datasets" if name in (datasets or ()) else "--local",
                )
        units: list[Unit] = []
        for dataset in self.spec.datasets:
            if (datasets and dataset.name not in datasets) or (not datasets and not dataset.default):
                continue
            folder = (local or {}).get(dataset.name)
            if folder is not None:
                source = self._local_source(dataset, folder)
            else:
                source = make_source(dataset.source, self.base_dir, self.path)
            chosen = [canonical_metric(m) for m in dataset.metrics] if dataset.metrics else self.spec.metrics
            primary = canonical_metric(dataset.primary_metric) if dataset.primary_metric else self.spec.primary_metric
            if requested:
                chosen, primary = requested, primary if primary in requested else requested[0]
            for pair in dataset.pairs():
                if languages and pair.label not in languages and pair.query not in languages:
                    continue
                units.append(
                    Unit(
                        self.name,
                        dataset,
                        pair,
                        dataset.split or self.spec.split,
                        chosen,
                        primary,
                        source,
                        sampling,
                        dataset.maxp if maxp is None else maxp,
                    )
                )
        if languages and not units:
            raise InputError(f"suite {self.name!r} has none of the languages {', '.join(languages)}", key="--languages")
        return units

    def _local_source(self, dataset: DatasetSpec, folder: Path) -> Source:
        """The dataset read from a local folder: its `local:` spec there, else its own source with `path`."""
        if not folder.is_dir():
            raise InputError("local dataset folder not found", path=folder, key="--local")
        if dataset.local is not None:
            spec = dict(dataset.local)
            if "path" in source_class(str(spec.get("kind"))).Params.model_fields:
                spec.setdefault("path", ".")  # hub-backed kinds read the folder instead of the hub
            return make_source(spec, folder.resolve(), self.path)
        if "path" not in source_class(str(dataset.source.get("kind"))).Params.model_fields:
            raise InputError(
                f"dataset {dataset.name!r} declares no `local:` layout; its source cannot read a local folder",
                path=self.path,
                key="--local",
            )
        # The folder is the base of `path: .`, never a template: `{` or `{lang}` in its name stays literal.
        return make_source({**dataset.source, "path": "."}, folder.resolve(), self.path)


def _requested_metrics(metrics: Sequence[str] | None) -> list[str] | None:
    """`--metrics` in canonical spelling, duplicates dropped; an unknown one names the option."""
    if not metrics:
        return None
    try:
        return list(dict.fromkeys(canonical_metric(metric) for metric in metrics))
    except ValueError as error:
        raise InputError(str(error), key="--metrics") from None


def _validate_languages(spec: SuiteSpec, path: Path | None) -> None:
    for d_index, dataset in enumerate(spec.datasets):
        for l_index, entry in enumerate(dataset.languages):
            key = f"datasets.{d_index}.languages.{l_index}"
            try:
                pair = (
                    LanguagePair.parse(entry) if isinstance(entry, str) else LanguagePair(entry.query, entry.documents)
                )
            except ValueError as error:
                raise InputError(str(error), path=path, key=key) from None
            for code in (pair.query, pair.document):
                if not is_known_language(code):
                    raise InputError(f"unknown language code {code!r} (expected ISO 639)", path=path, key=key)


def _validate_datasets(spec: SuiteSpec, path: Path | None) -> None:
    names = [dataset.name for dataset in spec.datasets]
    kinds = available_source_kinds()
    for index, dataset in enumerate(spec.datasets):
        if names.count(dataset.name) > 1:
            raise InputError(f"dataset {dataset.name!r} is defined twice", path=path, key=f"datasets.{index}.name")
        for field, source in (("source", dataset.source), ("local", dataset.local)):
            kind = None if source is None else source.get("kind")
            if source is not None and kind not in kinds:
                reason = f"unknown source kind {kind!r}" if kind else "source needs a `kind`"
                raise InputError(
                    f"{reason}; known: {', '.join(kinds)}", path=path, key=f"datasets.{index}.{field}.kind"
                )
        for field in ("metrics", "primary_metric"):
            value = getattr(dataset, field)
            for metric in value if isinstance(value, list) else [value] if value else []:
                try:
                    canonical_metric(metric)
                except ValueError as error:
                    raise InputError(str(error), path=path, key=f"datasets.{index}.{field}") from None
    for index, average in enumerate(spec.averages):
        for name in average.datasets or []:
            if name not in names:
                raise InputError(f"no dataset {name!r} in this suite", path=path, key=f"averages.{index}.datasets")


def parse_suite(data: Any, path: Path | None, base_dir: Path) -> Suite:
    if not isinstance(data, dict):
        raise InputError("a suite must be a YAML mapping", path=path)
    try:
        spec = SuiteSpec.model_validate(data)
    except ValidationError as error:
        raise InputError.from_validation(error, path=path) from None
    except ValueError as error:  # canonical_metric on an unknown metric
        raise InputError(str(error), path=path, key="metrics") from None
    _validate_languages(spec, path)
    _validate_datasets(spec, path)
    return Suite(spec=spec, path=path, base_dir=base_dir)


def load_suite_file(path: Path) -> Suite:
    if not path.is_file():
        raise InputError("suite file not found", path=path)
    return parse_suite(load_yaml(path), path.resolve(), path.resolve().parent)


REFERENCES_SUFFIX = ".references"
"""`suites/<suite>.references.yaml` holds a suite's published scores (see `harness.results.references`)."""


def default_suites_dir() -> Path:
    return bundled_dir("suites")


def suite_paths(suites_dirs: Sequence[Path] = ()) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in [*suites_dirs, default_suites_dir()]:
        if directory.is_dir():
            for path in sorted(directory.glob("*.y*ml")):
                if not path.stem.endswith(REFERENCES_SUFFIX):
                    found.setdefault(path.stem, path)
    return found


def load_suite(name_or_path: str, suites_dirs: Sequence[Path] = ()) -> Suite:
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in {".yaml", ".yml"} or candidate.is_file():
        return load_suite_file(candidate)
    known = suite_paths(suites_dirs)
    if name_or_path not in known:
        raise InputError(
            f"unknown suite {name_or_path!r}; known suites: {', '.join(sorted(known)) or 'none'}", key="--suite"
        )
    return load_suite_file(known[name_or_path])


def _dataset_name(folder: Path) -> str:
    """A dataset name from a folder name (`my data` -> `my-data`), which must start with a letter or digit."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", folder.name).strip("-").lstrip("._+") or "local"


def find_suites(names: Iterable[str], suites_dirs: Sequence[Path] = ()) -> dict[str, Suite]:
    """The suites of these names that exist (bundled or in `suites_dirs`), each read once; a name
    without a suite file (a `--data` run's `local`, a suite from elsewhere) is left out."""
    known = suite_paths(suites_dirs)
    return {name: load_suite_file(known[name]) for name in sorted(set(names)) if name in known}


LOCAL_SUITE = "local"
"""The suite of a `--data` folder's results."""


def local_suite(
    data_dir: Path,
    language: str,
    metrics: Sequence[str] = ("ndcg@10", "recall@100", "mrr@10"),
    name: str | None = None,
) -> Suite:
    """A one-dataset suite over a BEIR-layout folder given with `--data`: the folder is the suite's base,
    read as `path: .`, so a path holding `{`, `{lang}` or a space is a path, not a template. The dataset is
    `name` (`--name`), else named after the folder."""
    if not data_dir.is_dir():
        raise InputError("dataset folder not found", path=data_dir, key="--data")
    qrels_dir = data_dir / "qrels"
    splits = sorted(p.stem for p in qrels_dir.glob("*.tsv")) if qrels_dir.is_dir() else []
    if not splits:
        raise InputError("no qrels/<split>.tsv in the BEIR folder", path=data_dir, key="--data")
    split = "test" if "test" in splits else splits[0]
    data = {
        "name": LOCAL_SUITE,
        "split": split,
        "metrics": list(metrics),
        "primary_metric": metrics[0],
        "datasets": [
            {
                "name": name or _dataset_name(data_dir.resolve()),
                "source": {"kind": "beir", "path": "."},
                "languages": [language],
            }
        ],
    }
    try:
        return parse_suite(data, None, data_dir.resolve())
    except InputError as error:  # the folder's language and name are what the user gave
        key = error.key or ""
        given = "--language" if "language" in key else "--name" if key.endswith("name") else key
        raise InputError(error.reason, key=given or None) from None
