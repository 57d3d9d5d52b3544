"""colbert-ai checkpoints (ColBERT-XM on XMOD, XLM-R, BERT) load from their published layout, encode as colbert-ai."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from harness.catalog.cards import load_card_file
from harness.core.errors import InputError
from harness.encode import EncodeSettings
from harness.models.adapters import load_encoder
from tests.tiny_colbert import COLBERT_METADATA, write_tiny_colbert

TEXT = "cats purr and dogs bark"


def encoder_for(folder: Path, batch_size: int = 32, **parameters: Any) -> Any:
    card = folder.parent / f"{folder.name}.yaml"
    card.write_text(
        yaml.safe_dump({"name": "tiny", "adapter": "colbert", "parameters": {"path": folder.name, **parameters}})
    )
    return load_encoder(load_card_file(card), EncodeSettings(batch_size=batch_size))


@pytest.fixture(scope="module")
def xm_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_colbert(tmp_path_factory.mktemp("xm") / "colbert-xm")


@pytest.fixture(scope="module")
def xm(xm_folder: Path) -> Any:
    return encoder_for(xm_folder)


def reference_vectors(folder: Path, ids: list[int], attention: list[int], language_index: int) -> np.ndarray:
    """Independent forward: transformers' XmodModel, the raw `linear.weight`, L2 normalisation."""
    from safetensors.torch import load_file
    from transformers import XmodModel

    model = XmodModel.from_pretrained(folder, add_pooling_layer=False).eval()
    linear = load_file(str(folder / "model.safetensors"))["linear.weight"]
    with torch.inference_mode():
        hidden = model(
            input_ids=torch.tensor([ids]),
            attention_mask=torch.tensor([attention]),
            lang_ids=torch.tensor([language_index]),
        ).last_hidden_state[0]
    return torch.nn.functional.normalize(hidden @ linear.T, dim=-1).numpy()


def test_loads_settings_from_artifact_metadata(xm: Any, xm_folder: Path) -> None:
    details = xm.describe()
    assert details["layout"] == "colbert-ai" and details["architecture"] == "XmodModel"
    assert details["base_model_prefix"] == "roberta"
    assert details["metadata_file"] == str(xm_folder / "artifact.metadata")
    assert (details["query_length"], details["document_length"], details["dim"]) == (8, 12, 8)


def test_query_marker_follows_the_first_token_and_pads_become_mask(xm: Any) -> None:
    [(ids, attention)] = xm.tokenize_queries(["cats purr"])
    tokenizer = xm.tokenizer
    cats, purr = tokenizer.convert_tokens_to_ids(["▁cats", "▁purr"])
    marker = xm.query_marker["id"]
    mask = tokenizer.mask_token_id
    assert ids == [tokenizer.cls_token_id, marker, cats, purr, tokenizer.sep_token_id, mask, mask, mask]
    assert attention == [1, 1, 1, 1, 1, 0, 0, 0]


def test_every_query_keeps_query_maxlen_vectors(xm: Any) -> None:
    queries = xm.encode_queries(["cats", TEXT + " and lava and ash from the earth"], "en")
    assert queries.lengths().tolist() == [8, 8]
    np.testing.assert_allclose(np.linalg.norm(queries.vectors, axis=1), 1.0, atol=1e-5)


def test_attend_to_mask_tokens_opens_attention_to_the_augmentation(tmp_path: Path) -> None:
    folder = write_tiny_colbert(tmp_path / "attend", metadata={**COLBERT_METADATA, "attend_to_mask_tokens": True})
    [(_, attention)] = encoder_for(folder).tokenize_queries(["cats purr"])
    assert attention == [1] * 8


def test_document_marker_and_length_limit(xm: Any) -> None:
    [(ids, attention)] = xm.tokenize_documents([" ".join(["lava"] * 40)])
    assert len(ids) == 12 and ids[1] == xm.document_marker["id"] and ids[-1] == xm.tokenizer.sep_token_id
    assert attention == [1] * 12


def test_document_vectors_are_the_projected_normalised_hidden_states(xm: Any, xm_folder: Path) -> None:
    [(ids, attention)] = xm.tokenize_documents([TEXT])
    expected = reference_vectors(xm_folder, ids, attention, language_index=0)  # en_XX
    np.testing.assert_allclose(xm.encode_documents([TEXT], "en").vectors, expected, atol=1e-5)


