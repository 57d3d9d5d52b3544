"""The dense adapter pools, normalises and prefixes exactly as its card says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from harness.catalog.cards import load_card_file
from harness.core.errors import InputError
from harness.encode import EncodeSettings
from harness.models.adapters import load_encoder
from tests.tiny_models import write_tiny_bert

TEXTS = ["cats purr", "dogs bark and fetch sticks at night", "lava", "bread is baked in an oven with flour"]


def write_card(folder: Path, **parameters: object) -> Path:
    card = {"name": "tiny", "adapter": "dense", "parameters": {"path": "model", **parameters}}
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(card))
    return path


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    write_tiny_bert(tmp_path / "model")
    return tmp_path


def reference_hidden(folder: Path, text: str) -> tuple[torch.Tensor, torch.Tensor]:
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder / "model")
    model = AutoModel.from_pretrained(folder / "model").eval()
    inputs = tokenizer([text], return_tensors="pt")
    with torch.inference_mode():
        return model(**inputs).last_hidden_state[0], inputs["input_ids"][0]


def encode(folder: Path, batch_size: int = 32, **parameters: object) -> np.ndarray:
    encoder = load_encoder(load_card_file(write_card(folder, **parameters)), EncodeSettings(batch_size=batch_size))
    return encoder.encode_documents(TEXTS, "en").vectors


def test_mean_pooling_normalised_matches_a_hand_computation(tiny_folder: Path) -> None:
    hidden, _ = reference_hidden(tiny_folder, TEXTS[1])
    expected = torch.nn.functional.normalize(hidden.mean(dim=0), dim=0).numpy()
    np.testing.assert_allclose(encode(tiny_folder)[1], expected, atol=1e-5)


def test_cls_pooling_without_normalisation_is_the_first_hidden_state(tiny_folder: Path) -> None:
    hidden, _ = reference_hidden(tiny_folder, TEXTS[0])
    np.testing.assert_allclose(encode(tiny_folder, pooling="cls", normalize=False)[0], hidden[0].numpy(), atol=1e-5)


def test_batching_by_length_does_not_change_vectors(tiny_folder: Path) -> None:
    np.testing.assert_allclose(encode(tiny_folder, batch_size=1), encode(tiny_folder, batch_size=3), atol=1e-5)


def test_query_prefix_is_prepended_to_queries_only(tiny_folder: Path) -> None:
    card = load_card_file(write_card(tiny_folder, query_prefix="query: "))
    encoder = load_encoder(card, EncodeSettings())
    prefixed_query = encoder.encode_queries(["cats purr"], "en").vectors[0]
    as_document = encoder.encode_documents(["query: cats purr"], "en").vectors[0]
    plain_document = encoder.encode_documents(["cats purr"], "en").vectors[0]
    np.testing.assert_allclose(prefixed_query, as_document, atol=1e-6)
    assert not np.allclose(prefixed_query, plain_document, atol=1e-3)


def test_last_token_pooling_pools_the_appended_token_with_left_padding(tiny_folder: Path) -> None:
    vectors = encode(
        tiny_folder, pooling="last", normalize=False, padding_side="left", append_token="[SEP]", max_document_length=4
    )
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_folder / "model")
    model = AutoModel.from_pretrained(tiny_folder / "model").eval()
    # Truncated to 3 tokens, then the appended [SEP] is the 4th and the pooled one.
    ids = tokenizer(TEXTS[1], truncation=True, max_length=3)["input_ids"] + [tokenizer.sep_token_id]
    with torch.inference_mode():
        hidden = model(input_ids=torch.tensor([ids])).last_hidden_state[0]
    np.testing.assert_allclose(vectors[1], hidden[-1].numpy(), atol=1e-5)


def test_max_length_truncates(tiny_folder: Path) -> None:
    short = encode(tiny_folder, max_document_length=3)
    full = encode(tiny_folder)
    assert not np.allclose(short[1], full[1], atol=1e-3)
    np.testing.assert_allclose(short[2], full[2], atol=1e-6)  # "lava" fits in 3 tokens


def test_missing_model_folder_names_the_card_and_key(tmp_path: Path) -> None:
    card = load_card_file(write_card(tmp_path))
    with pytest.raises(InputError) as caught:
        load_encoder(card, EncodeSettings())
    assert caught.value.key == "parameters.path" and caught.value.path == card.path
    assert "model folder not found" in str(caught.value)


def test_unknown_card_parameter_names_the_key(tiny_folder: Path) -> None:
    card = load_card_file(write_card(tiny_folder, poolin="mean"))
    with pytest.raises(InputError) as caught:
        load_encoder(card, EncodeSettings())
    assert caught.value.key == "parameters.poolin"


def test_hub_id_not_cached_fails_fast_offline(tmp_path: Path) -> None:
    from harness.core.errors import SourceUnavailableError

    path = tmp_path / "hub.yaml"
    path.write_text(
        yaml.safe_dump(
            {"name": "hub", "adapter": "dense", "parameters": {"hub_id": "example-org/not-cached", "revision": "abc"}}
        )
    )
    with pytest.raises(SourceUnavailableError, match="not in the local Hugging Face cache"):
        load_encoder(load_card_file(path), EncodeSettings())


def test_the_recorded_architecture_is_the_one_config_json_declares(tiny_folder: Path) -> None:
    encoder = load_encoder(load_card_file(write_card(tiny_folder)), EncodeSettings())
    assert encoder.describe()["architecture"] == "BertModel" == type(encoder.model).__name__


def test_an_unreadable_config_json_names_the_file(tiny_folder: Path) -> None:
    (tiny_folder / "model" / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"model/config.json: unreadable config.json"):
        load_encoder(load_card_file(write_card(tiny_folder)), EncodeSettings())
