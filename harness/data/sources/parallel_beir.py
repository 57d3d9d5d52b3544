"""Parallel collections in BEIR layout, one folder per language, evaluated across languages.

XQuAD, MLQA-style and other translated collections share query ids across languages and have
one corpus per language whose documents are translations of each other. For a pair `de-en`
this source reads the German queries and the English corpus, and moves each German judgement
onto the English document it is parallel to. Which documents are parallel is read off the
data itself: a query id judged in both languages links the document judged for it in one
language to the document judged for it in the other. A document linked to two different
documents is an error (the data is not parallel); a judgement whose document has no
counterpart is dropped and counted in the task's metadata.

A monolingual label (`de`) reads one folder, exactly as the `beir` source does.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.core.errors import InputError
from harness.data.dataset import LanguagePair, Qrels, RetrievalTask
from harness.data.fingerprint import DataFiles
from harness.data.formats import read_corpus_jsonl, read_qrels, read_queries_jsonl, sha256_of_files
from harness.data.sources.base import Source, SourceParams, assemble_task


class ParallelBeirParams(SourceParams):
    # The folder holding one BEIR folder per language; given with `--local DATASET=DIR`.
    path: str | None = None
    # `{language}` is one language here (the query's or the documents'), never a pair.
    corpus: str = "{language}/corpus.jsonl"
    queries: str = "{language}/queries.jsonl"
    qrels: str = "{language}/qrels/{split}.tsv"
    version: str | None = None


def align_documents(source: Qrels, target: Qrels, source_path: Path, target_path: Path) -> dict[str, str]:
    """Source document id -> parallel target document id, linked through query ids judged in both.

    Only positive judgements link documents, and only when the query has exactly one positive
    document on each side (otherwise which one corresponds to which is unknown).
    """
    links: dict[str, tuple[str, str]] = {}  # source doc -> (target doc, query id that linked them)
    for query_id, judged in source.items():
        source_docs = [doc for doc, grade in judged.items() if grade > 0]
        target_docs = [doc for doc, grade in target.get(query_id, {}).items() if grade > 0]
        if len(source_docs) != 1 or len(target_docs) != 1:
            continue
        source_doc, target_doc = source_docs[0], target_docs[0]
        previous = links.setdefault(source_doc, (target_doc, query_id))
        if previous[0] != target_doc:
            raise InputError(
                f"the collections are not parallel: document {source_doc!r} of {source_path} is linked to "
                f"{previous[0]!r} by query {previous[1]!r} but to {target_doc!r} by query {query_id!r} "
                f"in {target_path}"
            )
    return {source_doc: target_doc for source_doc, (target_doc, _) in links.items()}


class ParallelBeirSource(Source):
    kind = "parallel-beir"
    Params = ParallelBeirParams
    params: ParallelBeirParams

    def _file(self, root: Path, template: str, language: str, split: str, dataset: str) -> Path:
        values = {"language": language, "split": split, "dataset": dataset}
        try:
            return root / template.format(**values)
        except KeyError as error:
            raise InputError(
                f"unknown placeholder {{{error.args[0]}}} in {template!r}; use one of {sorted(values)}"
            ) from None

    def _root(self, dataset: str, split: str) -> Path:
        if self.params.path is None:
            raise InputError(
                f"{dataset} is read from a local folder: run with `--local {dataset}=DIR`, where DIR holds one "
                "BEIR folder per language (`<language>/corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`)",
                key="--local",
            )
        return self.resolve(self.params.path, {"dataset": dataset, "split": split})

    def load(self, dataset: str, languages: LanguagePair, split: str) -> RetrievalTask:
        root = self._root(dataset, split)
        if not root.is_dir():
            raise InputError("dataset folder not found", path=root)
        corpus_path = self._file(root, self.params.corpus, languages.document, split, dataset)
        queries_path = self._file(root, self.params.queries, languages.query, split, dataset)
        qrels_path = self._file(root, self.params.qrels, languages.query, split, dataset)
        corpus = read_corpus_jsonl(corpus_path, languages.document)
        queries = read_queries_jsonl(queries_path, languages.query)
        qrels, lines = read_qrels(qrels_path)
        files = [corpus_path, queries_path, qrels_path]
        metadata: dict[str, object] = {}
        if languages.is_cross_lingual:
            target_qrels_path = self._file(root, self.params.qrels, languages.document, split, dataset)
            target_qrels, _ = read_qrels(target_qrels_path)
            files.append(target_qrels_path)
            qrels, lines, metadata = _moved_judgements(qrels, lines, target_qrels, qrels_path, target_qrels_path)
        task = assemble_task(
            dataset=dataset,
            split=split,
            languages=languages,
            corpus=corpus,
            queries=queries,
            qrels=qrels,
            qrels_lines=lines,
            qrels_path=qrels_path,
            source="parallel-beir-local",
            location=str(root.resolve()),
            checksum=sha256_of_files(files),
            version=self.params.version,
        )
        return replace(task, metadata=metadata)

    def data_files(self, dataset: str, languages: LanguagePair, split: str) -> DataFiles | None:
        """The query language's queries and qrels, the documents' corpus, and (across languages) the
        documents' qrels, which align the two."""
        if self.params.path is None:
            return None
        root = self._root(dataset, split)
        qrels_languages = dict.fromkeys((languages.query, languages.document))
        return DataFiles(
            {
                "queries": [self._file(root, self.params.queries, languages.query, split, dataset)],
                "qrels": [
                    self._file(root, self.params.qrels, language, split, dataset) for language in qrels_languages
                ],
            },
            [self._file(root, self.params.corpus, languages.document, split, dataset)],
        )


def _moved_judgements(
    qrels: Qrels,
    lines: dict[tuple[str, str], int],
    target_qrels: Qrels,
    qrels_path: Path,
    target_qrels_path: Path,
) -> tuple[Qrels, dict[tuple[str, str], int], dict[str, object]]:
    """The query language's judgements, each moved onto the parallel document of the other language."""
    alignment = align_documents(qrels, target_qrels, qrels_path, target_qrels_path)
    moved: Qrels = {}
    moved_lines: dict[tuple[str, str], int] = {}
    dropped = 0
    for query_id, judged in qrels.items():
        for doc_id, grade in judged.items():
            target_doc = alignment.get(doc_id)
            if target_doc is None:
                dropped += 1
                continue
            moved.setdefault(query_id, {})[target_doc] = grade
            moved_lines[(query_id, target_doc)] = lines[(query_id, doc_id)]
    if not moved:
        raise InputError(
            f"no judgement of {qrels_path} has a parallel document: no query id is judged in both it and "
            f"{target_qrels_path}"
        )
    metadata = {
        "judgements_moved_across_languages": sum(len(judged) for judged in moved.values()),
        "judgements_without_parallel_document": dropped,
        "aligned_documents": len(alignment),
    }
    return moved, moved_lines, metadata


SOURCE = ParallelBeirSource
