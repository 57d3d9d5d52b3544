"""Exact indexes return exactly the brute-force top-k, padded when the corpus is short."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from harness.core.errors import InputError
from harness.encode import DenseRepresentation, SparseRepresentation, Vocabulary
from harness.index import make_index, top_k_rows


def brute_force(scores: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def test_top_k_rows_sorted_best_first_and_padded() -> None:
    scores = np.array([[0.1, 0.9, 0.5], [3.0, 1.0, 2.0]], dtype=np.float32)
    indices, top = top_k_rows(scores, 5)
    assert indices.tolist() == [[1, 2, 0, -1, -1], [0, 2, 1, -1, -1]]
    assert top[0, :3].tolist() == pytest.approx([0.9, 0.5, 0.1])
    assert np.isneginf(top[:, 3:]).all()


def test_faiss_flat_matches_brute_force_inner_product() -> None:
    rng = np.random.default_rng(0)
    documents = rng.normal(size=(200, 16)).astype(np.float32)
    queries = rng.normal(size=(7, 16)).astype(np.float32)
    index = make_index("dense")
    index.build(DenseRepresentation(documents))
    result = index.search(DenseRepresentation(queries), k=10)
    expected = brute_force(queries @ documents.T, 10)
    assert result.indices.tolist() == expected.tolist()
    np.testing.assert_allclose(result.scores, np.take_along_axis(queries @ documents.T, expected, 1), rtol=1e-5)
    assert index.size_bytes() == documents.nbytes


def test_sparse_exact_matches_dense_dot_product_in_small_blocks() -> None:
    documents = sp.random(300, 50, density=0.1, format="csr", random_state=1, dtype=np.float32)
    queries = sp.random(9, 50, density=0.2, format="csr", random_state=2, dtype=np.float32)
    vocabulary = Vocabulary("v", [f"t{i}" for i in range(50)])
    index = make_index("sparse", {"score_block_bytes": 4 * 300 * 2})  # two queries per block
    index.build(SparseRepresentation(documents, vocabulary))
    result = index.search(SparseRepresentation(queries, vocabulary), k=20)
    dense_scores = (queries @ documents.T).toarray()
    # Compare scores (ties among zero-score documents may order differently).
    expected = np.take_along_axis(dense_scores, brute_force(dense_scores, 20), 1)
    np.testing.assert_allclose(result.scores, expected, rtol=1e-5)


def test_sparse_search_refuses_a_different_vocabulary() -> None:
    documents = sp.identity(4, format="csr", dtype=np.float32)
    index = make_index("sparse")
    index.build(SparseRepresentation(documents, Vocabulary("a", list("wxyz"))))
    with pytest.raises(ValueError, match="does not match"):
        index.search(SparseRepresentation(documents, Vocabulary("b", list("wxyz"))), k=2)


def test_unknown_index_kind_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="unknown index kind 'hnsw'"):
        make_index("dense", {"kind": "hnsw"})


def test_index_for_another_family_is_refused() -> None:
    with pytest.raises(InputError, match="for sparse representations, not dense"):
        make_index("dense", {"kind": "sparse-exact"})
