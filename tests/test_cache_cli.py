"""`harness cache`: list, size, prune and verify the embedding store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.catalog.cards import load_card_file
from harness.cli import app
from harness.encode import EncodeSettings
from harness.models.adapters import load_encoder
from harness.store import EmbeddingStore
from tests.tiny_models import write_tiny_bert


@pytest.fixture
def store(tmp_path: Path) -> Path:
    card = tmp_path / "tiny.yaml"
    card.write_text(
        yaml.safe_dump(
            {"name": "tiny", "adapter": "dense", "parameters": {"path": str(write_tiny_bert(tmp_path / "m"))}}
        )
    )
    encoder = load_encoder(load_card_file(card), EncodeSettings())
    store = EmbeddingStore(tmp_path / "cache" / "embeddings", shard_size=2)
    store.encode(encoder, ["cats", "dogs", "rivers"], "en", "document")
    store.encode(encoder, ["cats?"], "en", "query")
    return tmp_path / "cache"


def cache(*args: str) -> object:
    return CliRunner().invoke(app, ["cache", *args])


def test_list_shows_each_entry_with_its_shards(store: Path) -> None:
    outcome = cache("list", "--cache-dir", str(store))
    assert outcome.exit_code == 0, outcome.output
    rows = [line for line in outcome.output.splitlines() if "tiny" in line]
    assert len(rows) == 2
    assert any("document" in row and "2/2" in row for row in rows)
    assert any("query" in row and "1/1" in row for row in rows)


def tiny_card(folder: Path) -> Path:
    card = folder / "tiny.yaml"
    card.write_text(
        yaml.safe_dump({"name": "tiny", "adapter": "dense", "parameters": {"path": str(write_tiny_bert(folder / "m"))}})
    )
    return card


def test_list_shows_each_entrys_key_card_digest_dtype_and_max_lengths(tmp_path: Path) -> None:
    card = load_card_file(tiny_card(tmp_path))
    store = EmbeddingStore(tmp_path / "cache" / "embeddings", shard_size=2)
    store.encode(load_encoder(card, EncodeSettings(max_query_length=8)), ["cats", "dogs"], "en", "document")
    [entry] = (tmp_path / "cache" / "embeddings").glob("*/*/entry.json")
    model_key, texts_key = entry.parent.parent.name.rpartition("-")[2], entry.parent.name.split(".")[2]
    outcome = cache("list", "--cache-dir", str(tmp_path / "cache"))
    [row] = [line.split("│")[1:-1] for line in outcome.output.splitlines() if "tiny" in line]
    identity = json.loads(entry.read_text())["identity"]
    cells = [cell.strip() for cell in row][:6]
    assert cells == [
        "tiny",
        f"{model_key[:8]}/{texts_key[:8]}",
        card.sha256.removeprefix("sha256:")[:8],
        "float32",
        f"8/{identity['output']['max_document_length']}",
        "document",
    ]


def test_list_names_what_sets_apart_the_entries_of_a_card_stored_under_several_keys(tmp_path: Path) -> None:
    card = load_card_file(tiny_card(tmp_path))
    store = EmbeddingStore(tmp_path / "cache" / "embeddings", shard_size=2)
    for length in (8, 16):
        store.encode(load_encoder(card, EncodeSettings(max_document_length=length)), ["cats"], "en", "document")
    outcome = cache("list", "--cache-dir", str(tmp_path / "cache"))
    rows = [line for line in outcome.output.splitlines() if line.startswith("│ tiny")]
    assert len({row.split("│")[2] for row in rows}) == 2  # two keys
    assert "tiny is stored under 2 keys, which differ in output.max_document_length" in outcome.output


def test_size_totals_the_entries(store: Path) -> None:
    outcome = cache("size", "--cache-dir", str(store))
    assert outcome.exit_code == 0, outcome.output
    assert "in 2 entries" in outcome.output


def test_prune_by_model_removes_its_entries(store: Path) -> None:
    assert cache("prune", "--cache-dir", str(store), "--model", "other").exit_code == 0
    assert len(list(store.rglob("entry.json"))) == 2
    outcome = cache("prune", "--cache-dir", str(store), "--model", "tiny")
    assert outcome.exit_code == 0, outcome.output
    assert "2 entries, freed" in outcome.output
    assert not list(store.rglob("entry.json"))


def test_prune_without_a_criterion_removes_nothing_and_says_so(store: Path) -> None:
    outcome = cache("prune", "--cache-dir", str(store))
    assert outcome.exit_code == 2
    assert "say what to prune" in outcome.output
    assert len(list(store.rglob("entry.json"))) == 2


def shard(store: Path, role: str, number: int) -> Path:
    [folder] = (store / "embeddings").glob(f"*/{role}.*/shard-{number:06d}")
    return folder


def flip_a_bit(path: Path) -> None:
    content = bytearray(path.read_bytes())
    content[-1] ^= 0x01
    path.write_bytes(bytes(content))


def test_verify_says_a_clean_store_is_clean(store: Path) -> None:
    outcome = cache("verify", "--cache-dir", str(store))
    assert outcome.exit_code == 0, outcome.output
    assert "checked 2 entries, 3 shards: nothing damaged" in outcome.output


def test_verify_names_each_damaged_file_and_exits_2(store: Path) -> None:
    flip_a_bit(shard(store, "document", 1) / "vectors.npy")
    meta = shard(store, "document", 0) / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "encode_s": "fast"}))
    description = shard(store, "query", 0).parent / "entry.json"
    description.write_text("{")
    before = {path: path.read_bytes() for path in store.rglob("*") if path.is_file()}
    outcome = cache("verify", "--cache-dir", str(store))
    assert outcome.exit_code == 2, outcome.output
    assert "Traceback" not in outcome.output
    damaged = sorted(line for line in outcome.output.splitlines() if line.startswith("damaged "))
    assert damaged == sorted(
        [
            f"damaged {shard(store, 'document', 1) / 'vectors.npy'}: its bytes do not match the checksum meta.json "
            "records",
            f"damaged {meta}: encode_s is 'fast', not a number of seconds",
            f"damaged {description}: unreadable store file (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)); delete the entry to re-encode it",
        ]
    )
    [error] = [line for line in outcome.output.splitlines() if line.startswith("error:")]
    assert "3 damaged" in error
    assert {path: path.read_bytes() for path in store.rglob("*") if path.is_file()} == before  # verify changes nothing


def test_verify_checks_shards_written_before_checksums_for_rows_and_shapes(store: Path) -> None:
    import numpy as np

    for folder in (store / "embeddings").glob("*/*/shard-*"):
        meta = json.loads((folder / "meta.json").read_text())
        del meta["arrays"]
        (folder / "meta.json").write_text(json.dumps(meta))
    outcome = cache("verify", "--cache-dir", str(store))
    assert outcome.exit_code == 0, outcome.output
    assert "(3 written before checksums: rows and shapes checked)" in outcome.output
    vectors = shard(store, "document", 0) / "vectors.npy"
    np.save(vectors, np.load(vectors)[:1])
    outcome = cache("verify", "--cache-dir", str(store))
    assert outcome.exit_code == 2
    assert f"damaged {vectors}: holds 1 vectors where the shard has 2 texts" in outcome.output


def test_verify_lists_the_shards_a_run_moved_aside(store: Path) -> None:
    folder = shard(store, "document", 1)
    folder.rename(folder.with_name(".damaged-shard-000001.20250101T000000.abcdef"))
    outcome = cache("verify", "--cache-dir", str(store))
    assert outcome.exit_code == 0, outcome.output
    assert "moved aside by a run" in outcome.output and ".damaged-shard-000001." in outcome.output


def test_an_unreadable_entry_is_listed_and_named_by_a_prune_that_keeps_it(store: Path) -> None:
    entry = shard(store, "query", 0).parent
    (entry / "entry.json").unlink()
    listed = cache("list", "--cache-dir", str(store))
    assert listed.exit_code == 0, listed.output
    assert f"{entry}/entry.json is unreadable" in listed.output
    outcome = cache("prune", "--cache-dir", str(store), "--model", "tiny")
    assert outcome.exit_code == 0, outcome.output
    assert "1 entries, freed" in outcome.output
    assert f"kept {entry}: its entry.json is unreadable" in outcome.output
    assert (entry / "shard-000000").is_dir()
    outcome = cache("prune", "--cache-dir", str(store), "--all")
    assert f"removing {entry} (its entry.json is unreadable" in outcome.output
    assert not (store / "embeddings").exists() or not any((store / "embeddings").iterdir())