def test_languages_route_to_their_own_adapter(xm: Any, xm_folder: Path) -> None:
    english = xm.encode_documents([TEXT], "en").vectors
    french = xm.encode_documents([TEXT], "fr").vectors
    assert not np.allclose(english, french, atol=1e-3)
    [(ids, attention)] = xm.tokenize_documents([TEXT])
    np.testing.assert_allclose(french, reference_vectors(xm_folder, ids, attention, language_index=1), atol=1e-5)
    assert xm.describe()["language_routing"]["routed"]["fr"] == {"adapter": "fr_XX", "by": "iso prefix"}


def test_three_letter_codes_route_like_two_letter_ones(xm: Any) -> None:
    np.testing.assert_allclose(
        xm.encode_queries([TEXT], "deu").vectors, xm.encode_queries([TEXT], "de").vectors, atol=1e-6
    )


def test_a_language_without_adapter_is_refused(xm: Any) -> None:
    with pytest.raises(InputError) as caught:
        xm.encode_documents([TEXT], "sw")
    assert "no language adapter for 'sw'" in caught.value.reason
    assert "en_XX, fr_XX, de_DE" in caught.value.reason
    assert caught.value.key == "parameters.fallback_language"


def test_fallback_language_encodes_unknown_languages_with_its_adapter(xm_folder: Path) -> None:
    encoder = encoder_for(xm_folder, fallback_language="en")
    np.testing.assert_allclose(
        encoder.encode_documents([TEXT], "sw").vectors, encoder.encode_documents([TEXT], "en").vectors, atol=1e-6
    )
    assert encoder.describe()["language_routing"]["routed"]["sw"] == {"adapter": "en_XX", "by": "fallback"}


def test_ambiguous_language_needs_a_mapping_in_the_card(tmp_path: Path) -> None:
    folder = write_tiny_colbert(tmp_path / "zh", languages=("en_XX", "zh_CN", "zh_TW"))
    with pytest.raises(InputError, match="matches several adapters"):
        encoder_for(folder).encode_queries([TEXT], "zh")
    mapped = encoder_for(folder, language_codes={"zh": "zh_TW"})
    mapped.encode_queries([TEXT], "zh")
    assert mapped.describe()["language_routing"]["routed"]["zh"] == {"adapter": "zh_TW", "by": "card"}


def test_card_mapping_to_a_missing_adapter_is_refused_at_load(xm_folder: Path) -> None:
    with pytest.raises(InputError) as caught:
        encoder_for(xm_folder, language_codes={"zh": "zh_CN"})
    assert caught.value.key == "parameters.language_codes.zh"
    assert "no adapter 'zh_CN'" in caught.value.reason


def test_routing_parameters_need_an_xmod_backbone(tmp_path: Path) -> None:
    folder = write_tiny_colbert(tmp_path / "xlmr", backbone="xlm-roberta")
    with pytest.raises(InputError, match="needs an XMOD backbone"):
        encoder_for(folder, fallback_language="en")


def test_xlm_r_lacks_the_unused_markers_so_they_are_the_unknown_token(tmp_path: Path) -> None:
    encoder = encoder_for(write_tiny_colbert(tmp_path / "xlmr", backbone="xlm-roberta"))
    assert encoder.query_marker == {
        "token": "[unused0]",
        "id": encoder.tokenizer.unk_token_id,
        "is_unknown_token": True,
    }
    assert encoder.describe()["language_routing"] is None


def test_bert_markers_are_its_unused_tokens(tmp_path: Path) -> None:
    encoder = encoder_for(write_tiny_colbert(tmp_path / "bert", backbone="bert"))
    tokenizer = encoder.tokenizer
    assert encoder.query_marker["id"] == tokenizer.convert_tokens_to_ids("[unused0]") != tokenizer.unk_token_id
    assert encoder.document_marker["id"] == tokenizer.convert_tokens_to_ids("[unused1]")
    assert encoder.describe()["base_model_prefix"] == "bert"


def test_punctuation_vectors_are_dropped_from_documents(tmp_path: Path) -> None:
    folder = write_tiny_colbert(tmp_path / "bert", backbone="bert")
    text = "cats purr . dogs , bark ?"
    skipping = encoder_for(folder)
    [(ids, _)] = skipping.tokenize_documents([text])
    punctuation = skipping.tokenizer.convert_tokens_to_ids([".", ",", "?"])
    assert set(punctuation) <= set(skipping.skiplist)
    assert skipping.encode_documents([text], "en").lengths().tolist() == [len(ids) - 3]
    keeping = encoder_for(
        write_tiny_colbert(
            tmp_path / "keep",
            backbone="bert",
            metadata={
                **COLBERT_METADATA,
                "mask_punctuation": False,
            },
        )
    )
    assert keeping.encode_documents([text], "en").lengths().tolist() == [len(ids)]


