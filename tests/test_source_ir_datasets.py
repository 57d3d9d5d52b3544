"""The `ir-datasets` source on files written in ir_datasets' own cache layout, with no network.

ir_datasets fixes its home (`IR_DATASETS_HOME`) when first imported, so each load runs in a fresh
interpreter with the home pointed at a temporary folder.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED_DATA

LOADER = """
import json, sys
from pathlib import Path
from harness.data import LanguagePair
from harness.data.sources import make_source
from harness.core.errors import HarnessError

out = {}
for name, spec, language, split in json.loads(sys.argv[1]):
    source = make_source(spec, Path("."))
    pair = LanguagePair.parse(language)
    try:
        task = source.load(name, pair, split)
    except HarnessError as error:
        out[name] = {"error": type(error).__name__, "message": str(error)}
        continue
    out[name] = {
        "identity": task.identity.to_dict(),
        "first_query": [task.queries.ids[0], task.queries.texts[0]],
        "document": [task.corpus.ids[0], task.corpus.titles[0], task.corpus.texts[0]],
        "cached": source.cache_status(name, pair, split),
    }
print(json.dumps(out))
"""


def load_in_home(home: Path, requests: list[tuple[str, dict, str, str]]) -> dict:
    env = {**os.environ, "IR_DATASETS_HOME": str(home), "PYTHONPATH": str(REPO)}
    completed = subprocess.run(
        [sys.executable, "-c", LOADER, json.dumps(requests)], env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def judged_documents(qrels: Path) -> list[str]:
    return sorted({line.split()[2] for line in qrels.read_text().splitlines() if line.strip()})


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    shared = SHARED_DATA
    if not shared.is_dir():
        pytest.skip("../shared/data is absent (real public data lives beside the repo, not in it)")
    home = tmp_path_factory.mktemp("ir_datasets_home")
    topics_qrels = shared / "topics-qrels"

    # miracl/sw/dev: the real Anserini topics and qrels where ir_datasets caches them, and a corpus
    # shard holding (placeholder texts for) every judged passage.
    miracl = home / "miracl" / "v1.0" / "sw"
    (miracl / "dev").mkdir(parents=True)
    (miracl / "docs").mkdir()
    shutil.copy(topics_qrels / "topics.miracl-v1.0-sw-dev.tsv", miracl / "dev" / "topics.tsv")
    shutil.copy(topics_qrels / "qrels.miracl-v1.0-sw-dev.tsv", miracl / "dev" / "qrels.tsv")
    with gzip.open(miracl / "docs" / "docs-0.jsonl.gz", "wt", encoding="utf-8") as shard:
        for doc_id in judged_documents(topics_qrels / "qrels.miracl-v1.0-sw-dev.tsv"):
            shard.write(json.dumps({"docid": doc_id, "title": "Kichwa", "text": f"Kifungu {doc_id}"}) + "\n")

    # beir/scifact/test: BEIR's own zip (scifact/corpus.jsonl, queries.jsonl, qrels/test.tsv) as source.zip.
    scifact = shared / "beir-scifact"
    (home / "beir" / "scifact").mkdir(parents=True)
    with zipfile.ZipFile(home / "beir" / "scifact" / "source.zip", "w") as archive:
        archive.write(scifact / "corpus.jsonl", "scifact/corpus.jsonl")
        archive.write(scifact / "queries.jsonl", "scifact/queries.jsonl")
        archive.write(scifact / "qrels" / "test.tsv", "scifact/qrels/test.tsv")

    # msmarco-passage/dev/small: the real dev-subset topics and qrels where ir_datasets caches the files
    # it extracts from collectionandqueries.tar.gz, and a collection of every judged passage.
    msmarco = home / "msmarco-passage"
    (msmarco / "dev" / "small").mkdir(parents=True)
    (msmarco / "irds_version.txt").write_text("v2")
    shutil.copy(topics_qrels / "topics.msmarco-passage.dev-subset.txt", msmarco / "dev" / "small" / "queries.tsv")
    shutil.copy(topics_qrels / "qrels.msmarco-passage.dev-subset.txt", msmarco / "dev" / "small" / "qrels")
    passages = judged_documents(topics_qrels / "qrels.msmarco-passage.dev-subset.txt")
    (msmarco / "collection.tsv").write_text("".join(f"{pid}\tpassage {pid}\n" for pid in passages))

    return load_in_home(
        home,
        [
            ("miracl", {"kind": "ir-datasets", "id": "miracl/{language}/{split}", "version": "v1.0"}, "sw", "dev"),
            ("scifact", {"kind": "ir-datasets", "id": "beir/scifact/{split}"}, "en", "test"),
            (
                "mmarco",
                {
                    "kind": "ir-datasets",
                    "id": "mmarco/v2/{source_language}/dev/small",
                    "ids": {"en": "msmarco-passage/dev/small"},
                },
                "en",
                "dev",
            ),
        ],
    )


def test_miracl_swahili_dev_loads_from_the_ir_datasets_cache(loaded: dict) -> None:
    identity = loaded["miracl"]["identity"]
    assert (identity["num_queries"], identity["num_judgements"], identity["num_documents"]) == (482, 5092, 3514)
    assert identity["source"] == "ir_datasets" and identity["location"] == "miracl/sw/dev"
    assert identity["version"] == "v1.0" and identity["revision"].startswith("ir_datasets ")
    assert identity["checksum"].startswith("sha256:")
    assert loaded["miracl"]["first_query"] == ["6", "Bandari kubwa nchini Kenya iko wapi?"]


def test_beir_scifact_reads_beirs_zip_with_titles_apart(loaded: dict) -> None:
    identity = loaded["scifact"]["identity"]
    assert (identity["num_documents"], identity["num_queries"], identity["num_judgements"]) == (5183, 300, 339)
    doc_id, title, text = loaded["scifact"]["document"]
    assert doc_id == "4983" and title.startswith("Microstructural development") and not text.startswith(title)


def test_msmarco_dev_small_has_its_6980_queries(loaded: dict) -> None:
    identity = loaded["mmarco"]["identity"]
    assert identity["location"] == "msmarco-passage/dev/small"
    assert identity["num_queries"] == 6980 and identity["num_judgements"] == 7437


def test_cache_status_sees_the_cached_collections(loaded: dict) -> None:
    assert loaded["miracl"]["cached"] is True and loaded["scifact"]["cached"] is True


def test_missing_data_without_network_fails_with_advice(tmp_path: Path) -> None:
    result = load_in_home(tmp_path, [("miracl", {"kind": "ir-datasets", "id": "miracl/sw/dev"}, "sw", "dev")])
    assert result["miracl"]["error"] == "SourceUnavailableError"
    assert "ir_datasets cannot download 'miracl/sw/dev'" in result["miracl"]["message"]
    assert str(tmp_path) in result["miracl"]["message"]


def test_unknown_dataset_id_is_an_input_error(tmp_path: Path) -> None:
    result = load_in_home(tmp_path, [("x", {"kind": "ir-datasets", "id": "miracl/xx/dev"}, "sw", "dev")])
    assert result["x"] == {"error": "InputError", "message": "[source.id]: ir_datasets has no dataset 'miracl/xx/dev'"}
