"""Datasets served by the `ir_datasets` package (`miracl/sw/dev`, `beir/scifact/test`, `mmarco/v2/de/dev/small`).

ir_datasets downloads each file on first use, checks it against the MD5 it pins, and keeps it under
`$IR_DATASETS_HOME` (default `~/.ir_datasets`) in its own cache layout. For air-gapped machines,
copy that folder from a machine where `harness fetch` ran (ir_datasets reads `IR_DATASETS_HOME`
when it is first imported, so set it before starting the harness), or symlink a local copy of a
large original file to `$IR_DATASETS_HOME/downloads/<md5>`, ir_datasets' own mechanism.

Before the first download the source probes the hosts the dataset downloads from; when none
answers, ir_datasets gets one try with a short timeout, so a missing file fails in seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from harness.core.errors import InputError, SourceUnavailableError
from harness.core.net import PROBE_TIMEOUT_S, any_reachable
from harness.data.dataset import Corpus, LanguagePair, Queries, RetrievalTask
from harness.data.fingerprint import DataFingerprint
from harness.data.formats import ContentDigest, CorpusBuilder
from harness.data.sources.base import Source, SourceParams, assemble_task


class IrDatasetsParams(SourceParams):
    id: str
    # Per-language ids where the pattern does not fit (mMARCO's English is `msmarco-passage/dev/small`).
    ids: dict[str, str] = Field(default_factory=dict)
    version: str | None = None


def _ir_datasets() -> Any:
    try:
        import ir_datasets
    except ImportError:
        raise InputError("the `ir_datasets` package is not installed (pip install ir_datasets)") from None
    return ir_datasets


def _downloads(dataset_id: str) -> dict[str, Any]:
    """ir_datasets' `downloads.json` entries for the collection a dataset id belongs to."""
    raw = pkgutil.get_data("ir_datasets", "etc/downloads.json")
    return json.loads(raw or b"{}").get(dataset_id.split("/")[0], {})


def download_urls(dataset_id: str) -> list[str]:
    """The URLs ir_datasets may download the collection of `dataset_id` from."""
    entries = _downloads(dataset_id)

    def urls(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("url"), str):
                yield node["url"]
            for value in node.values():
                yield from urls(value)

    return sorted(set(urls(entries)))


@contextlib.contextmanager
def _bounded_downloads(dataset_id: str) -> Iterator[None]:
    """When no download host answers the probe, one try with a short timeout; errors become advice."""
    urls = download_urls(dataset_id)
    unreachable = not any_reachable(urls)
    limits = {"IR_DATASETS_DL_TRIES": "1", "IR_DATASETS_DL_TIMEOUT": str(PROBE_TIMEOUT_S)} if unreachable else {}
    saved = {name: os.environ.get(name) for name in limits}
    os.environ.update(limits)
    try:
        yield
    except Exception as error:
        if not _is_download_failure(error):
            raise
        hosts = ", ".join(sorted({url.split("/")[2] for url in urls})) or "its download hosts"
        raise SourceUnavailableError(
            f"ir_datasets cannot download {dataset_id!r} ({hosts} unreachable: {type(error).__name__}) and it is "
            f"not in the ir_datasets cache {_ir_datasets().util.home_path()} (IR_DATASETS_HOME, read when "
            "ir_datasets is first imported)"
        ) from None
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _is_download_failure(error: Exception) -> bool:
    import requests

    if isinstance(error, requests.RequestException):
        return True
    return isinstance(error, RuntimeError) and str(error).startswith("All download sources failed")


