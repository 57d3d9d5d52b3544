"""A dataset published as files in Hugging Face dataset repositories, pinned to a revision.

Each of `corpus`, `queries` and `qrels` names a file in the repository (a glob for shards), or a
README config (`{config: "{source_language}-corpus"}`, MTEB's layout), optionally from another
repository (Mr.TyDi and MIRACL publish their corpora separately). Without `qrels`, the queries file
is Tevatron-style and lists each query's `positive_passages` (Mr.TyDi, MLDR).

`path` points at a local copy laid out like the repository (e.g. `huggingface-cli download
--repo-type dataset REPO --local-dir DIR`): nothing is then fetched.
"""

from __future__ import annotations

from pathlib import Path

from harness.core.errors import InputError, SourceUnavailableError
from harness.data.dataset import LanguagePair, RetrievalTask
from harness.data.fingerprint import DataFiles
from harness.data.formats import read_corpus, read_qrels, read_queries, read_queries_with_positives, sha256_of_files
from harness.data.hub import HubClient, HubFile, ResolvedFiles, hub_client
from harness.data.sources.base import Source, SourceParams, assemble_task


class HuggingFaceParams(SourceParams):
    repo: str | None = None
    revision: str | None = None
    path: str | None = None
    cache_dir: str | None = None
    corpus: HubFile
    queries: HubFile
    qrels: HubFile | None = None
    version: str | None = None


def revision_label(resolved: list[ResolvedFiles]) -> str | None:
    """The commit(s) read: one hash, or `repo@hash` per repository when several were read."""
    commits = {(r.repo, r.revision) for r in resolved if r.origin != "local" and r.revision}
    if not commits:
        return None
    if len(commits) == 1:
        return next(iter(commits))[1]
    return "; ".join(f"{repo}@{revision}" for repo, revision in sorted(commits, key=str))


class HuggingFaceSource(Source):
    kind = "huggingface"
    Params = HuggingFaceParams
    params: HuggingFaceParams

    def client(self) -> HubClient:
        return hub_client(
            self.base_dir, self.params.path, self.params.cache_dir, self.params.repo, self.params.revision
        )

    def _specs(self) -> list[HubFile]:
        return [spec for spec in (self.params.corpus, self.params.queries, self.params.qrels) if spec is not None]

    def load(self, dataset: str, languages: LanguagePair, split: str) -> RetrievalTask:
        values = self.placeholders(dataset, languages, split)
        client = self.client()
        corpus_files = client.resolve(self.params.corpus, values)
        queries_files = client.resolve(self.params.queries, values)
        queries_path = _single(queries_files, "queries")
        corpus = read_corpus(corpus_files.paths, languages.document)
        resolved = [corpus_files, queries_files]
        if self.params.qrels is None:
            queries, qrels, lines = read_queries_with_positives(queries_path, languages.query)
            qrels_path = queries_path
        else:
            qrels_files = client.resolve(self.params.qrels, values)
            resolved.append(qrels_files)
            qrels_path = _single(qrels_files, "qrels")
            queries = read_queries(queries_path, languages.query)
            qrels, lines = read_qrels(qrels_path)
        read = [path for files in resolved for path in files.paths]
        return assemble_task(
            dataset=dataset,
            split=split,
            languages=languages,
            corpus=corpus,
            queries=queries,
            qrels=qrels,
            qrels_lines=lines,
            qrels_path=qrels_path,
            source="huggingface" if queries_files.origin != "local" else "huggingface-local",
            location=queries_files.location,
            checksum=sha256_of_files(list(dict.fromkeys(read))),
            version=self.params.version,
            revision=revision_label(resolved),
        )

    def fetch(self, dataset: str, languages: LanguagePair, split: str) -> str:
        values = self.placeholders(dataset, languages, split)
        client = self.client()
        resolved = [client.resolve(spec, values) for spec in self._specs()]
        files = sorted({path for r in resolved for path in r.paths})
        size = sum(path.stat().st_size for path in files)
        return f"{len(files)} files, {size / 1e6:,.1f} MB at {', '.join(sorted({r.location for r in resolved}))}"

    def cache_status(self, dataset: str, languages: LanguagePair, split: str) -> bool | None:
        values = self.placeholders(dataset, languages, split)
        client = self.client()
        return all(client.is_cached(spec, values) for spec in self._specs())

    def data_files(self, dataset: str, languages: LanguagePair, split: str) -> DataFiles | None:
        """The files `load` reads when they are here (a local copy, or the cache, which `load` reads first);
        None when they must be downloaded."""
        values = self.placeholders(dataset, languages, split)
        client = self.client()
        try:
            corpus, queries, *qrels = [client.resolve(spec, values, download=False) for spec in self._specs()]
        except (InputError, SourceUnavailableError):
            return None
        if not qrels:  # Tevatron-style: the queries file lists the judgements
            return DataFiles({"queries and judgements": queries.paths}, corpus.paths)
        return DataFiles({"queries": queries.paths, "qrels": qrels[0].paths}, corpus.paths)


def _single(files: ResolvedFiles, role: str) -> Path:
    if len(files.paths) != 1:
        raise InputError(f"expected one {role} file, found {len(files.paths)}", path=files.root)
    return files.paths[0]


SOURCE = HuggingFaceSource
