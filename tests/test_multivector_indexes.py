"""Exact MaxSim and the PLAID-style compressed index: scores by hand, exact top documents, the on-disk format."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import numpy as np
import pytest

from harness.core.errors import InputError
from harness.encode import MultiVectorRepresentation
from harness.index import make_index, parse_index_spec
from harness.index.plaid import PlaidIndex, PlaidParams, ResidualCodec, default_centroids

QUERY = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
DOC_A = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)  # q1: max(1, .6) = 1; q2: max(0, .8) = .8
DOC_B = np.array([[0.0, 1.0]], dtype=np.float32)  # q1: 0; q2: 1
DOC_C = np.array([[-1.0, 0.0]], dtype=np.float32)  # q1: -1; q2: 0 -- a scored zero pad would give q1 0


def bags(*vectors: np.ndarray) -> MultiVectorRepresentation:
    return MultiVectorRepresentation.from_list(list(vectors), dim=vectors[0].shape[1] if vectors else 2)


def test_maxsim_matches_the_hand_computed_scores() -> None:
    index = make_index("multivector")
    index.build(bags(DOC_A, DOC_B, DOC_C))
    result = index.search(bags(QUERY), k=3)
    assert result.indices.tolist() == [[0, 1, 2]]
    np.testing.assert_allclose(result.scores, [[1.8, 1.0, -1.0]], atol=1e-6)


@pytest.mark.parametrize("preload", [True, False])
def test_padding_is_never_scored(preload: bool) -> None:
    index = make_index("multivector", {"preload": preload})
    index.build(bags(DOC_C, DOC_A))  # one group: C is padded to A's two rows
    result = index.search(bags(QUERY), k=2)
    assert dict(zip(result.indices[0].tolist(), result.scores[0].tolist(), strict=True))[0] == pytest.approx(-1.0)


def test_short_corpora_pad_results_with_minus_one() -> None:
    index = make_index("multivector")
    index.build(bags(DOC_A))
    result = index.search(bags(QUERY, QUERY), k=3)
    assert result.indices.tolist() == [[0, -1, -1], [0, -1, -1]]
    assert np.isneginf(result.scores[:, 1:]).all()


def random_bags(rng: np.random.Generator, count: int, longest: int, dim: int) -> list[np.ndarray]:
    return [rng.standard_normal((int(rng.integers(1, longest)), dim)).astype(np.float32) for _ in range(count)]


def brute_force(queries: list[np.ndarray], documents: list[np.ndarray]) -> np.ndarray:
    return np.array([[(q @ d.T).max(axis=1).sum() for d in documents] for q in queries])


def test_small_blocks_and_memmapped_float16_give_the_brute_force_top_k(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    documents, queries = random_bags(rng, 120, 20, 8), random_bags(rng, 9, 6, 8)
    half = [d.astype(np.float16) for d in documents]
    stored = MultiVectorRepresentation.from_list(half, 8, np.float16)
    np.save(tmp_path / "vectors.npy", stored.vectors)
    mapped = MultiVectorRepresentation(np.load(tmp_path / "vectors.npy", mmap_mode="r"), stored.offsets)
    index = make_index("multivector", {"doc_batch_tokens": 16, "score_block_bytes": 4096})
    index.build(mapped)
    result = index.search(MultiVectorRepresentation.from_list(queries, 8), k=10)
    expected = brute_force(queries, [d.astype(np.float32) for d in half])
    np.testing.assert_allclose(result.scores, -np.sort(-expected, axis=1)[:, :10], rtol=1e-5, atol=1e-5)
    assert index.describe()["preloaded"] is False and index.size_bytes() == stored.nbytes


# ---- the compressed index -------------------------------------------------------------------------


def clustered_collection(seed: int = 0) -> tuple[MultiVectorRepresentation, MultiVectorRepresentation]:
    """Families of 8 documents share 3 topics, other tokens are generic; a query asks about one family's topics,
    so its 8 best documents are that family's, by a wide margin."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((48, 32))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def around(indices: np.ndarray, noise: float) -> np.ndarray:
        vectors = centres[indices] + noise * rng.standard_normal((len(indices), 32))
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    topics = rng.permutation(48)
    families, generic = topics[:30].reshape(10, 3), topics[30:]
    documents = []
    for family in families:
        for _ in range(8):
            on_topic = rng.choice(family, size=int(rng.integers(4, 10)))
            documents.append(around(np.concatenate([on_topic, rng.choice(generic, 12)]), 0.1))
    queries = [around(rng.choice(family, size=6), 0.05) for family in families]
    return MultiVectorRepresentation.from_list(documents, 32), MultiVectorRepresentation.from_list(queries, 32)


