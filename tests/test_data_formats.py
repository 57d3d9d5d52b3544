"""Loaders read the native formats and name the file and line of any bad record."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from harness.core.errors import InputError
from harness.data import LanguagePair
from harness.data.formats import read_corpus_jsonl, read_qrels, read_queries_jsonl, read_topics
from harness.data.sources import make_source
from tests.conftest import TINY_CORPUS, TINY_QRELS, TINY_QUERIES, write_beir, write_jsonl


def load_beir(root: Path, language: str = "en"):
    return make_source({"kind": "beir", "path": str(root)}, root).load("tiny", LanguagePair.parse(language), "test")


def test_beir_task_keeps_only_judged_queries(tiny_beir: Path) -> None:
    task = load_beir(tiny_beir)
    assert task.queries.ids == ["q1", "q2", "q3"]
    assert task.corpus.ids[:2] == ["d1", "d2"]
    assert task.qrels["q1"] == {"d1": 2, "d6": 1}
    assert task.identity.num_documents == 6
    assert task.identity.num_queries == 3
    assert task.identity.num_judgements == 5
    assert task.identity.checksum.startswith("sha256:")


def test_checksum_changes_when_a_byte_changes(tiny_beir: Path) -> None:
    before = load_beir(tiny_beir).identity.checksum
    corpus = tiny_beir / "corpus.jsonl"
    corpus.write_text(corpus.read_text().replace("purr", "purrs"))
    assert load_beir(tiny_beir).identity.checksum != before


def test_joined_texts_put_title_before_text(tiny_beir: Path) -> None:
    corpus = load_beir(tiny_beir).corpus
    assert corpus.joined_texts()[0] == "Cats Cats are small domestic felines that purr and hunt mice."


def test_malformed_jsonl_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": "a", "text": "fine"}\n{"_id": "b", "text": oops}\n')
    with pytest.raises(InputError) as caught:
        read_corpus_jsonl(path, "en")
    assert caught.value.path == path and caught.value.line == 2
    assert "malformed JSON" in str(caught.value)


def test_duplicate_document_id_names_both_lines(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "corpus.jsonl", [{"_id": "a", "text": "x"}, {"_id": "b", "text": "y"}, {"_id": "a", "text": "z"}]
    )
    with pytest.raises(InputError, match=r"corpus.jsonl:3: duplicate document id 'a' \(first at line 1\)"):
        read_corpus_jsonl(path, "en")


def test_empty_query_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "queries.jsonl", [{"_id": "q1", "text": "ok"}, {"_id": "q2", "text": "   "}])
    with pytest.raises(InputError, match=r"queries.jsonl:2: query 'q2' is empty"):
        read_queries_jsonl(path, "en")


def test_qrels_naming_an_unknown_document_are_refused(tmp_path: Path) -> None:
    root = write_beir(tmp_path / "d", TINY_CORPUS, TINY_QUERIES, [*TINY_QRELS, ("q2", "missing-doc", 1)])
    with pytest.raises(InputError, match=r"test.tsv:7: judgement names unknown document 'missing-doc'"):
        load_beir(root)


def test_conflicting_judgements_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "qrels.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq\td\t1\nq\td\t2\n")
    with pytest.raises(InputError, match=r"qrels.tsv:3: conflicting judgements"):
        read_qrels(path)


def test_trec_qrels_and_jsonl_qrels_read_the_same(tmp_path: Path) -> None:
    trec = tmp_path / "qrels.txt"
    trec.write_text("1 0 a 1\n1 0 b 0\n2 Q0 c 2\n")
    jsonl = write_jsonl(
        tmp_path / "qrels.jsonl",
        [
            {"query-id": "1", "corpus-id": "a", "score": 1},
            {"query-id": "1", "corpus-id": "b", "score": 0},
            {"query-id": "2", "corpus-id": "c", "score": 2},
        ],
    )
    assert read_qrels(trec)[0] == read_qrels(jsonl)[0] == {"1": {"a": 1, "b": 0}, "2": {"c": 2}}


def test_gzipped_tsv_topics(tmp_path: Path) -> None:
    path = tmp_path / "topics.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("2601\tJe, Sarah ana mume?\n2602\tThiago Silva\n")
    queries = read_topics(path, "sw")
    assert queries.ids == ["2601", "2602"] and queries.texts[0] == "Je, Sarah ana mume?"


def test_classic_trec_topics_use_the_title(tmp_path: Path) -> None:
    path = tmp_path / "topics.txt"
    path.write_text(
        "<top>\n<num> Number: 301\n<title> International Organized Crime\n<desc> Description:\n"
        "Identify organizations...\n</top>\n<top>\n<num> Number: 302\n<title> Poliomyelitis\n</top>\n"
    )
    queries = read_topics(path, "en")
    assert queries.ids == ["301", "302"]
    assert queries.texts == ["International Organized Crime", "Poliomyelitis"]


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_qrels(tmp_path / "nope.tsv")


def test_language_pair_labels() -> None:
    assert LanguagePair.parse("en").label == "en"
    pair = LanguagePair.parse("de-en")
    assert (pair.query, pair.document, pair.is_cross_lingual) == ("de", "en", True)
    with pytest.raises(ValueError):
        LanguagePair.parse("a-b-c")


def test_real_topic_and_qrel_files(shared_data: Path) -> None:
    folder = shared_data / "topics-qrels"
    miracl = read_topics(folder / "topics.miracl-v1.0-sw-dev.tsv", "sw")
    miracl_qrels, _ = read_qrels(folder / "qrels.miracl-v1.0-sw-dev.tsv")
    assert len(miracl) == 482 and set(miracl_qrels) == set(miracl.ids)
    mrtydi = read_topics(folder / "topics.mrtydi-v1.1-sw.test.txt.gz", "sw")
    assert len(mrtydi) == 670
    msmarco = read_topics(folder / "topics.msmarco-passage.dev-subset.txt", "en")
    assert len(msmarco) == 6980
