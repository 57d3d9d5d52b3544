"""The embedding store: shards written atomically, read back memory-mapped, reused by key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.catalog.cards import load_card_file
from harness.encode import DenseRepresentation, EncodeSettings, MultiVectorRepresentation, SparseRepresentation
from harness.models.adapters import load_encoder
from harness.store import EmbeddingStore
from tests.tiny_colbert import write_tiny_colbert
from tests.tiny_models import write_tiny_bert
from tests.tiny_sparse_models import write_tiny_bert_mlm

TEXTS = [f"cats and dogs {i} " + "river " * (i % 5) for i in range(23)]


def card(tmp_path: Path, adapter: str, model: Path, **parameters: object) -> Path:
    import yaml

    path = tmp_path / f"{adapter}.yaml"
    path.write_text(
        yaml.safe_dump(
            {"name": f"tiny-{adapter}", "adapter": adapter, "parameters": {"path": str(model), **parameters}}
        )
    )
    return path


@pytest.fixture(scope="module")
def encoders(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("models")
    dense = load_encoder(
        load_card_file(card(root, "dense", write_tiny_bert(root / "bert"))), EncodeSettings(batch_size=4)
    )
    sparse = load_encoder(
        load_card_file(card(root, "splade", write_tiny_bert_mlm(root / "mlm"))), EncodeSettings(batch_size=4)
    )
    colbert = load_encoder(
        load_card_file(card(root, "colbert", write_tiny_colbert(root / "colbert"))), EncodeSettings(batch_size=4)
    )
    return {"dense": dense, "sparse": sparse, "multivector": colbert}


def test_stored_dense_shards_equal_the_encoding_of_each_slice(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    encoder = encoders["dense"]
    stored = EmbeddingStore(tmp_path, shard_size=10).encode(encoder, TEXTS, "en", "document")
    assert [len(shard) for shard in stored.shards] == [10, 10, 3]
    assert isinstance(stored.shards[0], DenseRepresentation)
    assert isinstance(stored.shards[0].vectors, np.memmap)
    for number, shard in enumerate(stored.shards):
        expected = encoder.encode_documents(TEXTS[number * 10 : number * 10 + 10], "en").vectors
        np.testing.assert_array_equal(np.asarray(shard.vectors), expected)
    assert stored.status.to_dict()["status"] == "computed"
    assert stored.status.texts_encoded == 23


def test_a_second_encode_reads_every_shard_back_and_encodes_nothing(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = EmbeddingStore(tmp_path, shard_size=10)
    first = store.encode(encoders["dense"], TEXTS, "en", "document")
    again = store.encode(encoders["dense"], TEXTS, "en", "document")
    assert again.status.status == "reused"
    assert (again.status.computed_shards, again.status.texts_encoded, again.status.encode_s) == (0, 0, 0.0)
    assert again.status.reused_encode_s == pytest.approx(first.status.encode_s)
    np.testing.assert_array_equal(again.whole().vectors, first.whole().vectors)


def test_a_missing_shard_is_the_only_one_encoded_again(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    store = EmbeddingStore(tmp_path, shard_size=10)
    first = store.encode(encoders["dense"], TEXTS, "en", "document")
    shutil.rmtree(Path(first.status.location) / "shard-000001")
    again = store.encode(encoders["dense"], TEXTS, "en", "document")
    assert (again.status.status, again.status.computed_shards, again.status.texts_encoded) == ("partly reused", 1, 10)
    np.testing.assert_array_equal(again.whole().vectors, first.whole().vectors)


def test_other_texts_roles_or_languages_are_other_entries(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = EmbeddingStore(tmp_path, shard_size=10)
    store.encode(encoders["dense"], TEXTS, "en", "document")
    for texts, language, role in ((TEXTS[:-1], "en", "document"), (TEXTS, "de", "document"), (TEXTS, "en", "query")):
        assert store.encode(encoders["dense"], texts, language, role).status.status == "computed"  # type: ignore[arg-type]


def test_sparse_shards_keep_their_vocabulary_and_weights(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    encoder = encoders["sparse"]
    store = EmbeddingStore(tmp_path, shard_size=8)
    store.encode(encoder, TEXTS, "en", "document")
    stored = store.encode(encoder, TEXTS, "en", "document")
    whole = stored.whole()
    assert isinstance(whole, SparseRepresentation)
    expected = encoder.encode_documents(TEXTS, "en")
    assert whole.vocabulary.terms == expected.vocabulary.terms
    np.testing.assert_allclose(whole.matrix.toarray(), expected.matrix.toarray(), rtol=1e-6, atol=1e-7)


def test_multivector_shards_keep_each_texts_token_vectors(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    encoder = encoders["multivector"]
    stored = EmbeddingStore(tmp_path, shard_size=6).encode(encoder, TEXTS, "en", "document")
    whole = stored.whole()
    assert isinstance(whole, MultiVectorRepresentation)
    expected = encoder.encode_documents(TEXTS, "en")
    np.testing.assert_array_equal(whole.lengths(), expected.lengths())
    np.testing.assert_allclose(whole.vectors, expected.vectors, rtol=1e-5, atol=1e-6)


def test_float16_storage_halves_dense_vectors(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    full = EmbeddingStore(tmp_path / "a", shard_size=10).encode(encoders["dense"], TEXTS, "en", "document")
    half = EmbeddingStore(tmp_path / "b", shard_size=10, dtype="float16").encode(
        encoders["dense"], TEXTS, "en", "document"
    )
    assert half.shards[0].vectors.dtype == np.float16
    assert half.shards[0].vectors.nbytes * 2 == full.shards[0].vectors.nbytes
    np.testing.assert_allclose(half.whole().vectors.astype(np.float32), full.whole().vectors, atol=1e-3)


def test_a_killed_writers_half_shard_is_removed_and_never_read(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    store = EmbeddingStore(tmp_path, shard_size=10)
    entry = Path(store.encode(encoders["dense"], TEXTS[:10], "en", "document").status.location)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    from harness.store.embeddings import _host

    half = entry / f".shard-000001.{_host()}.{dead.stdout.strip()}.deadbeef.tmp"
    half.mkdir()
    store.encode(encoders["dense"], TEXTS[:10], "en", "document")
    assert not half.exists()


@pytest.mark.parametrize("resident_bytes", [2**30, 0], ids=["in-memory", "from-disk"])
def test_exact_dense_search_over_shards_equals_search_over_the_whole(tmp_path: Path, resident_bytes: int) -> None:
    from harness.index import make_index

    rng = np.random.default_rng(0)
    documents = rng.standard_normal((50, 8)).astype(np.float32)
    queries = DenseRepresentation(rng.standard_normal((7, 8)).astype(np.float32))
    whole = make_index("dense", {"kind": "faiss-flat"})
    whole.build(DenseRepresentation(documents))
    # Shards of 9 rows read from disk, scored in blocks of about 20 rows: several merges.
    paths = []
    for number, first in enumerate(range(0, 50, 9)):
        path = tmp_path / f"{number}.npy"
        np.save(path, documents[first : first + 9])
        paths.append(DenseRepresentation(np.load(path, mmap_mode="r")))
    sharded = make_index("dense", {"kind": "faiss-flat", "block_rows": 20, "resident_bytes": resident_bytes})
    sharded.build_from_shards(paths)
    expected, found = whole.search(queries, 12), sharded.search(queries, 12)
    np.testing.assert_array_equal(found.indices, expected.indices)
    np.testing.assert_allclose(found.scores, expected.scores, rtol=1e-6)
    assert found.indices.shape == (7, 12)
    assert sharded.describe()["blocks"] == 2  # 27 + 23 rows
    assert sharded.describe()["blocks_on_disk"] == (2 if resident_bytes == 0 else 0)


def test_exact_sparse_search_over_shards_equals_search_over_the_whole(encoders) -> None:  # type: ignore[no-untyped-def]
    from harness.index import make_index

    vectors = encoders["sparse"].encode_documents(TEXTS, "en")
    queries = encoders["sparse"].encode_queries(["cats river", "dogs 3"], "en")
    whole = make_index("sparse", {"kind": "sparse-exact"})
    whole.build(vectors)
    sharded = make_index("sparse", {"kind": "sparse-exact"})
    sharded.build_from_shards([vectors.select(np.arange(start, min(start + 5, 23))) for start in range(0, 23, 5)])
    expected, found = whole.search(queries, 30), sharded.search(queries, 30)
    np.testing.assert_array_equal(found.indices, expected.indices)
    np.testing.assert_array_equal(found.scores, expected.scores)


def test_sparse_shards_past_the_memory_budget_are_searched_from_disk(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from harness.index import make_index

    stored = EmbeddingStore(tmp_path, shard_size=5).encode(encoders["sparse"], TEXTS, "en", "document")
    queries = encoders["sparse"].encode_queries(["cats river", "dogs 3"], "en")
    in_memory = make_index("sparse", {"kind": "sparse-exact"})
    in_memory.build_from_shards(stored.shards)
    from_disk = make_index("sparse", {"kind": "sparse-exact", "resident_bytes": 0})
    from_disk.build_from_shards(stored.shards)
    assert from_disk.describe()["shards_on_disk"] == 5 and in_memory.describe()["shards_on_disk"] == 0
    expected, found = in_memory.search(queries, 30), from_disk.search(queries, 30)
    np.testing.assert_array_equal(found.indices, expected.indices)
    np.testing.assert_array_equal(found.scores, expected.scores)
