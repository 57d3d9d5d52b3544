"""The `huggingface` source on files written in each repository's published layout, with no network."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.core.errors import InputError, SourceUnavailableError
from harness.data import LanguagePair
from harness.data.hub import HubClient, HubFile, readme_data_files
from harness.data.sources import make_source
from tests.conftest import write_jsonl

MLDR_REVISION = "f3837caa8004c6b49954bb6b511d424222eb9161"
MLDR = {
    "kind": "huggingface",
    "repo": "Shitao/MLDR",
    "revision": MLDR_REVISION,
    "corpus": "mldr-v1.0-{language}/corpus.jsonl.gz",
    "queries": "mldr-v1.0-{language}/{split}.jsonl.gz",
}


def write_gz_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def write_mldr(root: Path, language: str = "hi") -> Path:
    """`mldr-v1.0-<lang>/corpus.jsonl.gz` ({docid, text}) and `test.jsonl.gz` (Tevatron records), as on the hub."""
    folder = root / f"mldr-v1.0-{language}"
    write_gz_jsonl(
        folder / "corpus.jsonl.gz",
        [{"docid": f"doc-{language}-{i}", "text": f"लंबा दस्तावेज़ {i} " * 50} for i in range(4)],
    )
    write_gz_jsonl(
        folder / "test.jsonl.gz",
        [
            {
                "query_id": f"q-{language}-{i}",
                "query": f"प्रश्न {i}",
                "positive_passages": [{"docid": f"doc-{language}-{i}", "text": "…"}],
                "negative_passages": [],
            }
            for i in range(3)
        ],
    )
    return root


def hf_cache(cache: Path, repo: str, revision: str) -> Path:
    """The snapshot folder huggingface_hub keeps for a dataset repository at one commit."""
    snapshot = cache / f"datasets--{repo.replace('/', '--')}" / "snapshots" / revision
    snapshot.mkdir(parents=True)
    return snapshot


def test_mldr_from_a_local_copy_takes_qrels_from_positive_passages(tmp_path: Path) -> None:
    source = make_source({**MLDR, "path": str(write_mldr(tmp_path))}, tmp_path)
    task = source.load("mldr", LanguagePair.parse("hi"), "test")
    assert task.qrels == {f"q-hi-{i}": {f"doc-hi-{i}": 1} for i in range(3)}
    assert len(task.corpus) == 4 and task.queries.texts[0] == "प्रश्न 0"
    assert task.identity.source == "huggingface-local" and task.identity.revision is None


def test_mldr_from_the_hugging_face_cache_records_the_commit(tmp_path: Path) -> None:
    write_mldr(hf_cache(tmp_path / "cache", "Shitao/MLDR", MLDR_REVISION))
    source = make_source({**MLDR, "cache_dir": str(tmp_path / "cache")}, tmp_path)
    assert source.cache_status("mldr", LanguagePair.parse("hi"), "test") is True
    assert source.cache_status("mldr", LanguagePair.parse("ar"), "test") is False
    task = source.load("mldr", LanguagePair.parse("hi"), "test")
    assert task.identity.source == "huggingface" and task.identity.revision == MLDR_REVISION
    assert task.identity.location == f"hf://datasets/Shitao/MLDR@{MLDR_REVISION}"


def test_mr_tydi_reads_topics_and_qrels_and_a_corpus_from_its_corpus_repository(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    topics = hf_cache(cache, "castorini/mr-tydi", "a" * 40) / "mrtydi-v1.1-swahili" / "ir-format-data"
    topics.mkdir(parents=True)
    (topics / "topics.test.txt").write_text("2601\tJe,Sarah Wayne Callies ana mume?\n2602\tSwali la pili\n")
    (topics / "qrels.test.txt").write_text("2601 Q0 15607#5 1\n2602 Q0 102610#4 1\n")
    corpus = hf_cache(cache, "castorini/mr-tydi-corpus", "b" * 40) / "mrtydi-v1.1-swahili" / "corpus.jsonl.gz"
    write_gz_jsonl(corpus, [{"docid": d, "title": "T", "text": "maandishi"} for d in ("15607#5", "102610#4", "9#0")])
    spec = {
        "kind": "huggingface",
        "repo": "castorini/mr-tydi",
        "revision": "a" * 40,
        "cache_dir": str(cache),
        "queries": "mrtydi-v1.1-{language_name}/ir-format-data/topics.{split}.txt",
        "qrels": "mrtydi-v1.1-{language_name}/ir-format-data/qrels.{split}.txt",
        "corpus": {
            "repo": "castorini/mr-tydi-corpus",
            "revision": "b" * 40,
            "file": "mrtydi-v1.1-{language_name}/corpus.jsonl.gz",
        },
    }
    task = make_source(spec, tmp_path).load("mrtydi", LanguagePair.parse("sw"), "test")
    assert task.queries.ids == ["2601", "2602"] and len(task.corpus) == 3
    assert task.identity.revision == f"castorini/mr-tydi@{'a' * 40}; castorini/mr-tydi-corpus@{'b' * 40}"


def test_hindi_beir_qrels_fall_back_to_the_jsonl_the_repository_switched_to(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "corpus.jsonl", [{"_id": "d1", "title": "", "text": "पाठ"}])
    write_jsonl(tmp_path / "queries.jsonl", [{"_id": "q1", "text": "प्रश्न"}])
    write_jsonl(tmp_path / "qrels" / "test.jsonl", [{"query-id": "q1", "corpus-id": "d1", "score": 1}])
    spec = {
        "kind": "huggingface",
        "repo": "AIhnIndicRag/Hindi_Arguana",
        "path": str(tmp_path),
        "corpus": "corpus.jsonl",
        "queries": "queries.jsonl",
        "qrels": ["qrels/{split}.tsv", "qrels/{split}.jsonl"],
    }
    task = make_source(spec, tmp_path).load("arguana", LanguagePair.parse("hi"), "test")
    assert task.qrels == {"q1": {"d1": 1}}


MTEB_README = """---
configs:
- config_name: sw-corpus
  data_files:
  - split: train
    path: sw-corpus/train-*.parquet
