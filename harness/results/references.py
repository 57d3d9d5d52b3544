"""Published scores as data beside each suite, so reports can show the delta to a published number.

`suites/<suite>.references.yaml`:

```yaml
suite: miracl
references:
  - model: bm25                 # a model card name
    dataset: miracl
    language: sw                # a language label of the suite, or `avg` for a published average
    metric: ndcg@10             # any spelling harness accepts; stored canonical
    value: 0.3826
    source: Anserini regressions, docs/reproduce/from-document-collection/miracl-v1.0-sw.md
    protocol: Lucene BM25 (k1=0.9, b=0.4), -language sw analyzer, 100 hits, trec_eval -c
    split: dev                  # optional; defaults to the suite's split
```

Use `load_references("miracl")` (or a suite path) and `find_references(refs, model=..., dataset=...,
language=..., metric=...)`. Several references can match one cell when they follow different
protocols (Pyserini's Lucene BM25 and MTEB's bm25s on SciFact): each says which in `protocol`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.catalog.suites import REFERENCES_SUFFIX, Suite, load_suite
from harness.core.errors import InputError
from harness.core.yaml_files import load_yaml
from harness.evaluation import canonical_metric

AVERAGE = "avg"
"""The `language` of a reference that is an average over the suite's languages."""


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    dataset: str
    language: str
    metric: str
    value: float
    source: str
    protocol: str
    split: str | None = None
    note: str = ""

    @field_validator("metric")
    @classmethod
    def _canonical(cls, metric: str) -> str:
        return canonical_metric(metric)


class ReferenceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str
    references: list[Reference] = Field(default_factory=list)


def references_path(suite: Suite) -> Path | None:
    """`<suite file stem>.references.yaml` beside the suite file."""
    if suite.path is None:
        return None
    return suite.path.with_name(f"{suite.path.stem}{REFERENCES_SUFFIX}.yaml")


def load_reference_file(path: Path, suite: Suite | None = None) -> list[Reference]:
    """Read and check one references file; with `suite`, every entry must name one of its cells."""
    try:
        parsed = ReferenceFile.model_validate(load_yaml(path))
    except ValidationError as error:
        raise InputError.from_validation(error, path=path) from None
    if suite is not None:
        _check_against_suite(parsed, suite, path)
    return [
        ref if ref.split or suite is None else ref.model_copy(update={"split": suite.spec.split})
        for ref in parsed.references
    ]


def _check_against_suite(parsed: ReferenceFile, suite: Suite, path: Path) -> None:
    if parsed.suite != suite.name:
        raise InputError(f"references are for suite {parsed.suite!r}, not {suite.name!r}", path=path, key="suite")
    labels = {dataset.name: {pair.label for pair in dataset.pairs()} for dataset in suite.spec.datasets}
    for index, ref in enumerate(parsed.references):
        key = f"references.{index}"
        if ref.dataset not in labels:
            raise InputError(f"suite {suite.name!r} has no dataset {ref.dataset!r}", path=path, key=f"{key}.dataset")
        if ref.language != AVERAGE and ref.language not in labels[ref.dataset]:
            raise InputError(
                f"dataset {ref.dataset!r} has no language {ref.language!r} (nor is it {AVERAGE!r})",
                path=path,
                key=f"{key}.language",
            )


def load_references(suite: str | Suite, suites_dirs: Sequence[Path] = ()) -> list[Reference]:
    """The published scores of a suite (by name, path or object); empty when it has no references file."""
    loaded = suite if isinstance(suite, Suite) else load_suite(suite, suites_dirs)
    path = references_path(loaded)
    if path is None or not path.is_file():
        return []
    return load_reference_file(path, loaded)


def find_references(
    references: Sequence[Reference],
    *,
    model: str,
    dataset: str,
    language: str,
    metric: str,
    split: str | None = None,
) -> list[Reference]:
    """The references for one leaderboard cell (any metric spelling; `split` None matches any)."""
    wanted = canonical_metric(metric)
    return [
        ref
        for ref in references
        if ref.model == model
        and ref.dataset == dataset
        and ref.language == language
        and ref.metric == wanted
        and (split is None or ref.split in (None, split))
    ]
