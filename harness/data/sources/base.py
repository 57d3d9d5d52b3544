"""The interface every dataset source implements, and the checks all of them share."""

from __future__ import annotations

import glob
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.core.errors import InputError
from harness.core.languages import language_name
from harness.data.dataset import Corpus, DatasetIdentity, LanguagePair, Qrels, Queries, RetrievalTask
from harness.data.fingerprint import DataFiles, DataFingerprint
from harness.data.formats import check_qrels


class SourceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # How the source spells a language when it differs from ISO 639 (`nl: dt` in mMARCO, `zh: zh_cn`
    # in MKQA): the `{source_language}` and `{source_query_language}` placeholders.
    language_codes: dict[str, str] = Field(default_factory=dict)


def expand_template(template: str, values: Mapping[str, str]) -> str:
    """Fill `{language}`-style placeholders; an unknown one is named with the ones that exist."""
    try:
        return template.format(**values)
    except KeyError as error:
        raise InputError(
            f"unknown placeholder {{{error.args[0]}}} in {template!r}; use one of {sorted(values)}"
        ) from None


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
            raise InputError.from_validation(error, path=where, prefix="source") from None
        return cls(params, base_dir)

    @abstractmethod
    def load(self, dataset: str, languages: LanguagePair, split: str) -> RetrievalTask:
        """Read the dataset; raise `InputError` naming the file and line of any bad record."""

    def fetch(self, dataset: str, languages: LanguagePair, split: str) -> str:
        """Bring the dataset onto this machine (a no-op for local files); says what is now local."""
        identity = self.load(dataset, languages, split).identity
        return f"{identity.num_documents:,} documents, {identity.num_queries:,} queries at {identity.location}"

    def cache_status(self, dataset: str, languages: LanguagePair, split: str) -> bool | None:
        """Whether the data is already on this machine, checked without network; None when unknown."""
        return None

    def data_files(self, dataset: str, languages: LanguagePair, split: str) -> DataFiles | None:
        """The local files `load` would read, found without reading them or the network; None when unknown
        (a source that does not say, or data not on this machine yet)."""
        return None

    def fingerprint(self, dataset: str, languages: LanguagePair, split: str) -> DataFingerprint | None:
        """A cheap fingerprint of the data `load` would read (`harness.data.fingerprint`), taken before reading
        it; None when the files are unknown or missing (a kept result is then checked after loading)."""
        files = self.data_files(dataset, languages, split)
        return files.fingerprint() if files is not None and files.present() else None

    def placeholders(self, dataset: str, languages: LanguagePair, split: str) -> dict[str, str]:
        codes = self.params.language_codes
        return {
            "dataset": dataset,
            "language": languages.label,
            "query_language": languages.query,
            "document_language": languages.document,
            "source_language": codes.get(languages.label, codes.get(languages.document, languages.label)),
            "source_query_language": codes.get(languages.query, languages.query),
            "language_name": language_name(languages.document).lower(),
            "split": split,
        }

    def expand(self, template: str, values: Mapping[str, str]) -> str:
        return expand_template(template, values)

    def resolve(self, template: str, values: Mapping[str, str]) -> Path:
        path = Path(self.expand(template, values)).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def resolve_all(self, template: str, values: Mapping[str, str]) -> list[Path]:
        """A path, or a glob (`docs-*.jsonl.gz`) for corpora published in shards, sorted by name."""
        path = self.resolve(template, values)
        pattern = Path(self.expand(template, values)).expanduser()
        if not glob.has_magic(str(pattern)):
            return [path]
        # Only the template is a pattern: a `[` or `*` in the base folder's own name is matched literally.
        root = None if pattern.is_absolute() else self.base_dir
        matches = sorted((root or Path()) / match for match in glob.glob(str(pattern), root_dir=root))
        if not matches:
            raise InputError("no file matches this pattern", path=path)
        return matches

    def files_present(self, templates: Iterable[str], values: Mapping[str, str]) -> bool:
        """Whether every file of `templates` exists (for a glob: at least one shard)."""
        for template in templates:
            try:
                paths = self.resolve_all(template, values)
            except InputError:
                return False
            if not all(path.exists() for path in paths):
                return False
        return True


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
    revision: str | None = None,
) -> RetrievalTask:
    """Check judgements against corpus and queries, keep the judged queries, record identity."""
    check_qrels(qrels, qrels_lines, qrels_path, corpus.ids, queries.ids)
    judged = [(qid, text) for qid, text in zip(queries.ids, queries.texts, strict=True) if qid in qrels]
    kept = Queries(ids=[qid for qid, _ in judged], texts=[text for _, text in judged], language=queries.language)
    identity = DatasetIdentity(
        source=source,
        location=location,
        version=version,
        revision=revision,
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