- config_name: sw-queries
  data_files:
  - split: train
    path: sw-queries/train-*.parquet
- config_name: sw-qrels
  data_files:
  - split: train
    path: sw-qrels/train-*.parquet
---
# MKQARetrieval
"""


def write_parquet(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def test_mteb_layout_is_read_through_the_configs_its_readme_declares(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(MTEB_README)
    write_parquet(tmp_path / "sw-corpus" / "train-00000-of-00001.parquet", [{"_id": "d1", "title": "", "text": "a"}])
    write_parquet(tmp_path / "sw-queries" / "train-00000-of-00001.parquet", [{"_id": "q1", "text": "b"}])
    write_parquet(
        tmp_path / "sw-qrels" / "train-00000-of-00001.parquet", [{"query-id": "q1", "corpus-id": "d1", "score": 1}]
    )
    spec = {
        "kind": "huggingface",
        "path": str(tmp_path),
        "corpus": {"config": "{source_language}-corpus"},
        "queries": {"config": "{source_language}-queries"},
        "qrels": {"config": "{source_language}-qrels", "split": "{split}"},
    }
    task = make_source(spec, tmp_path).load("mkqa-mteb", LanguagePair.parse("sw"), "train")
    assert task.qrels == {"q1": {"d1": 1}} and task.corpus.ids == ["d1"]


def test_readme_without_the_config_names_the_ones_it_has(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(MTEB_README)
    with pytest.raises(InputError, match="no config 'de-corpus'; the card declares sw-corpus, sw-qrels, sw-queries"):
        readme_data_files(tmp_path / "README.md", "de-corpus", None)


def test_limit_small_real_files_in_the_repository_layout(shared_data: Path, tmp_path: Path) -> None:
    spec = {
        "kind": "huggingface",
        "repo": "orionweller/LIMIT-small",
        "path": str(shared_data / "limit-small"),
        "corpus": "corpus.jsonl",
        "queries": "queries.jsonl",
        "qrels": "qrels.jsonl",
    }
    identity = make_source(spec, tmp_path).load("limit-small", LanguagePair.parse("en"), "test").identity
    assert (identity.num_documents, identity.num_queries, identity.num_judgements) == (46, 1000, 2000)


def test_an_uncached_repository_offline_fails_at_once_naming_it(tmp_path: Path) -> None:
    client = HubClient("Shitao/MLDR", MLDR_REVISION, cache_dir=tmp_path)
    with pytest.raises(SourceUnavailableError, match=f"Shitao/MLDR@{MLDR_REVISION} is not in the Hugging Face cache"):
        client.resolve(HubFile(file="mldr-v1.0-hi/test.jsonl.gz"), {})


def test_a_local_copy_missing_the_file_says_which_layout_is_expected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no file matching mldr-v1.0-hi/corpus.jsonl.gz \(the repository's layout"):
        make_source({**MLDR, "path": str(tmp_path)}, tmp_path).load("mldr", LanguagePair.parse("hi"), "test")


def test_a_file_spec_names_a_file_or_a_config_not_both() -> None:
    with pytest.raises(ValueError, match="exactly one of `file`"):
        HubFile(file="a.jsonl", config="corpus")
