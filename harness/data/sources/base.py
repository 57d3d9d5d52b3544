"""The interface every dataset source implements, and the checks all of them share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.data.dataset import Corpus, DatasetIdentity, LanguagePair, Qrels, Queries, RetrievalTask
from harness.data.environment import expand_environment
from harness.data.formats import check_qrels
from harness.errors import InputError


class SourceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


def describe_validation_error(error: ValidationError, prefix: str) -> tuple[str, str]:
    """The first problem pydantic found, as (dotted key, message)."""
    first = error.errors()[0]
    key = ".".join([prefix, *(str(part) for part in first["loc"])]) if first["loc"] else prefix
    return key, first["msg"]


class Source(ABC):
    """Loads one dataset, in one language (pair) and split, from wherever it lives."""

    kind: ClassVar[str]
    Params: ClassVar[type[SourceParams]]

    def __init__(self, params: SourceParams, base_dir: Path) -> None:
        self.params = params
        self.base_dir = base_dir

    @classmethod
    def from_params(cls, raw: Mapping[str, Any], base_dir: Path, where: str | Path | None = None) -> Source:
        try:
            params = cls.Params.model_validate(dict(raw))
        except ValidationError as error:
            key, message = describe_validation_error(error, "source")
            raise InputError(message, path=where, key=key) from None
        return cls(params, base_dir)

    @abstractmethod
    def load(self, dataset: str, languages: LanguagePair, split: str) -> RetrievalTask:
        """Read the dataset; raise `InputError` naming the file and line of any bad record."""

    def placeholders(self, dataset: str, languages: LanguagePair, split: str) -> dict[str, str]:
        return {
            "dataset": dataset,
            "language": languages.label,
            "query_language": languages.query,
            "document_language": languages.document,
            "split": split,
        }

    def resolve(self, template: str, values: Mapping[str, str]) -> Path:
        try:
            expanded = expand_environment(template).format(**values)
        except KeyError as error:
            raise InputError(
                f"unknown placeholder {{{error.args[0]}}} in {template!r}; use one of {sorted(values)}"
            ) from None
        path = Path(expanded).expanduser()
        return path if path.is_absolute() else self.base_dir / path


def assemble_task(
    *,
    dataset: str,
    split: str,
    languages: LanguagePair,
    corpus: Corpus,
    queries: Queries,
    qrels: Qrels,
    qrels_lines: dict[tuple[str, str], int],
    qrels_path: Path,
    source: str,
    location: str,
    checksum: str,
    version: str | None = None,
) -> RetrievalTask:
    """Check judgements against corpus and queries, keep the judged queries, record identity."""
    check_qrels(qrels, qrels_lines, qrels_path, corpus.ids, queries.ids)
    judged = [(qid, text) for qid, text in zip(queries.ids, queries.texts, strict=True) if qid in qrels]
    kept = Queries(ids=[qid for qid, _ in judged], texts=[text for _, text in judged], language=queries.language)
    identity = DatasetIdentity(
        source=source,
        location=location,
        version=version,
        checksum=checksum,
        num_documents=len(corpus),
        num_queries=len(kept),
        num_judgements=sum(len(judged_docs) for judged_docs in qrels.values()),
    )
    return RetrievalTask(
        dataset=dataset,
        split=split,
        languages=languages,
        corpus=corpus,
        queries=kept,
        qrels=qrels,
        identity=identity,
    )
