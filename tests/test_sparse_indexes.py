"""Exact sparse search at MILCO's vocabulary size, and Seismic agreeing with it on a small collection."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from harness.encode import SparseRepresentation, Vocabulary
from harness.index import make_index

MILCO_COLUMNS = 280_524
VOCABULARY = Vocabulary("milco-like", [f"t{i}" for i in range(MILCO_COLUMNS)])


def collection(n_docs: int, n_queries: int, seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Documents over a few hundred columns spread across the whole id range, some above 65,535."""
    rng = np.random.default_rng(seed)
    columns = np.unique(np.r_[rng.integers(0, 30_522, 150), rng.integers(65_536, MILCO_COLUMNS, 150)])

    def rows(n: int, per_row: int) -> sp.csr_matrix:
        picked = [np.sort(rng.choice(columns, per_row, replace=False)) for _ in range(n)]
        indptr = np.arange(n + 1) * per_row
        # Half-precision values: Seismic stores weights in 16 bits, so its scores are then exact.
        data = (rng.exponential(size=n * per_row) + 0.01).astype(np.float16).astype(np.float32)
        return sp.csr_matrix((data, np.concatenate(picked), indptr), shape=(n, MILCO_COLUMNS))

    return rows(n_docs, 30), rows(n_queries, 8)


def reference_top(documents: sp.csr_matrix, queries: sp.csr_matrix, k: int) -> list[list[int]]:
    scores = (queries @ documents.T).toarray()
    ranked = []
    for row in scores:
        order = np.lexsort((np.arange(len(row)), -row))
        ranked.append([int(d) for d in order[:k] if row[d] > 0])
    return ranked


def test_exact_search_matches_brute_force_over_280k_columns() -> None:
    documents, queries = collection(400, 25)
    index = make_index("sparse")
    index.build(SparseRepresentation(documents, VOCABULARY))
    result = index.search(SparseRepresentation(queries, VOCABULARY), k=10)
    assert result.indices.tolist() == reference_top(documents, queries, 10)
    dense = (queries @ documents.T).toarray()
    np.testing.assert_allclose(result.scores, np.take_along_axis(dense, result.indices, 1), rtol=1e-5)


def test_a_term_beyond_16_bits_is_matched() -> None:
    documents = sp.csr_matrix(([1.0, 2.0], ([0, 1], [70_000, MILCO_COLUMNS - 1])), shape=(2, MILCO_COLUMNS))
    query = sp.csr_matrix(([3.0], ([0], [MILCO_COLUMNS - 1])), shape=(1, MILCO_COLUMNS))
    for kind in ("sparse-exact", "seismic"):
        index = make_index("sparse", {"kind": kind})
        index.build(SparseRepresentation(documents.astype(np.float32), VOCABULARY))
        result = index.search(SparseRepresentation(query.astype(np.float32), VOCABULARY), k=2)
        assert result.indices.tolist() == [[1, -1]], kind
        assert result.scores[0, 0] == pytest.approx(6.0, rel=1e-3)


def test_documents_without_a_shared_term_are_not_ranked() -> None:
    documents = sp.csr_matrix(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.0, 1.0]], dtype=np.float32))
    vocabulary = Vocabulary("v", ["a", "b", "c"])
    index = make_index("sparse")
    index.build(SparseRepresentation(documents, vocabulary))
    query = sp.csr_matrix(np.array([[1.0, 0.0, 0.0]], dtype=np.float32))
    result = index.search(SparseRepresentation(query, vocabulary), k=3)
    assert result.indices.tolist() == [[0, 2, -1]]
    assert np.isneginf(result.scores[0, 2])


def test_exact_ties_are_ranked_by_document_number_even_at_the_cut() -> None:
    documents = sp.csr_matrix(np.ones((6, 1), dtype=np.float32))
    vocabulary = Vocabulary("v", ["a"])
    index = make_index("sparse")
    index.build(SparseRepresentation(documents, vocabulary))
    result = index.search(SparseRepresentation(sp.csr_matrix(np.ones((1, 1), dtype=np.float32)), vocabulary), k=3)
    assert result.indices.tolist() == [[0, 1, 2]]


