"""Corpora in the shapes collections publish: jsonl shards, MS MARCO tsv, parquet, Tevatron queries."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.core.errors import InputError
from harness.data.formats import read_corpus, read_queries_with_positives
from tests.conftest import write_jsonl


def test_shards_make_one_corpus_in_order(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "docs-0.jsonl", [{"docid": "a#0", "title": "A", "text": "one"}])
    with gzip.open(tmp_path / "docs-1.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"docid": "b#0", "title": "B", "text": "two"}) + "\n")
    corpus = read_corpus([tmp_path / "docs-0.jsonl", tmp_path / "docs-1.jsonl.gz"], "sw")
    assert (corpus.ids, list(corpus.titles), list(corpus.texts)) == (["a#0", "b#0"], ["A", "B"], ["one", "two"])


def test_a_duplicate_across_shards_names_both_places(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "docs-0.jsonl", [{"docid": "x", "text": "one"}, {"docid": "y", "text": "two"}])
    write_jsonl(tmp_path / "docs-1.jsonl", [{"docid": "y", "text": "again"}])
    with pytest.raises(InputError, match=r"docs-1.jsonl:1: duplicate document id 'y' \(first at .*docs-0.jsonl:2\)"):
        read_corpus([tmp_path / "docs-0.jsonl", tmp_path / "docs-1.jsonl"], "sw")


def test_ms_marco_collection_tsv(tmp_path: Path) -> None:
    (tmp_path / "collection.tsv").write_text("0\tThe presence of communication\n1\tManhattan Project\n")
    corpus = read_corpus([tmp_path / "collection.tsv"], "en")
    assert corpus.ids == ["0", "1"] and corpus.texts[1] == "Manhattan Project" and list(corpus.titles) == ["", ""]


def test_a_tsv_line_with_extra_columns_is_refused(tmp_path: Path) -> None:
    (tmp_path / "collection.tsv").write_text("0\ttext\n1\ttext\textra\n")
    with pytest.raises(InputError, match=r"collection.tsv:2: expected `doc-id<TAB>text`"):
        read_corpus([tmp_path / "collection.tsv"], "en")


def test_parquet_rows_are_numbered_in_errors(tmp_path: Path) -> None:
    pq.write_table(
        pa.Table.from_pylist([{"_id": "d1", "text": "a"}, {"_id": "d2", "body": None}]), tmp_path / "c.parquet"
    )
    with pytest.raises(InputError, match=r"c.parquet:2: document 'd2' has no text"):
        read_corpus([tmp_path / "c.parquet"], "en")


def test_tevatron_queries_without_positives_are_named(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "test.jsonl", [{"query_id": "q1", "query": "a", "negative_passages": []}])
    with pytest.raises(InputError, match=r"test.jsonl:1: query 'q1' has no `positive_passages` list"):
        read_queries_with_positives(tmp_path / "test.jsonl", "hi")
