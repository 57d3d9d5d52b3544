"""A collection on local disk in BEIR layout: `corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`."""

from __future__ import annotations

from pathlib import Path

from harness.core.errors import InputError
from harness.data.dataset import LanguagePair, RetrievalTask
from harness.data.fingerprint import DataFiles
from harness.data.formats import read_corpus_jsonl, read_qrels, read_queries_jsonl, sha256_of_files
from harness.data.sources.base import Source, SourceParams, assemble_task


class BeirParams(SourceParams):
    path: str = "."
    corpus: str = "corpus.jsonl"
    queries: str = "queries.jsonl"
    qrels: str = "qrels/{split}.tsv"
    version: str | None = None


class BeirSource(Source):
    kind = "beir"
    Params = BeirParams
    params: BeirParams

    def _paths(self, dataset: str, languages: LanguagePair, split: str) -> tuple[Path, Path, Path, Path]:
        """The dataset folder, then its corpus, queries and qrels files."""
        values = self.placeholders(dataset, languages, split)
        root = self.resolve(self.params.path, values)
        files = (self.params.corpus, self.params.queries, self.params.qrels)
        corpus_path, queries_path, qrels_path = (root / self.expand(template, values) for template in files)
        return root, corpus_path, queries_path, qrels_path

    def load(self, dataset: str, languages: LanguagePair, split: str) -> RetrievalTask:
        root, corpus_path, queries_path, qrels_path = self._paths(dataset, languages, split)
        if not root.is_dir():
            raise InputError("dataset folder not found", path=root)
        corpus = read_corpus_jsonl(corpus_path, languages.document)
        queries = read_queries_jsonl(queries_path, languages.query)
        qrels, lines = read_qrels(qrels_path)
        return assemble_task(
            dataset=dataset,
            split=split,
            languages=languages,
            corpus=corpus,
            queries=queries,
            qrels=qrels,
            qrels_lines=lines,
            qrels_path=qrels_path,
            source="beir-local",
            location=str(root.resolve()),
            checksum=self.checksum(dataset, languages, split),
            version=self.params.version,
        )

    def checksum(self, dataset: str, languages: LanguagePair, split: str) -> str:
        """The data's content checksum, as `load` records it (`dataset_identity.checksum`): the same files under
        another folder's name give the same checksum."""
        _, corpus_path, queries_path, qrels_path = self._paths(dataset, languages, split)
        return sha256_of_files([corpus_path, queries_path, qrels_path])

    def cache_status(self, dataset: str, languages: LanguagePair, split: str) -> bool | None:
        values = self.placeholders(dataset, languages, split)
        root = self.resolve(self.params.path, values)
        files = (self.params.corpus, self.params.queries, self.params.qrels)
        return self.files_present([str(root / self.expand(f, values)) for f in files], values)

    def data_files(self, dataset: str, languages: LanguagePair, split: str) -> DataFiles:
        _, corpus_path, queries_path, qrels_path = self._paths(dataset, languages, split)
        return DataFiles({"queries": [queries_path], "qrels": [qrels_path]}, [corpus_path])


SOURCE = BeirSource
