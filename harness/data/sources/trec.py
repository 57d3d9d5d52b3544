"""TREC-style files on local disk: a topics file, a qrels file and a corpus.

Topics: Anserini TSV (`qid<TAB>text`, gz allowed) or classic `<top>` blocks. Qrels: TREC
(`qid iter docid rel`). Corpus: jsonl with `_id`/`id`/`docid` and `text`/`contents`, parquet, or an
MS MARCO-style tsv; a glob (`miracl-corpus-v1.0-{language}/docs-*.jsonl.gz`) reads every shard.
"""

from __future__ import annotations

from harness.core.errors import InputError
from harness.data.dataset import LanguagePair, RetrievalTask
from harness.data.fingerprint import DataFiles
from harness.data.formats import read_corpus, read_qrels, read_topics, sha256_of_files
from harness.data.sources.base import Source, SourceParams, assemble_task


class TrecParams(SourceParams):
    corpus: str
    topics: str
    qrels: str
    version: str | None = None


class TrecSource(Source):
    kind = "trec"
    Params = TrecParams
    params: TrecParams

    def load(self, dataset: str, languages: LanguagePair, split: str) -> RetrievalTask:
        values = self.placeholders(dataset, languages, split)
        corpus_paths = self.resolve_all(self.params.corpus, values)
        topics_path = self.resolve(self.params.topics, values)
        qrels_path = self.resolve(self.params.qrels, values)
        corpus = read_corpus(corpus_paths, languages.document)
        queries = read_topics(topics_path, languages.query)
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
            source="trec-local",
            location=str(topics_path.parent.resolve()),
            checksum=sha256_of_files([*corpus_paths, topics_path, qrels_path]),
            version=self.params.version,
        )

    def cache_status(self, dataset: str, languages: LanguagePair, split: str) -> bool | None:
        values = self.placeholders(dataset, languages, split)
        return self.files_present((self.params.corpus, self.params.topics, self.params.qrels), values)

    def data_files(self, dataset: str, languages: LanguagePair, split: str) -> DataFiles | None:
        values = self.placeholders(dataset, languages, split)
        try:
            corpus_paths = self.resolve_all(self.params.corpus, values)
        except InputError:  # no shard matches: `load` says so
            return None
        topics, qrels = (self.resolve(template, values) for template in (self.params.topics, self.params.qrels))
        return DataFiles({"queries": [topics], "qrels": [qrels]}, corpus_paths)


SOURCE = TrecSource