def exact_top(documents: MultiVectorRepresentation, queries: MultiVectorRepresentation, k: int) -> np.ndarray:
    index = make_index("multivector")
    index.build(documents)
    return index.search(queries, k).indices


@pytest.fixture(scope="module")
def collection() -> tuple[MultiVectorRepresentation, MultiVectorRepresentation]:
    return clustered_collection()


def test_compressed_index_returns_the_exact_top_documents_at_generous_settings(collection) -> None:  # type: ignore[no-untyped-def]
    documents, queries = collection
    index = make_index(
        "multivector", {"kind": "plaid", "nbits": 4, "centroids": 48, "probes": 4, "candidates": 80, "rerank": 80}
    )
    index.build(documents)
    found = index.search(queries, k=8).indices
    for approximate, exact in zip(found, exact_top(documents, queries, 8), strict=True):
        assert set(approximate.tolist()) == set(exact.tolist())


def test_defaults_follow_colbert_ai_search_settings() -> None:
    index = make_index("multivector", {"kind": "plaid"})
    assert index.search_settings(10) == {"k": 10, "probes": 1, "candidates": 256, "rerank": 64}
    assert index.search_settings(100) == {"k": 100, "probes": 2, "candidates": 1024, "rerank": 256}
    assert index.search_settings(1000) == {"k": 1000, "probes": 4, "candidates": 4096, "rerank": 1024}
    assert index.search_settings(2000) == {"k": 2000, "probes": 4, "candidates": 8000, "rerank": 2000}
    assert default_centroids(10_000_000) == 32768 and default_centroids(1000) == 256


def test_settings_never_rerank_fewer_than_k() -> None:
    index = make_index("multivector", {"kind": "plaid", "candidates": 8, "rerank": 4})
    assert index.search_settings(10) == {"k": 10, "probes": 1, "candidates": 10, "rerank": 10}


