"""`harness cache`: list, size and prune the embedding store."""

from __future__ import annotations

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