class IrDatasetsSource(Source):
    kind = "ir-datasets"
    Params = IrDatasetsParams
    params: IrDatasetsParams

    def dataset_id(self, dataset: str, languages: LanguagePair, split: str) -> str:
        template = self.params.ids.get(languages.label, self.params.id)
        return self.expand(template, self.placeholders(dataset, languages, split))

    def _dataset(self, dataset_id: str) -> Any:
        ir_datasets = _ir_datasets()
        try:
            found = ir_datasets.load(dataset_id)
        except KeyError:
            raise InputError(f"ir_datasets has no dataset {dataset_id!r}", key="source.id") from None
        for part in ("docs", "queries", "qrels"):
            if not getattr(found, f"has_{part}")():
                raise InputError(f"ir_datasets dataset {dataset_id!r} has no {part}", key="source.id")
        return found

    def load(self, dataset: str, languages: LanguagePair, split: str) -> RetrievalTask:
        dataset_id = self.dataset_id(dataset, languages, split)
        found = self._dataset(dataset_id)
        where = Path(f"ir_datasets:{dataset_id}")
        digest = ContentDigest()
        with _bounded_downloads(dataset_id):
            corpus = _read_docs(found, languages.document, where, digest)
            queries = _read_queries(found, languages.query, where, digest)
            qrels: dict[str, dict[str, int]] = {}
            lines: dict[tuple[str, str], int] = {}
            for number, qrel in enumerate(found.qrels_iter(), start=1):
                qrels.setdefault(qrel.query_id, {})[qrel.doc_id] = int(qrel.relevance)
                lines.setdefault((qrel.query_id, qrel.doc_id), number)
                digest.update(qrel.query_id, qrel.doc_id, qrel.relevance)
        return assemble_task(
            dataset=dataset,
            split=split,
            languages=languages,
            corpus=corpus,
            queries=queries,
            qrels=qrels,
            qrels_lines=lines,
            qrels_path=where,
            source="ir_datasets",
            location=dataset_id,
            checksum=digest.hexdigest(),
            version=self.params.version,
            revision=f"ir_datasets {_ir_datasets().__version__}",
        )

    def fingerprint(self, dataset: str, languages: LanguagePair, split: str) -> DataFingerprint | None:
        """The release and the dataset id: ir_datasets pins every file it downloads by the MD5 its release
        lists, so they name the content, in the cache or not (a new release raises a doubt, which the full
        checksum settles after loading)."""
        try:
            release = f"ir_datasets {_ir_datasets().__version__}"
        except InputError:  # not installed: `load` says so
            return None
        return DataFingerprint({}, {"data": f"{release}: {self.dataset_id(dataset, languages, split)}"})

    def cache_status(self, dataset: str, languages: LanguagePair, split: str) -> bool | None:
        """Whether the document collection is in the ir_datasets cache (its first file, or a built doc store)."""
        try:
            docs = self._dataset(self.dataset_id(dataset, languages, split)).docs_handler()
        except InputError:
            return None
        with contextlib.suppress(AttributeError, TypeError, NotImplementedError):
            return Path(docs.docs_path(force=False)).exists()
        with contextlib.suppress(AttributeError, NotImplementedError):
            if docs.docs_store().built():
                return True
        return self._archive_cached(self.dataset_id(dataset, languages, split))

    @staticmethod
    def _archive_cached(dataset_id: str) -> bool | None:
        """Collections shipped as one archive (BEIR's zips): is it at its `cache_path` in the ir_datasets home?"""
        parts = dataset_id.split("/")
        entry = _downloads(dataset_id).get(parts[1]) if len(parts) > 1 else None
        if not isinstance(entry, dict) or "cache_path" not in entry:
            return None
        return (Path(_ir_datasets().util.home_path()) / parts[0] / entry["cache_path"]).exists()


def _read_docs(found: Any, language: str, where: Path, digest: ContentDigest) -> Corpus:
    builder = CorpusBuilder()
    for number, doc in enumerate(found.docs_iter(), start=1):
        title = str(getattr(doc, "title", "") or "")
        text = getattr(doc, "text", None)
        body = str(text) if text is not None else str(doc.default_text())
        builder.add(str(doc.doc_id), title, body, where, number)
        digest.update(doc.doc_id, title, body)
    return builder.build(language, where)


def _read_queries(found: Any, language: str, where: Path, digest: ContentDigest) -> Queries:
    ids: list[str] = []
    texts: list[str] = []
    seen: set[str] = set()
    for number, query in enumerate(found.queries_iter(), start=1):
        text = getattr(query, "text", None)
        body = str(text) if text is not None else str(query.default_text())
        if query.query_id in seen:
            raise InputError(f"duplicate query id {query.query_id!r}", where, number)
        seen.add(query.query_id)
        ids.append(str(query.query_id))
        texts.append(body)
        digest.update(query.query_id, body)
    return Queries(ids=ids, texts=texts, language=language)


SOURCE = IrDatasetsSource
