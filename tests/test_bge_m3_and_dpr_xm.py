"""BGE-M3's multi-vector head (mean MaxSim) and DPR-XM (dense path with XMOD language routing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from harness.catalog.cards import load_card_file
from harness.core.errors import InputError
from harness.encode import EncodeSettings
from harness.index import make_index
from harness.models.adapters import load_encoder
from tests.tiny_colbert import write_tiny_bge_m3, write_tiny_colbert, write_tiny_dpr_xm

QUERY = "which cats purr"
DOCUMENTS = ["cats purr and hunt mice", "dogs bark and fetch sticks", "lava"]


def encoder_for(folder: Path, adapter: str, **parameters: Any) -> Any:
    card = folder.parent / f"{folder.name}.yaml"
    card.write_text(
        yaml.safe_dump({"name": "tiny", "adapter": adapter, "parameters": {"path": folder.name, **parameters}})
    )
    return load_encoder(load_card_file(card), EncodeSettings())


@pytest.fixture(scope="module")
def m3_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bge_m3(tmp_path_factory.mktemp("m3") / "bge-m3")


def flag_embedding_vectors(folder: Path, text: str) -> np.ndarray:
    """FlagEmbedding's recipe, independently: colbert_linear(h[:, 1:]) on non-padding tokens, normalised."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    head = torch.load(folder / "colbert_linear.pt", weights_only=True)
    inputs = tokenizer([text], return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**inputs).last_hidden_state[0, 1:]
    vectors = hidden @ head["weight"].T + head["bias"]
    return torch.nn.functional.normalize(vectors, dim=-1).numpy()


def test_bge_m3_token_vectors_follow_flag_embedding(m3_folder: Path) -> None:
    encoder = encoder_for(m3_folder, "bge-m3-multivector")
    np.testing.assert_allclose(
        encoder.encode_documents([DOCUMENTS[0]], "en").vectors,
        flag_embedding_vectors(m3_folder, DOCUMENTS[0]),
        atol=1e-5,
    )


def test_bge_m3_scores_are_maxsim_divided_by_query_length(m3_folder: Path) -> None:
    encoder = encoder_for(m3_folder, "bge-m3-multivector")
    index = make_index("multivector")
    index.build(encoder.encode_documents(DOCUMENTS, "en"))
    result = index.search(encoder.encode_queries([QUERY], "en"), k=3)
    query = flag_embedding_vectors(m3_folder, QUERY)
    expected = {
        i: (query @ flag_embedding_vectors(m3_folder, d).T).max(axis=1).sum() / len(query)
        for i, d in enumerate(DOCUMENTS)
    }
    for document, score in zip(result.indices[0], result.scores[0], strict=True):
        assert score == pytest.approx(expected[int(document)], abs=1e-5)


def test_bge_m3_plain_sum_when_normalisation_is_off(m3_folder: Path) -> None:
    queries = encoder_for(m3_folder, "bge-m3-multivector", normalize_by_query_length=False).encode_queries(
        [QUERY], "en"
    )
    np.testing.assert_allclose(np.linalg.norm(queries.vectors, axis=1), 1.0, atol=1e-5)


def test_bge_m3_missing_head_is_named(tmp_path: Path) -> None:
    folder = write_tiny_bge_m3(tmp_path / "m3")
    (folder / "colbert_linear.pt").unlink()
    with pytest.raises(InputError) as caught:
        encoder_for(folder, "bge-m3-multivector")
    assert caught.value.key == "parameters.head_file" and "colbert_linear.pt" in caught.value.reason


def test_bge_m3_head_that_is_not_a_linear_layer_is_refused(tmp_path: Path) -> None:
    folder = write_tiny_bge_m3(tmp_path / "m3")
    torch.save({"weight": torch.zeros(4, 3)}, folder / "colbert_linear.pt")
    with pytest.raises(InputError, match=r"expected an nn.Linear state dict .* found \{'weight': \[4, 3\]\}"):
        encoder_for(folder, "bge-m3-multivector")


@pytest.fixture(scope="module")
def dpr_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_dpr_xm(tmp_path_factory.mktemp("dpr") / "dpr-xm")


def test_dpr_xm_mean_pools_through_the_texts_language_adapter(dpr_folder: Path) -> None:
    from transformers import AutoTokenizer, XmodModel

    encoder = encoder_for(dpr_folder, "dense-xmod", pooling="mean", normalize=True)
    tokenizer = AutoTokenizer.from_pretrained(dpr_folder)
    model = XmodModel.from_pretrained(dpr_folder).eval()
    inputs = tokenizer([QUERY], return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**inputs, lang_ids=torch.tensor([2])).last_hidden_state[0]  # de_DE
    expected = torch.nn.functional.normalize(hidden.mean(dim=0), dim=0).numpy()
    np.testing.assert_allclose(encoder.encode_queries([QUERY], "de").vectors[0], expected, atol=1e-5)
    assert not np.allclose(encoder.encode_queries([QUERY], "en").vectors[0], expected, atol=1e-3)


def test_dpr_xm_refuses_a_language_without_adapter(dpr_folder: Path) -> None:
    with pytest.raises(InputError, match="no language adapter for 'ja'"):
        encoder_for(dpr_folder, "dense-xmod").encode_documents(DOCUMENTS, "ja")


def test_dense_xmod_refuses_a_checkpoint_without_adapters(tmp_path: Path) -> None:
    folder = write_tiny_colbert(tmp_path / "xlmr", backbone="xlm-roberta")
    with pytest.raises(InputError, match="needs an XMOD checkpoint"):
        encoder_for(folder, "dense-xmod")
