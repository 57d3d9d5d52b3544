"""The unit every stage after loading works on: one corpus, its queries and their judgements."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

Qrels = dict[str, dict[str, int]]
"""Judgements: query id -> document id -> graded relevance (0 = judged non-relevant)."""


@dataclass(frozen=True)
class Corpus:
    """Titles and texts are any sequence: lists for corpora built in memory, `TextColumn`s (on disk) for those
    read from files."""

    ids: list[str]
    titles: Sequence[str]
    texts: Sequence[str]
    language: str

    def __post_init__(self) -> None:
        if not (len(self.ids) == len(self.titles) == len(self.texts)):
            raise ValueError("corpus ids, titles and texts must have the same length")

    def __len__(self) -> int:
        return len(self.ids)

    def joined_texts(self, separator: str = " ") -> JoinedTexts:
        """Title and body as one passage, the way BEIR and MTEB feed documents to encoders: a view that
        joins each document when read, so a corpus of millions is not held twice."""
        return JoinedTexts(self.titles, self.texts, separator)

    def passages_by_id(self) -> Mapping[str, str]:
        """The joined passage of each document id, read when asked for (answer matching reads only the retrieved)."""
        return PassagesById(self.ids, self.joined_texts())


class JoinedTexts(Sequence[str]):
    """Documents as `title<separator>text` (just the text when untitled), joined on access."""

    def __init__(self, titles: Sequence[str], texts: Sequence[str], separator: str = " ") -> None:
        self._titles = titles
        self._texts = texts
        self._separator = separator

    def __len__(self) -> int:
        return len(self._texts)

    def _joined(self, title: str, text: str) -> str:
        return f"{title}{self._separator}{text}".strip() if title else text.strip()

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            titles, texts = self._titles[index], self._texts[index]
            return [self._joined(title, text) for title, text in zip(titles, texts, strict=True)]
        row = range(len(self))[index]
        return self._joined(self._titles[row], self._texts[row])

    def __iter__(self) -> Iterator[str]:
        # Each column iterates as it reads best: a list natively, a `TextColumn` a block at a time.
        for title, text in zip(self._titles, self._texts, strict=True):
            yield self._joined(title, text)


class PassagesById(Mapping[str, str]):
    """Document id -> joined passage; only the id index is held."""

    def __init__(self, ids: Sequence[str], passages: Sequence[str]) -> None:
        self._row_of = {doc_id: row for row, doc_id in enumerate(ids)}
        self._passages = passages

    def __getitem__(self, doc_id: str) -> str:
        return self._passages[self._row_of[doc_id]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._row_of)

    def __len__(self) -> int:
        return len(self._row_of)


@dataclass(frozen=True)
class Queries:
    ids: list[str]
    texts: list[str]
    language: str

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.texts):
            raise ValueError("query ids and texts must have the same length")

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class LanguagePair:
    """Query language and document language; equal for monolingual retrieval."""

    query: str
    document: str

    @property
    def label(self) -> str:
        return self.query if self.query == self.document else f"{self.query}-{self.document}"

    @property
    def is_cross_lingual(self) -> bool:
        return self.query != self.document

    @classmethod
    def parse(cls, label: str) -> LanguagePair:
        """`en` is monolingual English; `de-en` is German queries against English documents."""
        parts = label.strip().split("-")
        if len(parts) == 1:
            return cls(parts[0], parts[0])
        if len(parts) == 2 and all(parts):
            return cls(parts[0], parts[1])
        raise ValueError(f"not a language or a query-document language pair: {label!r}")


@dataclass(frozen=True)
class DatasetIdentity:
    """What was read, exactly: recorded with every result so numbers can be traced to data."""

    source: str
    location: str
    checksum: str
    num_documents: int
    num_queries: int
    num_judgements: int
    version: str | None = None
    revision: str | None = None
    sampled: bool = False
    sampling: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "location": self.location,
            "version": self.version,
            "revision": self.revision,
            "checksum": self.checksum,
            "num_documents": self.num_documents,
            "num_queries": self.num_queries,
            "num_judgements": self.num_judgements,
            "sampled": self.sampled,
            "sampling": dict(self.sampling) if self.sampling else None,
        }


Answers = dict[str, list[str]]
"""Answer strings per query id, for answer-recall protocols (MKQA) that judge passages by content."""


@dataclass(frozen=True)
class RetrievalTask:
    """One evaluation unit: a dataset in one language (or language pair) and split.

    `answers` replaces `qrels` for open-domain QA protocols: a passage is relevant when it
    contains one of the query's answer strings.
    """

    dataset: str
    split: str
    languages: LanguagePair
    corpus: Corpus
    queries: Queries
    qrels: Qrels
    identity: DatasetIdentity
    metadata: Mapping[str, Any] = field(default_factory=dict)
    answers: Answers | None = None
