"""Readers for the native file formats of IR collections, with errors that name the file and line.

Formats: BEIR (jsonl corpus and queries, tsv qrels with a header), Anserini/Pyserini topics
(`qid<TAB>text`, optionally gzipped), classic TREC topics (`<top>` blocks), TREC qrels
(`qid iter docid rel`), jsonl qrels (`query-id`, `corpus-id`, `score`), MS MARCO tsv collections
(`pid<TAB>text`), Tevatron-style query files whose records list their `positive_passages`
(Mr.TyDi, MLDR), and the parquet files of Hugging Face datasets (the "line" is then the row).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import re
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from harness.core.errors import InputError
from harness.data.dataset import Corpus, Qrels, Queries
from harness.data.text_column import TextColumnWriter

ID_KEYS = ("_id", "id", "docid", "doc_id")
TEXT_KEYS = ("text", "contents", "body")
QUERY_ID_KEYS = ("_id", "id", "query_id", "qid")


def open_text(path: Path, errors: str = "strict") -> IO[str]:
    """Open a UTF-8 text file, transparently decompressing `.gz`."""
    if not path.is_file():
        raise InputError("file not found", path=path)
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors=errors)
    return path.open(encoding="utf-8", errors=errors)


@contextlib.contextmanager
def gzip_errors(path: Path, line: Callable[[], int | None] = lambda: None) -> Iterator[None]:
    """A `.gz` that is truncated or not gzip at all becomes an error naming the file (and the line it breaks in)."""
    try:
        yield
    except EOFError:
        raise InputError("the gzip file is truncated (it ends before its end-of-stream marker)", path, line()) from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise InputError(f"not a readable gzip file ({error})", path=path) from None


def _undecodable_line(path: Path) -> InputError:
    """The first line holding a byte that is not UTF-8, found by reading again with such bytes kept.

    Text is decoded in chunks, so the line being read when decoding fails is not the line at fault.
    """
    with open_text(path, errors="surrogateescape") as handle:
        for line_number, line in enumerate(handle, start=1):
            try:
                line.encode("utf-8", "surrogateescape").decode("utf-8")
            except UnicodeDecodeError as error:
                reason = f"not valid UTF-8 ({error.reason} at byte {error.start + 1} of the line)"
                return InputError(reason, path, line_number)
    return InputError("not valid UTF-8", path=path)


def _read_text(path: Path, limit: int = -1) -> str:
    """A whole file (or its first `limit` characters) as text; a decoding error names its line."""
    with gzip_errors(path), open_text(path) as handle:
        try:
            return handle.read(limit)
        except UnicodeDecodeError:
            raise _undecodable_line(path) from None


def _check_id(kind: str, identifier: str, path: Path, line: int) -> None:
    """An id must name something. Ids with whitespace are real (LIMIT's documents are people's names):
    the TREC run escapes them, and control characters too (`harness.record.result.trec_id`)."""
    if not identifier:
        raise InputError(f"{kind} id is empty", path, line)


class ContentDigest:
    """A checksum over records as read, for sources that hand over records rather than files."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def update(self, *fields: object) -> None:
        for value in fields:
            self._digest.update(str(value).encode("utf-8"))
            self._digest.update(b"\x1f")
        self._digest.update(b"\x1e")

    def hexdigest(self) -> str:
        return "sha256:" + self._digest.hexdigest()


def sha256_of_files(paths: Iterable[Path]) -> str:
    """One checksum over the exact bytes read, in order, so any change to the inputs shows."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based line numbers; a decoding error or a truncated `.gz` names its line."""
    line_number = 0
    with gzip_errors(path, lambda: line_number + 1), open_text(path) as handle:
        try:
            for line_number, line in enumerate(handle, start=1):
                if line.strip():
                    yield line_number, line.rstrip("\r\n")
        except UnicodeDecodeError:
            raise _undecodable_line(path) from None


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for line_number, line in iter_lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"malformed JSON: {error.msg}", path=path, line=line_number) from error
        if not isinstance(record, dict):
            raise InputError("expected a JSON object on each line", path=path, line=line_number)
        yield line_number, record


