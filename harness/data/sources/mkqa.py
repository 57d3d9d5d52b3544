"""MKQA as BGE-M3 and MILCO evaluate it: `apple/mkqa` questions in 25 languages against English passages.

Questions come from MKQA (10,000 Natural Questions queries translated into 25 languages); the
corpus is the BEIR Natural Questions passage collection (`BeIR/nq`, 2.68M Wikipedia passages);
there are no relevance judgements, only answers: questions whose answers are `unanswerable`,
`binary` or `long_answer` are dropped (BGE-M3 reports 6,619 remaining questions per language), and
a passage counts when it contains one of the remaining answers (text or alias) in the corpus
language. Score it with `answer-recall@k` (see `harness.evaluation.answers`).

`apple/mkqa` publishes a loading script, not data; its records are read from the hub's parquet
conversion (`refs/convert/parquet`), or from a local `mkqa.jsonl.gz` as apple/ml-mkqa releases it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from harness.core.errors import InputError, SourceUnavailableError
from harness.data.dataset import DatasetIdentity, LanguagePair, Queries, RetrievalTask
from harness.data.fingerprint import DataFiles
from harness.data.formats import iter_records, read_corpus, sha256_of_files
from harness.data.hub import HubClient, HubFile, hub_client
from harness.data.sources.base import Source, SourceParams
from harness.data.sources.huggingface import revision_label

# The class-label order of the `type` field in the hub's conversion (integers there, strings in the jsonl).
ANSWER_TYPES = ("entity", "long_answer", "unanswerable", "date", "number", "number_with_unit", "short_phrase", "binary")


class MkqaParams(SourceParams):
    queries: HubFile = HubFile(repo="apple/mkqa", revision="refs/convert/parquet", file="mkqa/train/*.parquet")
    corpus: HubFile = HubFile(repo="BeIR/nq", file="corpus.jsonl.gz")
    path: str | None = None
    cache_dir: str | None = None
    excluded_answer_types: list[str] = Field(default_factory=lambda: ["unanswerable", "binary", "long_answer"])
    version: str | None = None


def _answer_type(value: Any, path: Path, line: int) -> str:
    if isinstance(value, int) and 0 <= value < len(ANSWER_TYPES):
        return ANSWER_TYPES[value]
    if isinstance(value, str) and value in ANSWER_TYPES:
        return value
    raise InputError(f"unknown answer type {value!r} (expected one of {', '.join(ANSWER_TYPES)})", path, line)


def read_mkqa(
    paths: list[Path], query_language: str, answer_language: str, excluded: set[str], language: str
) -> tuple[Queries, dict[str, list[str]]]:
    """Questions in `query_language` (MKQA's key, e.g. `zh_cn`) with their `answer_language` answers."""
    ids: list[str] = []
    texts: list[str] = []
    answers: dict[str, list[str]] = {}
    for path in paths:
        for line, record in iter_records(path):
            example_id = str(record.get("example_id", ""))
            question = (record.get("queries") or {}).get(query_language)
            entries = (record.get("answers") or {}).get(answer_language)
            if not example_id or question is None or entries is None:
                raise InputError(
                    f"MKQA record lacks `example_id`, `queries.{query_language}` or `answers.{answer_language}`",
                    path,
                    line,
                )
            kinds = {_answer_type(entry.get("type"), path, line) for entry in entries}
            if not entries or kinds & excluded:
                continue
            strings = [
                text
                for entry in entries
                for text in [entry.get("text"), *(entry.get("aliases") or [])]
                if isinstance(text, str) and text.strip()
            ]
            if not strings or not str(question).strip():
                continue
            if example_id in answers:
                raise InputError(f"duplicate example_id {example_id!r}", path, line)
            ids.append(example_id)
            texts.append(str(question))
            answers[example_id] = list(dict.fromkeys(strings))
    if not ids:
        raise InputError("no answerable MKQA question found", path=paths[0] if paths else None)
    return Queries(ids=ids, texts=texts, language=language), answers


class MkqaSource(Source):
    kind = "mkqa"
    Params = MkqaParams
    params: MkqaParams

    def client(self) -> HubClient:
        return hub_client(self.base_dir, self.params.path, self.params.cache_dir)

    def load(self, dataset: str, languages: LanguagePair, split: str) -> RetrievalTask:
        values = self.placeholders(dataset, languages, split)
        client = self.client()
        query_files = client.resolve(self.params.queries, values)
        corpus_files = client.resolve(self.params.corpus, values)
        queries, answers = read_mkqa(
            query_files.paths,
            values["source_query_language"],
            languages.document,
            set(self.params.excluded_answer_types),
            languages.query,
        )
        corpus = read_corpus(corpus_files.paths, languages.document)
        identity = DatasetIdentity(
            source="mkqa" if query_files.origin != "local" else "mkqa-local",
            location=f"{query_files.location} + {corpus_files.location}",
            checksum=sha256_of_files([*query_files.paths, *corpus_files.paths]),
            num_documents=len(corpus),
            num_queries=len(queries),
            num_judgements=sum(len(strings) for strings in answers.values()),
            version=self.params.version,
            revision=revision_label([query_files, corpus_files]),
        )
        return RetrievalTask(
            dataset=dataset,
            split=split,
            languages=languages,
            corpus=corpus,
            queries=queries,
            qrels={},
            identity=identity,
            metadata={"judgements": "answer strings (no qrels)"},
            answers=answers,
        )

    def fetch(self, dataset: str, languages: LanguagePair, split: str) -> str:
        values = self.placeholders(dataset, languages, split)
        client = self.client()
        resolved = [client.resolve(spec, values) for spec in (self.params.queries, self.params.corpus)]
        return ", ".join(f"{len(r.paths)} files at {r.location}" for r in resolved)

    def cache_status(self, dataset: str, languages: LanguagePair, split: str) -> bool | None:
        values = self.placeholders(dataset, languages, split)
        client = self.client()
        return all(client.is_cached(spec, values) for spec in (self.params.queries, self.params.corpus))

    def data_files(self, dataset: str, languages: LanguagePair, split: str) -> DataFiles | None:
        """The questions (with their answers) and the corpus when they are here; None when they must be downloaded."""
        values = self.placeholders(dataset, languages, split)
        client = self.client()
        specs = (self.params.queries, self.params.corpus)
        try:
            queries, corpus = [client.resolve(spec, values, download=False) for spec in specs]
        except (InputError, SourceUnavailableError):
            return None
        return DataFiles({"queries and answers": queries.paths}, corpus.paths)


SOURCE = MkqaSource
