"""MaxP for long documents: passages of the model's max length, a document scored by its best passage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from harness.catalog.cards import load_card
from harness.core.errors import InputError
from harness.encode import DenseRepresentation, EncodeSettings
from harness.index import make_index
from harness.models.adapters import load_encoder
from harness.run.passages import PassageSplit, max_passage_search, maxp_passages, split_into_passages
from tests.tiny_colbert import write_tiny_colbert
from tests.tiny_models import write_tiny_bert
from tests.tiny_nllb import TINY_TEXTS, write_tiny_nllb, write_tiny_nllb_e5

LONG_ENGLISH = " ".join(TINY_TEXTS[:4])


def encoder_from_card(folder: Path, adapter: str, settings: EncodeSettings | None = None, **parameters: Any) -> Any:
    card = folder / "card.yaml"
    card.write_text(yaml.safe_dump({"name": "tiny", "adapter": adapter, "parameters": parameters}))
    return load_encoder(load_card(str(card)), settings)


def content_tokens(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(write_tiny_bert(tmp_path_factory.mktemp("bert")))


def test_documents_are_cut_into_consecutive_windows_of_whole_tokens(tokenizer: PreTrainedTokenizerBase) -> None:
    long = "cats are small domestic felines that purr and hunt mice"  # 10 tokens
    split = split_into_passages([long, "dogs bark"], tokenizer, passage_tokens=4)
    assert split.texts == ["cats are small domestic", "felines that purr and", "hunt mice", "dogs bark"]
    assert split.owners.tolist() == [0, 0, 0, 1]
    assert split.describe(2) == {
        "method": "maxp",
        "passage_tokens": 4,
        "num_passages": 4,
        "num_documents": 2,
        "documents_split": 1,
        "document_score": "maximum over the document's passages",
    }


def test_a_document_scores_its_best_passage() -> None:
    # Passages 0-2 belong to document 0, 3 to document 1, 4 to document 2.
    passages = np.array([[1.0, 0.0], [0.0, 1.0], [0.1, 0.1], [0.9, 0.4], [0.2, 0.2]], dtype=np.float32)
    split = PassageSplit(texts=["a"] * 5, owners=np.array([0, 0, 0, 1, 2]), passage_tokens=8)
    index = make_index("dense", {"kind": "faiss-flat"})
    index.build(DenseRepresentation(passages))
    queries = DenseRepresentation(np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
    result = max_passage_search(index, queries, k=3, split=split, num_documents=3)
    assert result.indices.tolist() == [[0, 1, 2], [0, 1, 2]]
    np.testing.assert_allclose(result.scores, [[1.0, 0.9, 0.2], [1.0, 0.4, 0.2]], rtol=1e-6)


def test_the_passage_search_deepens_until_it_has_k_documents() -> None:
    """Twenty passages of one document outrank every other document: 4k passages are not enough."""
    vectors = np.vstack([np.full((20, 1), 1.0), np.full((2, 1), 0.5)]).astype(np.float32)
    split = PassageSplit(texts=["a"] * 22, owners=np.array([0] * 20 + [1, 2]), passage_tokens=8)
    index = make_index("dense", {"kind": "faiss-flat"})
    index.build(DenseRepresentation(vectors))
    result = max_passage_search(index, DenseRepresentation(np.ones((1, 1), np.float32)), 3, split, 3)
    assert sorted(result.indices[0].tolist()) == [0, 1, 2] and result.indices[0][0] == 0


def test_fewer_documents_than_k_are_padded(tmp_path: Path) -> None:
    split = PassageSplit(texts=["a", "b"], owners=np.array([0, 0]), passage_tokens=8)
    index = make_index("dense", {"kind": "faiss-flat"})
    index.build(DenseRepresentation(np.ones((2, 1), np.float32)))
    result = max_passage_search(index, DenseRepresentation(np.ones((1, 1), np.float32)), 3, split, 1)
    assert result.indices.tolist() == [[0, -1, -1]]


@pytest.fixture(scope="module")
def colbert_xm(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("colbert-xm")
    write_tiny_colbert(folder / "model")  # doc_maxlen 12
    return encoder_from_card(folder, "colbert", path="model")


def test_colbert_xm_passages_fill_doc_maxlen_beside_the_specials_and_the_document_marker(colbert_xm: Any) -> None:
    budget = colbert_xm.document_budget("en")
    assert budget.content_tokens == 12 - 3  # <s>, </s> and the [D] marker
    split = maxp_passages(colbert_xm, ["cats purr and dogs bark " * 6, "cats purr"], "en")
    assert split.passage_tokens == 9 and split.owners.tolist()[-1] == 1 and len(split.texts) > 2
    inputs = colbert_xm.tokenize_documents(split.texts)
    assert max(len(ids) for ids, _ in inputs) == 12  # full windows use the whole input, nothing more
    whole = content_tokens(colbert_xm.tokenizer, "cats purr and dogs bark " * 6)
    assert sum(len(ids) - 3 for ids, _ in inputs[:-1]) == whole  # no token is truncated away


def test_colbert_xm_budget_follows_max_document_length(colbert_xm: Any, tmp_path: Path) -> None:
    write_tiny_colbert(tmp_path / "model")
    longer = encoder_from_card(tmp_path, "colbert", EncodeSettings(max_document_length=20), path="model")
    assert longer.document_budget("en").content_tokens == 17


def test_a_document_length_without_room_for_text_is_refused(tmp_path: Path) -> None:
    write_tiny_colbert(tmp_path / "model")
    short = encoder_from_card(tmp_path, "colbert", EncodeSettings(max_document_length=3), path="model")
    with pytest.raises(InputError, match=r"\[max_document_length\]: a document input of 3 tokens leaves no room"):
        short.document_budget("en")


@pytest.fixture(scope="module")
def nllb_e5(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("peft", reason="NLLB-E5's LoRA adapter needs peft (the test extra installs it)")
    folder = tmp_path_factory.mktemp("nllb-e5")
    write_tiny_nllb_e5(folder / "model", write_tiny_nllb(folder / "nllb"), write_tiny_bert(folder / "e5"))
    return encoder_from_card(folder, "nllb-e5", path="model", max_document_length=10)


def test_nllb_e5_passages_fill_its_nllb_input_beside_the_language_code_and_end_token(nllb_e5: Any) -> None:
    assert nllb_e5.document_budget("de").content_tokens == 10 - 2  # deu_Latn ... </s>
    split = maxp_passages(nllb_e5, [LONG_ENGLISH, "Dogs bark."], "en")
    assert split.passage_tokens == 8 and len(split.texts) > 2
    inputs = nllb_e5.model.tokenize(split.texts, ["eng_Latn"] * len(split.texts), nllb_e5.max_length("document"))
    lengths = inputs["attention_mask"].sum(dim=1).tolist()
    assert max(lengths) == 10
    whole = content_tokens(nllb_e5.model.nllb_tokenizer, LONG_ENGLISH)
    assert sum(length - 2 for length in lengths[:-1]) == whole  # no token is truncated away


def test_a_dense_budget_leaves_room_for_the_document_prefix(tmp_path: Path) -> None:
    write_tiny_bert(tmp_path / "model")
    dense = encoder_from_card(tmp_path, "dense", path="model", max_document_length=12, document_prefix="cats dogs ")
    assert dense.document_budget("en").content_tokens == 12 - 2 - 2  # [CLS], [SEP] and the two prefix words


def test_bm25_has_no_budget_and_is_not_split(tmp_path: Path) -> None:
    bm25 = load_encoder(load_card("bm25"))
    assert bm25.document_budget("en") is None and maxp_passages(bm25, [LONG_ENGLISH], "en") is None