def _first_present(record: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, Any] | None:
    for key in keys:
        if key in record and record[key] is not None:
            return key, record[key]
    return None


def _is_parquet(path: Path) -> bool:
    return path.suffix == ".parquet"


def _is_jsonl(path: Path) -> bool:
    return path.name.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".json"))


def iter_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a parquet file as dicts, numbered from 1."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        raise InputError("file not found", path=path)
    try:
        parquet = pq.ParquetFile(path)
        row = 0
        for batch in parquet.iter_batches(batch_size=8192):
            for record in batch.to_pylist():
                row += 1
                yield row, record
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"not a readable parquet file: {error}", path=path) from None


def iter_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Records of a jsonl(.gz) or parquet file with their line (row) numbers."""
    return iter_parquet(path) if _is_parquet(path) else iter_jsonl(path)


class CorpusBuilder:
    """Accumulates documents from one or more shards, refusing duplicate ids across all of them.

    Where each document came from is kept compactly (a shard number and a line per document), and titles and
    texts go straight to disk (`TextColumn`), since corpora run to tens of millions of documents; ids stay in
    memory, with the index of them that finds duplicates until the corpus is built.
    """

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._titles = TextColumnWriter()
        self._texts = TextColumnWriter()
        self._row_of: dict[str, int] = {}
        self._paths: list[Path] = []
        self._shard = array("H")
        self._line = array("q")

    def add(self, doc_id: str, title: str, text: str, path: Path, line: int) -> None:
        _check_id("document", doc_id, path, line)
        if not self._paths or self._paths[-1] != path:
            self._paths.append(path)
        first = self._row_of.get(doc_id)
        if first is not None:
            first_path, first_line = self._paths[self._shard[first]], self._line[first]
            where = f"line {first_line}" if first_path == path else f"{first_path}:{first_line}"
            raise InputError(f"duplicate document id {doc_id!r} (first at {where})", path, line)
        self._row_of[doc_id] = len(self.ids)
        self._shard.append(len(self._paths) - 1)
        self._line.append(line)
        self.ids.append(doc_id)
        self._titles.append(title)
        self._texts.append(text)

    def add_records(self, path: Path) -> None:
        for line_number, record in iter_records(path):
            found_id = _first_present(record, ID_KEYS)
            if found_id is None:
                raise InputError(f"document has no id (expected one of {', '.join(ID_KEYS)})", path, line_number)
            doc_id = str(found_id[1])
            found_text = _first_present(record, TEXT_KEYS)
            if found_text is None:
                raise InputError(
                    f"document {doc_id!r} has no text (expected one of {', '.join(TEXT_KEYS)})", path, line_number
                )
            self.add(doc_id, str(record.get("title") or ""), str(found_text[1]), path, line_number)

    def add_tsv(self, path: Path) -> None:
        """MS MARCO / mMARCO collections: `pid<TAB>passage` per line."""
        for line_number, line in iter_lines(path):
            doc_id, separator, text = line.partition("\t")
            if not separator or "\t" in text:
                raise InputError("expected `doc-id<TAB>text`", path, line_number)
            self.add(doc_id.strip(), "", text, path, line_number)

    def build(self, language: str, where: Path) -> Corpus:
        if not self.ids:
            raise InputError("corpus is empty", path=where)
        self._row_of.clear()
        return Corpus(ids=self.ids, titles=self._titles.finish(), texts=self._texts.finish(), language=language)


def read_corpus(paths: Sequence[Path], language: str) -> Corpus:
    """One corpus from its shards: jsonl(.gz) (BEIR `_id`, Pyserini `id`/`contents`, MIRACL `docid`),
    parquet with the same fields, or MS MARCO-style tsv."""
    if not paths:
        raise InputError("no corpus file given")
    builder = CorpusBuilder()
    for path in paths:
        if _is_jsonl(path) or _is_parquet(path):
            builder.add_records(path)
        else:
            builder.add_tsv(path)
    return builder.build(language, paths[0])


def read_corpus_jsonl(path: Path, language: str) -> Corpus:
    """BEIR (`_id`, `title`, `text`), Pyserini (`id`, `contents`) and MIRACL (`docid`) corpora."""
    return read_corpus([path], language)


def _check_query(query_id: str, text: str, seen: dict[str, int], path: Path, line_number: int) -> None:
    _check_id("query", query_id, path, line_number)
    if not text.strip():
        raise InputError(f"query {query_id!r} is empty", path, line_number)
    if query_id in seen:
        raise InputError(f"duplicate query id {query_id!r} (first at line {seen[query_id]})", path, line_number)
    seen[query_id] = line_number


def _queries(ids: list[str], texts: list[str], language: str, path: Path) -> Queries:
    if not ids:
        raise InputError("no queries found", path=path)
    return Queries(ids=ids, texts=texts, language=language)


def read_queries_jsonl(path: Path, language: str) -> Queries:
    """BEIR (`_id`, `text`) and Tevatron (`query_id`, `query`) queries, in jsonl(.gz) or parquet."""
    ids: list[str] = []
    texts: list[str] = []
    seen: dict[str, int] = {}
    for line_number, record in iter_records(path):
        found_id = _first_present(record, QUERY_ID_KEYS)
        if found_id is None:
            raise InputError("query has no id (expected `_id` or `id`)", path, line_number)
        query_id = str(found_id[1])
        found_text = _first_present(record, ("text", "query", "title"))
        text = str(found_text[1]) if found_text else ""
        _check_query(query_id, text, seen, path, line_number)
        ids.append(query_id)
        texts.append(text)
    return _queries(ids, texts, language, path)


def read_queries(path: Path, language: str) -> Queries:
    """Queries in whichever native format the file is: jsonl/parquet records or TSV/TREC topics."""
    if _is_jsonl(path) or _is_parquet(path):
        return read_queries_jsonl(path, language)
    return read_topics(path, language)


def read_queries_with_positives(path: Path, language: str) -> tuple[Queries, Qrels, dict[tuple[str, str], int]]:
    """Tevatron-style files (Mr.TyDi, MLDR): each query record lists its `positive_passages`.

    Every listed positive is a judgement of grade 1; `negative_passages` are sampled negatives,
    not judgements, and are ignored.
    """
    ids: list[str] = []
    texts: list[str] = []
    seen: dict[str, int] = {}
    qrels: Qrels = {}
    lines: dict[tuple[str, str], int] = {}
    for line_number, record in iter_records(path):
        found_id = _first_present(record, QUERY_ID_KEYS)
        if found_id is None:
            raise InputError("query has no id (expected `query_id`)", path, line_number)
        query_id = str(found_id[1])
        text = str(record.get("query") or record.get("text") or "")
        _check_query(query_id, text, seen, path, line_number)
        ids.append(query_id)
        texts.append(text)
        positives = record.get("positive_passages")
        if not isinstance(positives, list):
            raise InputError(f"query {query_id!r} has no `positive_passages` list", path, line_number)
        for passage in positives:
            found = _first_present(passage, ID_KEYS) if isinstance(passage, dict) else None
            if found is None:
                raise InputError(f"a positive passage of query {query_id!r} has no `docid`", path, line_number)
            qrels.setdefault(query_id, {})[str(found[1])] = 1
            lines.setdefault((query_id, str(found[1])), line_number)
    if not qrels:
        raise InputError("no query lists a positive passage", path=path)
    return Queries(ids=ids, texts=texts, language=language), qrels, lines


_TOP_BLOCK = re.compile(r"<top>(.*?)</top>", re.DOTALL | re.IGNORECASE)
_NUM = re.compile(r"<num>\s*(?:Number:)?\s*(\S+)", re.IGNORECASE)
_TITLE = re.compile(r"<title>\s*(?:Topic:)?\s*(.*?)\s*(?=<|\Z)", re.DOTALL | re.IGNORECASE)


def read_topics(path: Path, language: str) -> Queries:
    """Anserini/Pyserini TSV topics (`qid<TAB>text`) or classic TREC `<top>` topics (title field)."""
    if "<top>" in _read_text(path, limit=4096).lower():
        return _read_trec_sgml_topics(path, language)
    ids: list[str] = []
    texts: list[str] = []
    seen: dict[str, int] = {}
    for line_number, line in iter_lines(path):
        query_id, separator, text = line.partition("\t")
        if not separator:
            raise InputError("expected `query-id<TAB>text`", path, line_number)
        _check_query(query_id.strip(), text, seen, path, line_number)
        ids.append(query_id.strip())
        texts.append(text.strip())
    return _queries(ids, texts, language, path)


def _read_trec_sgml_topics(path: Path, language: str) -> Queries:
    content = _read_text(path)
    ids: list[str] = []
    texts: list[str] = []
    seen: dict[str, int] = {}
    for block in _TOP_BLOCK.finditer(content):
        line_number = content.count("\n", 0, block.start()) + 1
        number = _NUM.search(block.group(1))
        title = _TITLE.search(block.group(1))
        if number is None:
            raise InputError("topic has no <num>", path, line_number)
        text = " ".join(title.group(1).split()) if title else ""
        _check_query(number.group(1), text, seen, path, line_number)
        ids.append(number.group(1))
        texts.append(text)
    return _queries(ids, texts, language, path)


def read_qrels(path: Path) -> tuple[Qrels, dict[tuple[str, str], int]]:
    """Judgements from BEIR tsv, TREC qrels or jsonl, with the line of each for later checks."""
    qrels: Qrels = {}
    lines: dict[tuple[str, str], int] = {}

    def add(query_id: str, doc_id: str, grade_text: Any, line_number: int) -> None:
        try:
            grade = int(grade_text)
        except (TypeError, ValueError):
            raise InputError(f"relevance grade {grade_text!r} is not an integer", path, line_number) from None
        previous = qrels.setdefault(query_id, {}).get(doc_id)
        if previous is not None and previous != grade:
            raise InputError(
                f"conflicting judgements for query {query_id!r} and document {doc_id!r} "
                f"(line {lines[(query_id, doc_id)]} says {previous})",
                path,
                line_number,
            )
        qrels[query_id][doc_id] = grade
        lines.setdefault((query_id, doc_id), line_number)

    if _is_jsonl(path) or _is_parquet(path):
        for line_number, record in iter_records(path):
            try:
                add(str(record["query-id"]), str(record["corpus-id"]), record.get("score", 1), line_number)
            except KeyError as error:
                raise InputError(f"judgement lacks {error.args[0]!r}", path, line_number) from None
    else:
        for line_number, line in iter_lines(path):
            columns = [column.strip() for column in line.split("\t")] if "\t" in line else line.split()
            if len(columns) == 3:
                if line_number == 1 and not columns[2].lstrip("-").isdigit():
                    continue  # BEIR header: query-id corpus-id score
                add(columns[0], columns[1], columns[2], line_number)
            elif len(columns) == 4:
                add(columns[0], columns[2], columns[3], line_number)
            else:
                raise InputError(
                    f"expected 3 columns (BEIR) or 4 columns (TREC), found {len(columns)}", path, line_number
                )
    if not qrels:
        raise InputError("no judgements found", path=path)
    return qrels, lines


def check_qrels(
    qrels: Qrels,
    lines: dict[tuple[str, str], int],
    path: Path,
    document_ids: Iterable[str],
    query_ids: Iterable[str],
) -> None:
    """Every judgement must name a known query and a known document."""
    documents = set(document_ids)
    queries = set(query_ids)
    for query_id, judged in qrels.items():
        for doc_id in judged:
            if query_id not in queries:
                raise InputError(f"judgement names unknown query {query_id!r}", path, lines[(query_id, doc_id)])
            if doc_id not in documents:
                raise InputError(
                    f"judgement names unknown document {doc_id!r} (query {query_id!r})",
                    path,
                    lines[(query_id, doc_id)],
                )
