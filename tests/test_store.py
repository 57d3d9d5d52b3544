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


def entry_of(stored) -> Path:  # type: ignore[no-untyped-def]
    return Path(stored.status.location)


@pytest.mark.parametrize("family", ["dense", "sparse", "multivector"])
def test_each_shard_records_its_rows_and_each_arrays_shape_and_checksum(encoders, tmp_path: Path, family: str) -> None:  # type: ignore[no-untyped-def]
    import hashlib
    import json

    entry = entry_of(EmbeddingStore(tmp_path, shard_size=10).encode(encoders[family], TEXTS, "en", "document"))
    meta = json.loads((entry / "shard-000002" / "meta.json").read_text())
    assert meta["texts"] == 3
    names = {"dense": {"vectors"}, "sparse": {"data", "indices", "indptr"}, "multivector": {"vectors", "offsets"}}
    assert set(meta["arrays"]) == names[family]
    for name, recorded in meta["arrays"].items():
        array = np.load(entry / "shard-000002" / f"{name}.npy")
        assert (recorded["dtype"], recorded["shape"]) == (str(array.dtype), list(array.shape))
        assert recorded["checksum"] == "sha256:" + hashlib.sha256(array.tobytes()).hexdigest()


def test_checksums_are_verified_once_per_store_object_and_again_after_a_change(
    encoders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from harness.store import embeddings

    EmbeddingStore(tmp_path, shard_size=10).encode(encoders["dense"], TEXTS, "en", "document")
    hashed: list[str] = []
    checksum = embeddings._checksum
    monkeypatch.setattr(embeddings, "_checksum", lambda array: hashed.append(array.filename) or checksum(array))
    store = EmbeddingStore(tmp_path, shard_size=10)
    first = store.encode(encoders["dense"], TEXTS, "en", "document")
    assert len(hashed) == 3  # the first read in a run verifies every shard
    store.encode(encoders["dense"], TEXTS, "en", "document")
    assert len(hashed) == 3  # later reads check rows and shapes only
    vectors = entry_of(first) / "shard-000001" / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes())  # rewritten in place, the same bytes: verified again, and passes
    again = store.encode(encoders["dense"], TEXTS, "en", "document")
    assert [str(path) for path in hashed[3:]] == [str(vectors)] and again.status.status == "reused"


@pytest.mark.parametrize(
    ("family", "array"),
    [("dense", "vectors"), ("sparse", "data"), ("sparse", "indices"), ("multivector", "vectors")],
)
def test_a_flipped_bit_in_any_array_is_found_and_the_shard_encoded_again(
    encoders, tmp_path: Path, family: str, array: str
) -> None:  # type: ignore[no-untyped-def]
    notes: list[str] = []
    store = EmbeddingStore(tmp_path, shard_size=10, on_note=notes.append)
    clean = store.encode(encoders[family], TEXTS, "en", "document").whole()
    path = entry_of(store.encode(encoders[family], TEXTS, "en", "document")) / "shard-000001" / f"{array}.npy"
    content = bytearray(path.read_bytes())
    content[-1] ^= 0x01
    path.write_bytes(bytes(content))
    again = EmbeddingStore(tmp_path, shard_size=10, on_note=notes.append).encode(
        encoders[family], TEXTS, "en", "document"
    )
    assert (again.status.computed_shards, again.status.damaged_shards) == (1, 1)
    [note] = notes
    assert note.startswith(f"{path.parent}: damaged stored shard ({array}.npy: its bytes do not match the checksum")
    [aside] = path.parent.parent.glob(".damaged-shard-000001.*")
    assert (aside / f"{array}.npy").read_bytes() == bytes(content)  # kept as it was found, to inspect
    whole = again.whole()
    if family == "sparse":
        assert (whole.matrix != clean.matrix).nnz == 0
    else:
        np.testing.assert_array_equal(whole.vectors, clean.vectors)


def test_without_recompute_a_damaged_shard_is_refused_naming_its_file(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from harness.store.embeddings import DamagedShard

    entry = entry_of(EmbeddingStore(tmp_path, shard_size=10).encode(encoders["dense"], TEXTS, "en", "document"))
    meta = entry / "shard-000000" / "meta.json"
    meta.write_text(meta.read_text().replace('"texts": 10', '"texts": 9'))
    store = EmbeddingStore(tmp_path, shard_size=10, recompute_damaged=False)
    with pytest.raises(DamagedShard) as refused:
        store.encode(encoders["dense"], TEXTS, "en", "document")
    assert (refused.value.path, refused.value.key) == (meta, "--no-recompute")
    assert "records 9 texts where the shard holds 10" in str(refused.value)
    assert (entry / "shard-000000").is_dir() and not list(entry.glob(".damaged-*"))


def test_without_a_note_callback_a_damaged_shard_is_a_warning(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    entry = entry_of(EmbeddingStore(tmp_path, shard_size=10).encode(encoders["dense"], TEXTS, "en", "document"))
    (entry / "shard-000002" / "meta.json").write_text("{")
    with pytest.warns(UserWarning, match="shard-000002: damaged stored shard \\(meta.json: unreadable"):
        EmbeddingStore(tmp_path, shard_size=10).encode(encoders["dense"], TEXTS, "en", "document")


def strip_checksums(entry: Path) -> None:
    """Make every shard of an entry look written by a version before checksums."""
    import json

    for meta in entry.glob("shard-*/meta.json"):
        written = json.loads(meta.read_text())
        del written["arrays"]
        meta.write_text(json.dumps(written))


def test_a_shard_written_before_checksums_is_read_with_rows_and_widths_checked(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = EmbeddingStore(tmp_path, shard_size=10).encode(encoders["dense"], TEXTS, "en", "document")
    expected = np.array(first.whole().vectors)  # a copy: the memory maps show the files as they change
    strip_checksums(entry_of(first))
    notes: list[str] = []
    again = EmbeddingStore(tmp_path, shard_size=10, on_note=notes.append).encode(
        encoders["dense"], TEXTS, "en", "document"
    )
    assert again.status.status == "reused" and not notes
    np.testing.assert_array_equal(again.whole().vectors, expected)
    vectors = entry_of(first) / "shard-000001" / "vectors.npy"
    np.save(vectors, np.load(vectors)[:, :4])
    repaired = EmbeddingStore(tmp_path, shard_size=10, on_note=notes.append).encode(
        encoders["dense"], TEXTS, "en", "document"
    )
    assert notes == [notes[0]] and "holds vectors 4 wide where the entry's other shards hold 16" in notes[0]
    np.testing.assert_array_equal(repaired.whole().vectors, expected)


def test_token_offsets_that_do_not_add_up_are_damage_even_without_checksums(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    stored = EmbeddingStore(tmp_path, shard_size=10).encode(encoders["multivector"], TEXTS, "en", "document")
    strip_checksums(entry_of(stored))
    offsets = entry_of(stored) / "shard-000000" / "offsets.npy"
    np.save(offsets, np.load(offsets)[:-1])
    notes: list[str] = []
    EmbeddingStore(tmp_path, shard_size=10, on_note=notes.append).encode(
        encoders["multivector"], TEXTS, "en", "document"
    )
    [note] = notes
    assert "offsets.npy: holds [10] boundaries for 10 texts" in note
