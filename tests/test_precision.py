"""Precision modes: bfloat16 weights (`cast`) or float32 weights under autocast, chosen per run or by the card."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from harness.catalog.cards import load_card
from harness.catalog.suites import load_suite
from harness.cli import app
from harness.encode import EncodeSettings
from harness.models.adapters import load_encoder
from harness.run.keys import run_key
from tests.tiny_sparse_models import write_tiny_bert_mlm

TEXTS = ["cats and dogs", "the united states of america"]


@pytest.fixture(scope="module")
def splade_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bert_mlm(tmp_path_factory.mktemp("splade") / "splade")


def splade(tmp_path: Path, folder: Path, card_precision: str | None = None, **settings: object):
    card = {"name": "tiny-splade", "adapter": "splade", "parameters": {"path": str(folder)}}
    if card_precision:
        card["precision"] = card_precision
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(card))
    return load_encoder(load_card(str(path)), EncodeSettings(device="cpu", **settings))


def test_cast_converts_the_weights_and_autocast_keeps_them_float32(splade_folder: Path, tmp_path: Path) -> None:
    cast = splade(tmp_path, splade_folder, dtype="bfloat16", precision="cast")
    autocast = splade(tmp_path, splade_folder, dtype="bfloat16", precision="autocast")
    assert {p.dtype for p in cast.model.parameters()} == {cast._torch.bfloat16}
    assert {p.dtype for p in autocast.model.parameters()} == {autocast._torch.float32}
    assert cast.describe()["dtype"] == autocast.describe()["dtype"] == "bfloat16"
    assert (cast.describe()["precision"], autocast.describe()["precision"]) == ("cast", "autocast")


def test_the_two_modes_give_different_vectors_both_near_float32(splade_folder: Path, tmp_path: Path) -> None:
    full = splade(tmp_path, splade_folder).encode_documents(TEXTS, "en").matrix.toarray()
    cast = splade(tmp_path, splade_folder, dtype="bfloat16", precision="cast").encode_documents(TEXTS, "en")
    auto = splade(tmp_path, splade_folder, dtype="bfloat16", precision="autocast").encode_documents(TEXTS, "en")
    cast_vectors, auto_vectors = cast.matrix.toarray(), auto.matrix.toarray()
    assert not np.array_equal(cast_vectors, auto_vectors)
    assert not np.array_equal(auto_vectors, full)  # autocast really ran the matmuls in bfloat16
    scale = np.abs(full).max()
    assert np.abs(auto_vectors - full).max() < 0.1 * scale and np.abs(cast_vectors - full).max() < 0.1 * scale


def test_the_card_names_the_default_mode_and_the_run_overrides_it(splade_folder: Path, tmp_path: Path) -> None:
    default = splade(tmp_path, splade_folder, card_precision="autocast", dtype="bfloat16")
    overridden = splade(tmp_path, splade_folder, card_precision="autocast", dtype="bfloat16", precision="cast")
    assert default.describe()["precision"] == "autocast" and overridden.describe()["precision"] == "cast"


def test_float16_on_cpu_runs_as_float32_and_says_so(splade_folder: Path, tmp_path: Path) -> None:
    encoder = splade(tmp_path, splade_folder, dtype="float16", precision="autocast")
    assert (encoder.describe()["dtype"], encoder.describe()["precision"]) == ("float32", "cast")


def test_the_precision_mode_is_part_of_the_run_key() -> None:
    unit = load_suite("demo").units(["en"])[0]
    card = load_card("all-minilm-l6-v2")
    keys = {
        mode: run_key(unit, card, "dense", k=100, encode=EncodeSettings(dtype="bfloat16", precision=mode))
        for mode in (None, "cast", "autocast")
    }
    assert len({key.id for key in keys.values()}) == 3
    assert keys["autocast"].fields["encode"]["precision"] == "autocast"


def test_dtype_help_says_where_each_half_precision_applies() -> None:
    text = " ".join(CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "300"}).output.split())
    assert "float16 applies on GPU only" in text and "bfloat16 applies on CPU and GPU" in text
    assert "--precision" in text and "autocast" in text