@pytest.mark.parametrize("nbits", [1, 2, 4])
def test_residual_codes_round_trip_to_their_bucket_values(nbits: int) -> None:
    rng = np.random.default_rng(nbits)
    levels = 1 << nbits
    codec = ResidualCodec(
        centroids=rng.standard_normal((4, 16)).astype(np.float32),
        cutoffs=np.linspace(-1, 1, levels + 1)[1:-1].astype(np.float32),
        weights=np.linspace(-1, 1, levels).astype(np.float32),
        nbits=nbits,
        normalized=False,
    )
    buckets = rng.integers(0, levels, (5, 16))
    residuals = codec.weights[buckets]  # each value sits in its own bucket
    codes = rng.integers(0, 4, 5)
    packed = codec.quantise(residuals)
    assert packed.shape == (5, 16 * nbits // 8) and packed.dtype == np.uint8
    np.testing.assert_allclose(codec.decode(codes, packed), codec.centroids[codes] + residuals, atol=1e-6)


def test_more_bits_reconstruct_vectors_more_closely(collection, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    documents, _ = collection
    similarity = {}
    for nbits in (1, 2, 4):
        index = PlaidIndex(PlaidParams(nbits=nbits, centroids=16, index_dir=str(tmp_path)))
        index.build(documents)
        folder = index.directory
        assert folder is not None
        codes, residuals = np.load(folder / "codes.npy"), np.load(folder / "residuals.npy")
        decoded = index._codec.decode(codes, residuals)  # type: ignore[union-attr]
        similarity[nbits] = float(np.mean(np.sum(decoded * documents.vectors, axis=1)))
    assert similarity[1] < similarity[2] < similarity[4] and similarity[4] > 0.98


def test_index_is_smaller_than_float16_and_its_size_is_its_files(collection) -> None:  # type: ignore[no-untyped-def]
    documents, _ = collection
    index = make_index("multivector", {"kind": "plaid", "nbits": 1, "centroids": 8})
    index.build(documents)
    details = index.describe()
    assert index.size_bytes() == sum(details["files_bytes"].values())
    assert details["files_bytes"]["residuals.npy"] < documents.vectors.size * 2 / 8  # 1 bit vs 16 per value
    assert details["fp16_vectors_bytes"] == documents.vectors.size * 2


def test_on_disk_format_is_memory_mapped_and_reopens(collection, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    documents, queries = collection
    built = PlaidIndex(PlaidParams(centroids=16, index_dir=str(tmp_path)))
    built.build(documents)
    folder = built.directory
    assert folder is not None and folder.parent == tmp_path.resolve()
    assert sorted(p.name for p in folder.iterdir()) == [
        "centroids.npy",
        "codes.npy",
        "doc_offsets.npy",
        "ivf_docs.npy",
        "ivf_offsets.npy",
        "metadata.json",
        "residuals.npy",
    ]
    metadata = json.loads((folder / "metadata.json").read_text())
    assert (metadata["format"], metadata["version"], metadata["nbits"]) == ("harness-plaid", 1, 2)
    assert (metadata["num_documents"], metadata["num_vectors"]) == (len(documents), len(documents.vectors))
    reopened = PlaidIndex.open(folder)
    assert isinstance(reopened._arrays["residuals"], np.memmap)
    np.testing.assert_array_equal(reopened.search(queries, 5).indices, built.search(queries, 5).indices)


def test_inverted_lists_hold_each_document_once_per_centroid(collection) -> None:  # type: ignore[no-untyped-def]
    documents, _ = collection
    index = PlaidIndex(PlaidParams(centroids=16))
    index.build(documents)
    codes, offsets = np.asarray(index._arrays["codes"]), np.asarray(index._arrays["ivf_offsets"])
    ivf = np.asarray(index._arrays["ivf_docs"])
    owner = np.repeat(np.arange(len(documents)), documents.lengths())
    for centroid in (0, 7, 15):
        assert ivf[offsets[centroid] : offsets[centroid + 1]].tolist() == sorted(set(owner[codes == centroid]))


def test_temporary_index_folder_is_deleted_with_the_index(collection) -> None:  # type: ignore[no-untyped-def]
    documents, _ = collection
    index = make_index("multivector", {"kind": "plaid", "centroids": 8})
    index.build(documents)
    folder = index.directory
    assert folder is not None and folder.is_dir() and index.describe()["temporary"] is True
    del index
    gc.collect()
    assert not folder.exists()


def test_a_failed_build_leaves_nothing_behind(collection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    documents, _ = collection

    def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(PlaidIndex, "_write", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        PlaidIndex(PlaidParams(centroids=8, index_dir=str(tmp_path))).build(documents)
    assert list(tmp_path.iterdir()) == []


def test_incomplete_or_foreign_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"metadata\.json is missing"):
        PlaidIndex.open(tmp_path)
    (tmp_path / "metadata.json").write_text(json.dumps({"format": "harness-plaid", "version": 99}))
    with pytest.raises(InputError, match="version 99"):
        PlaidIndex.open(tmp_path)


def test_dimensions_that_cannot_be_packed_are_refused() -> None:
    index = make_index("multivector", {"kind": "plaid", "nbits": 1})
    with pytest.raises(InputError, match="12-dimensional vectors cannot be packed at 1 bits"):
        index.build(MultiVectorRepresentation.from_list([np.ones((3, 12), dtype=np.float32)], 12))


def test_index_option_parses_kind_and_typed_parameters() -> None:
    assert parse_index_spec("plaid:nbits=4, probes=2,index_dir=out") == {
        "kind": "plaid",
        "nbits": 4,
        "probes": 2,
        "index_dir": "out",
    }
    with pytest.raises(InputError, match="plaid nbits: Input should be 1, 2 or 4"):
        parse_index_spec("plaid:nbits=3")
    with pytest.raises(InputError, match="expected key=value"):
        parse_index_spec("plaid:nbits")
