"""The `mkqa` source: apple/mkqa records (jsonl as apple releases them, parquet as the hub converts
them) against a BEIR-layout passage corpus, answers instead of qrels."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.core.errors import InputError
from harness.data import LanguagePair
from harness.data.sources import Source, make_source
from tests.conftest import write_jsonl


def record(example_id: int, answers: list[dict], zh: str = "谁唱的") -> dict:
    """One MKQA example in apple/ml-mkqa's layout (queries and answers per language)."""
    return {
        "query": "who sings i hear you knocking",
        "queries": {"en": "who sings i hear you knocking", "ar": "من يغني", "zh_cn": zh, "zh_hk": "邊個唱"},
        "answers": {"en": answers, "ar": answers, "zh_cn": answers},
        "example_id": example_id,
    }


RECORDS = [
    record(563260143484355911, [{"type": "entity", "entity": "Q545186", "text": "Dave Edmunds", "aliases": []}]),
    record(2, [{"type": "binary", "text": "yes", "aliases": []}]),
    record(3, [{"type": "unanswerable", "text": None, "aliases": []}]),
    record(4, [{"type": "number", "text": "1,000", "aliases": ["1000", "one thousand"]}]),
]
CORPUS = [
    {"_id": "p1", "title": "I Hear You Knocking", "text": "The song was a hit for Dave Edmunds in 1970."},
    {"_id": "p2", "title": "Numbers", "text": "A thousand is written 1000."},
]


def write_local(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "mkqa.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS)
    write_jsonl(folder / "corpus.jsonl", CORPUS)
    return folder


def local_source(folder: Path, codes: dict[str, str] | None = None) -> Source:
    spec = {"kind": "mkqa", "path": str(folder), "queries": "mkqa.jsonl.gz", "corpus": "corpus.jsonl"}
    return make_source({**spec, "language_codes": codes or {}}, folder)


def test_unanswerable_and_yes_no_questions_are_dropped(tmp_path: Path) -> None:
    task = local_source(write_local(tmp_path)).load("mkqa", LanguagePair.parse("ar-en"), "test")
    assert task.queries.ids == ["563260143484355911", "4"]
    assert task.queries.texts == ["من يغني", "من يغني"] and task.queries.language == "ar"
    assert task.answers == {"563260143484355911": ["Dave Edmunds"], "4": ["1,000", "1000", "one thousand"]}
    assert task.qrels == {} and task.corpus.language == "en"
    assert task.identity.num_judgements == 4 and task.identity.source == "mkqa-local"


def test_language_codes_pick_the_chinese_variant(tmp_path: Path) -> None:
    folder = write_local(tmp_path)
    cn = local_source(folder, {"zh": "zh_cn"}).load("mkqa", LanguagePair.parse("zh-en"), "test")
    hk = local_source(folder, {"zh": "zh_hk"}).load("mkqa-zh-hk", LanguagePair.parse("zh-en"), "test")
    assert cn.queries.texts[0] == "谁唱的" and hk.queries.texts[0] == "邊個唱"


def test_hub_parquet_conversion_with_integer_answer_types(tmp_path: Path) -> None:
    """`refs/convert/parquet` stores `type` as its class label: 7 is binary, 0 entity."""
    snapshot = tmp_path / "cache" / "datasets--apple--mkqa" / "snapshots" / ("c" * 40)
    rows = [
        {**r, "example_id": str(r["example_id"]), "answers": {"en": [{**a, "type": t} for a in r["answers"]["en"]]}}
        for r, t in zip(RECORDS[:2], (0, 7), strict=True)
    ]
    (snapshot / "mkqa" / "train").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), snapshot / "mkqa" / "train" / "0000.parquet")
    corpus = tmp_path / "cache" / "datasets--BeIR--nq" / "snapshots" / ("d" * 40) / "corpus.jsonl.gz"
    corpus.parent.mkdir(parents=True)
    with gzip.open(corpus, "wt") as handle:
        handle.writelines(json.dumps(doc) + "\n" for doc in CORPUS)
    spec = {
        "kind": "mkqa",
        "cache_dir": str(tmp_path / "cache"),
        "queries": {"repo": "apple/mkqa", "revision": "c" * 40, "file": "mkqa/train/*.parquet"},
        "corpus": {"repo": "BeIR/nq", "revision": "d" * 40, "file": "corpus.jsonl.gz"},
    }
    task = make_source(spec, tmp_path).load("mkqa", LanguagePair.parse("ar-en"), "test")
    assert task.answers == {"563260143484355911": ["Dave Edmunds"]}
    assert task.identity.revision == f"BeIR/nq@{'d' * 40}; apple/mkqa@{'c' * 40}"


def test_an_unknown_answer_type_names_the_line(tmp_path: Path) -> None:
    folder = write_local(tmp_path)
    with gzip.open(folder / "mkqa.jsonl.gz", "wt") as handle:
        handle.write(json.dumps(record(9, [{"type": "colour", "text": "red", "aliases": []}])) + "\n")
    with pytest.raises(InputError, match=r"mkqa.jsonl.gz:1: unknown answer type 'colour'"):
        local_source(folder).load("mkqa", LanguagePair.parse("ar-en"), "test")