def test_seismic_returns_the_exact_top_documents_on_a_small_collection() -> None:
    documents, queries = collection(600, 30, seed=1)
    # Parameters that make Seismic exhaustive: every posting kept, every query term visited, no block skipped.
    spec = {"kind": "seismic", "n_postings": 100_000, "query_cut": 1000, "heap_factor": 1.0, "summary_energy": 1.0}
    seismic = make_index("sparse", spec)
    seismic.build(SparseRepresentation(documents, VOCABULARY))
    found = seismic.search(SparseRepresentation(queries, VOCABULARY), k=10)
    assert found.indices.tolist() == reference_top(documents, queries, 10)
    assert seismic.size_bytes() > 0
    described = seismic.describe()
    assert described["query_cut"] == 1000 and described["search_threads"] == 1
    assert described["indexed_terms"] == len(np.unique(documents.indices))
    assert "SeismicIndexLV" in described["implementation"]


def test_seismic_with_default_parameters_finds_most_of_the_exact_top_10() -> None:
    documents, queries = collection(2000, 40, seed=2)
    seismic = make_index("sparse", {"kind": "seismic"})
    seismic.build(SparseRepresentation(documents, VOCABULARY))
    found = seismic.search(SparseRepresentation(queries, VOCABULARY), k=10)
    expected = reference_top(documents, queries, 10)
    recall = np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found.indices.tolist(), expected, strict=True)])
    assert recall >= 0.9


def test_seismic_refuses_queries_from_another_vocabulary() -> None:
    documents, queries = collection(20, 2)
    seismic = make_index("sparse", {"kind": "seismic"})
    seismic.build(SparseRepresentation(documents, VOCABULARY))
    other = Vocabulary("other", VOCABULARY.terms)
    with pytest.raises(ValueError, match="does not match"):
        seismic.search(SparseRepresentation(queries, other), k=3)


def test_seismic_parameters_are_validated_naming_the_key() -> None:
    from harness.core.errors import InputError

    with pytest.raises(InputError, match="heap_factor"):
        make_index("sparse", {"kind": "seismic", "heap_factor": 0})


@pytest.mark.parametrize("kind", ["sparse-exact", "seismic"])
def test_a_query_without_indexed_terms_gets_an_empty_padded_list(kind: str) -> None:
    documents = sp.csr_matrix(([1.0, 2.0], ([0, 1], [5, 70_000])), shape=(2, MILCO_COLUMNS), dtype=np.float32)
    queries = sp.csr_matrix(([1.0], ([1], [9])), shape=(2, MILCO_COLUMNS), dtype=np.float32)  # row 0 empty
    index = make_index("sparse", {"kind": kind})
    index.build(SparseRepresentation(documents, VOCABULARY))
    result = index.search(SparseRepresentation(queries, VOCABULARY), k=3)
    assert result.indices.tolist() == [[-1, -1, -1], [-1, -1, -1]]
    assert np.isneginf(result.scores).all()


def test_seismic_stores_document_weights_in_float16_and_says_so() -> None:
    rng = np.random.default_rng(4)
    documents = sp.random(200, 500, density=0.05, format="csr", random_state=5, dtype=np.float32)
    documents.data = (rng.random(documents.nnz) + 0.1).astype(np.float32)  # not representable in float16
    queries = sp.random(10, 500, density=0.05, format="csr", random_state=6, dtype=np.float32)
    vocabulary = Vocabulary("v", [f"t{i}" for i in range(500)])
    spec = {"kind": "seismic", "n_postings": 100_000, "query_cut": 1000, "heap_factor": 1.0, "summary_energy": 1.0}
    seismic = make_index("sparse", spec)
    seismic.build(SparseRepresentation(documents, vocabulary))
    found = seismic.search(SparseRepresentation(queries, vocabulary), k=5)
    assert seismic.describe()["document_weights"] == "float16"
    halved = documents.copy()
    halved.data = halved.data.astype(np.float16).astype(np.float32)
    kept = found.indices >= 0
    rows = np.nonzero(kept)[0]
    exact = (queries @ documents.T).toarray()[rows, found.indices[kept]]
    as_float16 = (queries @ halved.T).toarray()[rows, found.indices[kept]]
    np.testing.assert_allclose(found.scores[kept], as_float16, rtol=1e-5)
    assert np.abs(found.scores[kept] - exact).max() > 10 * np.abs(found.scores[kept] - as_float16).max()