def test_skip_list_is_each_symbols_first_token_as_colbert_ai_builds_it(xm: Any) -> None:
    # This sentencepiece vocabulary splits "." into ["▁", "."]: the first piece is what gets skipped.
    assert xm.skiplist == [xm.tokenizer.convert_tokens_to_ids("▁")]


def test_batching_does_not_change_vectors(xm_folder: Path) -> None:
    texts = ["cats", TEXT, "lava and ash", "bread is baked in an oven"]
    one = encoder_for(xm_folder, batch_size=1).encode_documents(texts, "en")
    three = encoder_for(xm_folder, batch_size=3).encode_documents(texts, "en")
    np.testing.assert_array_equal(one.offsets, three.offsets)
    np.testing.assert_allclose(one.vectors, three.vectors, atol=1e-5)


def test_pytorch_bin_checkpoints_load_like_safetensors(tmp_path: Path) -> None:
    bin_folder = write_tiny_colbert(tmp_path / "bin", weights_format="bin")
    safetensors_folder = write_tiny_colbert(tmp_path / "st")
    np.testing.assert_allclose(
        encoder_for(bin_folder).encode_queries([TEXT], "en").vectors,
        encoder_for(safetensors_folder).encode_queries([TEXT], "en").vectors,
        atol=1e-6,
    )


def test_missing_metadata_means_colbert_ai_defaults(tmp_path: Path) -> None:
    encoder = encoder_for(write_tiny_colbert(tmp_path / "bare", metadata={}))
    assert (encoder.query_length, encoder.document_length, encoder.describe()["metadata_file"]) == (32, 220, None)


def test_card_and_settings_lengths_override_the_metadata(xm_folder: Path) -> None:
    assert encoder_for(xm_folder, max_query_length=16).query_length == 16
    card = xm_folder.parent / f"{xm_folder.name}.yaml"
    overridden = load_encoder(load_card_file(card), EncodeSettings(max_query_length=5))
    assert overridden.query_length == 5


def test_l2_similarity_checkpoints_are_refused(tmp_path: Path) -> None:
    folder = write_tiny_colbert(tmp_path / "l2", metadata={**COLBERT_METADATA, "similarity": "l2"})
    with pytest.raises(InputError) as caught:
        encoder_for(folder)
    assert caught.value.key == "similarity" and caught.value.path == folder / "artifact.metadata"


def test_a_missing_projection_is_named(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    folder = write_tiny_colbert(tmp_path / "nolinear")
    state = load_file(str(folder / "model.safetensors"))
    del state["linear.weight"]
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(InputError, match=r"no tensor 'linear\.weight'"):
        encoder_for(folder)


def test_a_projection_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    folder = write_tiny_colbert(tmp_path / "shape", linear_shape=(8, 12))
    with pytest.raises(InputError, match=r"linear.weight has shape \[8, 12\], expected \[8, 16\]"):
        encoder_for(folder)


def test_backbone_under_another_prefix_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    folder = write_tiny_colbert(tmp_path / "prefix")
    state = load_file(str(folder / "model.safetensors"))
    renamed = {key.replace("roberta.", "encoder_model.", 1): value for key, value in state.items()}
    save_file(renamed, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(InputError, match=r"do not match a XmodModel under the prefix 'roberta\.'"):
        encoder_for(folder)


def test_malformed_metadata_names_the_file_and_line(tmp_path: Path) -> None:
    folder = write_tiny_colbert(tmp_path / "broken")
    (folder / "artifact.metadata").write_text('{\n  "query_maxlen": 32,\n  oops\n}')
    with pytest.raises(InputError) as caught:
        encoder_for(folder)
    assert caught.value.path == folder / "artifact.metadata" and caught.value.line == 3


def test_nested_config_metadata_is_read(tmp_path: Path) -> None:
    folder = write_tiny_colbert(tmp_path / "nested")
    (folder / "artifact.metadata").write_text(json.dumps({"config": {**COLBERT_METADATA, "query_maxlen": 6}}))
    assert encoder_for(folder).query_length == 6
