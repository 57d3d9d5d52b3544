"""MaxP for long documents: passages of the model's max length, a document scored by its best passage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from harness.data.passages import PassageSplit, max_passage_search, split_into_passages
from harness.encode import DenseRepresentation
from harness.index import make_index
from tests.tiny_models import write_tiny_bert


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
