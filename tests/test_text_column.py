"""Corpus texts spilled to an unlinked temporary file: the same strings back, without holding them in memory."""

from __future__ import annotations

import json
import pickle
import tracemalloc
from pathlib import Path

import pytest

from harness.data.dataset import Corpus
from harness.data.formats import read_corpus
from harness.data.text_column import TextColumn

TEXTS = ["plain", "", "Grüße aus Köln", "東京の天気", "emoji 🙂 and tab\t", "lone \ud800 surrogate", ""]


def test_every_text_comes_back_as_written() -> None:
    column = TextColumn.of(TEXTS)
    assert len(column) == len(TEXTS)
    assert [column[row] for row in range(len(TEXTS))] == TEXTS
    assert list(column) == TEXTS


def test_slices_and_negative_indices_read_like_a_list() -> None:
    column = TextColumn.of(TEXTS)
    for index in (slice(1, 4), slice(None, None, 2), slice(5, 2, -1), slice(3, 3), slice(-3, None), slice(0, 99)):
        assert column[index] == TEXTS[index], index
    assert column[-1] == TEXTS[-1] and column[-7] == TEXTS[0]


def test_a_row_past_the_end_is_an_index_error() -> None:
    column = TextColumn.of(TEXTS)
    with pytest.raises(IndexError):
        column[len(TEXTS)]


def test_an_empty_column_has_no_rows() -> None:
    column = TextColumn.of([])
    assert len(column) == 0 and column[:] == [] and list(column) == [] and column.size_bytes == 0


def test_its_size_is_the_utf8_bytes() -> None:
    assert TextColumn.of(["ab", "é", "東"]).size_bytes == 2 + 2 + 3


def test_a_column_refuses_to_be_pickled_whole() -> None:
    with pytest.raises(TypeError, match="send slices of it"):
        pickle.dumps(TextColumn.of(["a"]))


def test_a_corpus_read_from_a_file_equals_the_same_corpus_built_from_lists(tmp_path: Path) -> None:
    records = [{"_id": f"d{row}", "title": f"T{row}" if row % 3 else "", "text": TEXTS[row]} for row in range(7)]
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    from_file = read_corpus([path], "en")
    from_lists = Corpus(
        ids=[r["_id"] for r in records], titles=[r["title"] for r in records], texts=TEXTS, language="en"
    )
    assert isinstance(from_file.texts, TextColumn)
    assert from_file.joined_texts()[:] == from_lists.joined_texts()[:]
    assert dict(from_file.passages_by_id()) == dict(from_lists.passages_by_id())


def test_reading_a_corpus_does_not_hold_its_texts_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "collection.tsv"
    body = "word " * 2000  # 10 kB a passage, 20 MB in all
    with path.open("w", encoding="utf-8") as handle:
        for row in range(2000):
            handle.write(f"{row}\t{body}{row}\n")
    tracemalloc.start()
    try:
        corpus = read_corpus([path], "en")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert corpus.texts[1999] == f"{body}1999" and corpus.texts.size_bytes > 20_000_000
    assert peak < 4_000_000  # ids, offsets, the write buffer and one line at a time: not the 20 MB of text
