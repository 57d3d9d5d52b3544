"""The embedding store: encodings on disk, in shards, keyed by what they depend on, read back memory-mapped.

An entry is one (model, role, language, texts) encoding:

    <root>/<model id>/<role>.<language>.<texts id>.n<texts>.s<shard size>/
        entry.json          what the vectors depend on (model identity, role, language, counts)
        vocabulary.json     sparse only: the column names (and views) shared by every shard
        shard-000000/       texts [0, shard size): the family's arrays as .npy files, and meta.json
        shard-000001/       ...

The model id hashes the encoder's output identity (card hash, resolved weights and revision, max lengths,
pooling, dtype...) and the stored dtype; the texts id hashes every text in order. A shard is written into
a temporary folder and renamed into place, so a shard folder that exists is complete: a run killed at
any moment loses at most the shard it was writing, and the next run encodes only the missing shards.
Unless a size is asked for, shards are sized from the number of texts (`shard_size_for`): at least eight
per entry, so a kill loses at most an eighth of an encoding; the same texts get the same size, so a
rerun finds its entry.

Each family has its arrays: dense `vectors.npy` (float32, or float16 on request); sparse `data.npy`,
`indices.npy`, `indptr.npy` (CSR rows over the entry's vocabulary); multi-vector `vectors.npy` and
`offsets.npy` (ragged token vectors).

A shard's `meta.json` records its row count (`texts`) and, for each array, its dtype, shape and checksum
(SHA-256 of the array's bytes). A damaged file would otherwise give wrong scores with no error, so
reading a shard checks rows and shapes every time and the checksums once per shard per `EmbeddingStore`
(once per run; `benchmarks/store_integrity.py` measures the cost). A shard that fails is never used: it is
moved aside (`.damaged-shard-000003.<time>.<random>` in its entry, kept to inspect) and encoded again, or
refused (`recompute_damaged=False`). Shards written before checksums existed are read with their rows,
shapes and widths checked.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import shutil
import socket
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import scipy.sparse as sp

from harness.core.errors import InputError
from harness.encode import (
    DenseRepresentation,
    Encoder,
    MultiVectorRepresentation,
    ProgressCallback,
    Representation,
    SparseRepresentation,
    Vocabulary,
    VocabularyView,
    concatenate,
    encode_checked,
)

STORE_VERSION = 1
DEFAULT_SHARD_SIZE = 16_384  # the largest shard sized from the texts; more texts make more shards
MIN_SHARDS = 8  # a corpus of at least MIN_SHARDS * MIN_SHARD_SIZE texts has this many shards or more
MIN_SHARD_SIZE = 256  # below this, a shard's fixed costs (files, fsync, a batch's padding) start to show
ENTRY_FILE = "entry.json"
# SHA-256: hashed in hardware on current x86 and ARM CPUs, twice BLAKE2b's rate there (benchmarks/store_integrity.py).
CHECKSUM = "sha256"
DAMAGED_PREFIX = ".damaged-"  # a damaged shard moved aside: `.damaged-shard-000003.<time>.<random>`
Role = Literal["query", "document"]
StoredDtype = Literal["float32", "float16"]


def default_store_dir() -> Path:
    """`$HARNESS_CACHE_DIR/embeddings`, else the user cache (`$XDG_CACHE_HOME` or `~/.cache`)/harness/embeddings."""
    explicit = os.environ.get("HARNESS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser() / "embeddings"
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "harness" / "embeddings"


def shard_size_for(texts: int, requested: int | None = None) -> int:
    """Texts per shard of an entry of `texts` texts: `requested` when given, else enough shards that a kill
    loses at most an eighth of the encoding (MIN_SHARDS), each of MIN_SHARD_SIZE to DEFAULT_SHARD_SIZE texts."""
    if requested is not None:
        return requested
    return min(DEFAULT_SHARD_SIZE, max(MIN_SHARD_SIZE, -(-texts // MIN_SHARDS)))


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def texts_digest(texts: Sequence[str]) -> str:
    """One hash over every text, in order (a text boundary cannot be confused with a character)."""
    digest = hashlib.sha256()
    for text in texts:
        encoded = text.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()


class DamagedShard(InputError):
    """A stored shard that fails its checks: the file at fault and why. It is never used."""


def _checksum(array: np.ndarray) -> str:
    """`sha256:<hex>` of an array's bytes; a stored one is read with plain file reads, so its pages never stay
    resident in this process (a memory map would keep every page it hashed)."""
    digest = hashlib.new(CHECKSUM)
    if isinstance(array, np.memmap) and array.filename is not None:
        buffer = memoryview(bytearray(8 * 2**20))
        with open(array.filename, "rb") as handle:
            handle.seek(array.offset)
            remaining = array.nbytes
            while remaining and (count := handle.readinto(buffer[: min(remaining, len(buffer))])):
                digest.update(buffer[:count])
                remaining -= count
    else:
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return f"{CHECKSUM}:{digest.hexdigest()}"


def _write_array(folder: Path, name: str, array: np.ndarray) -> dict[str, Any]:
    """Write one array; returns what `meta.json` records of it (dtype, shape, checksum)."""
    array = np.ascontiguousarray(array)
    with (folder / f"{name}.npy").open("wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
    return {"dtype": str(array.dtype), "shape": list(array.shape), "checksum": _checksum(array)}


def _read_array(folder: Path, name: str, recorded: dict[str, Any] | None, verify: bool) -> np.ndarray:
    """One array, memory-mapped, checked against what `meta.json` records of it (None: a shard written before
    checksums, nothing recorded); its checksum only when `verify`."""
    path = folder / f"{name}.npy"
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DamagedShard(f"unreadable ({error})", path=path) from None
    if recorded is None:
        return array
    if [str(array.dtype), list(array.shape)] != [recorded.get("dtype"), recorded.get("shape")]:
        found, expected = f"{array.dtype} {list(array.shape)}", f"{recorded.get('dtype')} {recorded.get('shape')}"
        raise DamagedShard(f"holds {found} where meta.json records {expected}", path=path)
    if verify and _checksum(array) != recorded.get("checksum"):
        raise DamagedShard("its bytes do not match the checksum meta.json records", path=path)
    return array


def _write_json(path: Path, value: Any) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(value, handle, indent=1, sort_keys=True, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:  # a full disk, an interrupt: no half file left behind
        temporary.unlink(missing_ok=True)
        raise


FULL_DISK = (errno.ENOSPC, errno.EDQUOT)


def write_failure(error: OSError, folder: Path, what: str, key: str | None = None) -> Exception:
    """A failed write into the store. A full disk or quota names `folder` (a failed write names no file) and
    is no fault of the input (exit 1); anything else (permissions) is the store folder's, an `InputError`."""
    if error.errno in FULL_DISK:
        return OSError(error.errno, error.strerror, str(folder))
    return InputError(f"{what}: {error.strerror}", path=folder, key=key)


def read_json(path: Path) -> Any:
    """A store file's JSON (an entry's description, a vocabulary); unreadable, an `InputError` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"unreadable store file ({error}); delete the entry to re-encode it", path=path) from None


def write_shard_arrays(folder: Path, representation: Representation, dtype: StoredDtype) -> dict[str, Any]:
    """Write a shard's arrays; returns what `meta.json` records of each (under `arrays`)."""
    if isinstance(representation, DenseRepresentation):
        return {"vectors": _write_array(folder, "vectors", representation.vectors.astype(dtype, copy=False))}
    if isinstance(representation, SparseRepresentation):
        matrix = representation.matrix.tocsr()
        return {
            "data": _write_array(folder, "data", matrix.data.astype(np.float32, copy=False)),
            "indices": _write_array(folder, "indices", matrix.indices),
            "indptr": _write_array(folder, "indptr", matrix.indptr.astype(np.int64, copy=False)),
        }
    return {
        "vectors": _write_array(folder, "vectors", representation.vectors.astype(dtype, copy=False)),
        "offsets": _write_array(folder, "offsets", representation.offsets.astype(np.int64, copy=False)),
    }


def _load_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DamagedShard(f"unreadable ({error})", path=path) from None
    if not isinstance(meta, dict):
        raise DamagedShard("not a JSON object", path=path)
    return meta


def _encode_s(meta: dict[str, Any], path: Path) -> float:
    seconds = meta.get("encode_s", 0.0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
        raise DamagedShard(f"encode_s is {seconds!r}, not a number of seconds", path=path)
    return float(seconds)


def read_meta(folder: Path, rows: int) -> dict[str, Any]:
    """A shard's `meta.json`, checked: it records the shard's row count, and seconds as `encode_s`."""
    path = folder / "meta.json"
    meta = _load_meta(path)
    if meta.get("texts") != rows or isinstance(meta.get("texts"), bool):
        raise DamagedShard(f"records {meta.get('texts')!r} texts where the shard holds {rows}", path=path)
    _encode_s(meta, path)
    if not isinstance(meta.get("arrays", {}), dict):
        raise DamagedShard("`arrays` is not a JSON object", path=path)
    return meta


def _require(condition: bool, path: Path, reason: str) -> None:
    if not condition:
        raise DamagedShard(reason, path=path)


def _check_offsets(path: Path, offsets: np.ndarray, rows: int, total: int, what: str) -> None:
    """Row boundaries (CSR `indptr`, token `offsets`): rows + 1 of them, from 0 up to the `total` stored."""
    _require(offsets.shape == (rows + 1,), path, f"holds {list(offsets.shape)} boundaries for {rows} texts")
    bounds = np.asarray(offsets)
    _require(bounds[0] == 0 and bounds[-1] == total, path, f"does not run from 0 to the {total} {what} stored")
    _require(bool(np.all(bounds[1:] >= bounds[:-1])), path, "its boundaries are not in order")


def _check_vectors(path: Path, vectors: np.ndarray, rows: int | None, dtype: StoredDtype) -> None:
    _require(vectors.ndim == 2, path, f"holds an array of shape {list(vectors.shape)}, not vectors")
    count = len(vectors)
    _require(rows is None or count == rows, path, f"holds {count} vectors where the shard has {rows} texts")
    _require(vectors.dtype == np.dtype(dtype), path, f"holds {vectors.dtype} vectors where the store keeps {dtype}")


def read_shard(
    folder: Path, family: str, vocabulary: Vocabulary | None, rows: int, dtype: StoredDtype, verify: bool = True
) -> tuple[Representation, dict[str, Any]]:
    """One shard of `rows` texts, memory-mapped (nothing is read until used), and its checked `meta.json`.

    Its row count and each array's shape are checked; each array's checksum too when `verify` (which reads
    it). A shard that fails raises `DamagedShard` naming the file.
    """
    meta = read_meta(folder, rows)
    recorded = meta.get("arrays")

    def array(name: str) -> np.ndarray:
        if recorded is not None and not isinstance(recorded.get(name), dict):
            raise DamagedShard(f"meta.json records nothing of {name}.npy", path=folder / "meta.json")
        return _read_array(folder, name, None if recorded is None else recorded[name], verify)

    if family == "dense":
        vectors = array("vectors")
        _check_vectors(folder / "vectors.npy", vectors, rows, dtype)
        return DenseRepresentation(vectors), meta
    if family == "sparse":
        _require(vocabulary is not None, folder.parent / "vocabulary.json", "missing: the shards' columns are unknown")
        assert vocabulary is not None
        data, indices, indptr = array("data"), array("indices"), array("indptr")
        _require(data.ndim == 1 and data.shape == indices.shape, folder / "indices.npy", "does not match data.npy")
        _require(indices.dtype.kind in "iu", folder / "indices.npy", f"holds {indices.dtype}, not column numbers")
        _check_offsets(folder / "indptr.npy", indptr, rows, len(data), "weights")
        matrix = sp.csr_matrix((data, indices, indptr), shape=(rows, len(vocabulary)), copy=False)
        return SparseRepresentation(matrix, vocabulary), meta
    vectors, offsets = array("vectors"), array("offsets")
    _check_vectors(folder / "vectors.npy", vectors, None, dtype)
    _check_offsets(folder / "offsets.npy", offsets, rows, len(vectors), "token vectors")
    return MultiVectorRepresentation(vectors, np.asarray(offsets)), meta


def odd_widths(shards: Mapping[Path, Representation]) -> list[DamagedShard]:
    """Shards whose vectors are not as wide as most of their entry's: a shard written before checksums has
    no recorded shape to be checked against, but every shard of an entry has its model's dimension."""
    widths = {
        folder: int(shard.vectors.shape[1])
        for folder, shard in shards.items()
        if isinstance(shard, DenseRepresentation | MultiVectorRepresentation)
    }
    if not widths:
        return []
    usual = Counter(widths.values()).most_common(1)[0][0]
    return [
        DamagedShard(f"holds vectors {width} wide where the entry's other shards hold {usual}", folder / "vectors.npy")
        for folder, width in widths.items()
        if width != usual
    ]


def set_aside(folder: Path) -> Path:
    """Rename a damaged shard `.damaged-<name>.<time>.<random>` in its entry: no run reads it again, and it
    is there to inspect (`harness cache prune` removes it with its entry)."""
    aside = folder.with_name(f"{DAMAGED_PREFIX}{folder.name}.{time.strftime('%Y%m%dT%H%M%S')}.{uuid.uuid4().hex[:6]}")
    try:
        os.rename(folder, aside)
    except FileNotFoundError:  # another run moved it aside first
        pass
    except OSError as error:
        message = f"cannot move a damaged shard aside ({error.strerror}); delete the folder to encode it again"
        raise InputError(message, path=folder, key="--cache-dir") from None
    return aside


def _vocabulary_to_json(vocabulary: Vocabulary) -> dict[str, Any]:
    return {
        "name": vocabulary.name,
        "terms": list(vocabulary.terms),
        "views": [[view.name, view.start, view.stop] for view in vocabulary.views],
    }


def _vocabulary_from_json(data: dict[str, Any]) -> Vocabulary:
    views = tuple(VocabularyView(name, start, stop) for name, start, stop in data["views"])
    return Vocabulary(data["name"], data["terms"], views)


def stored_vocabulary(entry: Path) -> Vocabulary | None:
    """A sparse entry's columns (None until its first shard is written, and for other families)."""
    path = entry / "vocabulary.json"
    return _vocabulary_from_json(read_json(path)) if path.is_file() else None


def shard_folder(entry: Path, number: int) -> Path:
    return entry / f"shard-{number:06d}"


@dataclass(frozen=True)
class ShardJob:
    """One missing shard of an entry: everything a worker needs to encode and commit it."""

    entry: Path
    number: int
    first: int  # the index of its first text in the entry's texts
    texts: tuple[str, ...]
    language: str
    role: Role


@dataclass(frozen=True)
class ShardReport:
    """What encoding one shard took, and who encoded it (empty: this process)."""

    number: int
    texts: int
    encode_s: float
    computed: bool = True  # False: it was stored already when its turn came (another writer was first)
    worker: str = ""


class ShardExecutor(Protocol):
    """Encodes an entry's missing shards somewhere else (`harness.run.distributed.RayEncodingPool`)."""

    def encode_shards(
        self, store: EmbeddingStore, encoder: Encoder, jobs: Sequence[ShardJob], progress: ProgressCallback | None
    ) -> list[ShardReport]: ...


def worker_shares(reports: Sequence[ShardReport]) -> dict[str, dict[str, float]]:
    """Shards, texts, seconds and throughput of each worker that encoded some (none: all in this process)."""
    shares: dict[str, dict[str, float]] = {}
    for report in sorted(reports, key=lambda report: report.number):
        if not report.worker:
            continue
        share = shares.setdefault(report.worker, {"shards": 0, "texts": 0, "encode_s": 0.0})
        share["shards"] += 1
        share["texts"] += report.texts
        share["encode_s"] += report.encode_s
    for share in shares.values():
        share["texts_per_s"] = share["texts"] / share["encode_s"] if share["encode_s"] > 0 else 0.0
    return dict(sorted(shares.items()))


@dataclass(frozen=True)
class EncodingStatus:
    """How an encoding was obtained in this run: what was computed, what was reused, at what cost."""

    shards: int
    computed_shards: int
    texts_encoded: int
    encode_s: float  # seconds spent encoding in this run
    reused_encode_s: float  # what the reused shards cost when they were computed
    location: str

    stored: bool = True  # False: encoded in memory, the encoder's vectors cannot be stored (BM25)
    workers: dict[str, dict[str, float]] = field(default_factory=dict)  # per Ray worker; empty when encoded here
    damaged_shards: int = 0  # found damaged, moved aside and encoded again (counted in computed_shards)

    @property
    def cost_s(self) -> float:
        """What encoding these texts costs, whichever run paid for each shard."""
        return self.encode_s + self.reused_encode_s

    @property
    def status(self) -> str:
        if self.computed_shards == 0:
            return "reused"
        return "computed" if self.computed_shards == self.shards else "partly reused"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "shards": self.shards,
            "computed_shards": self.computed_shards,
            "reused_shards": self.shards - self.computed_shards,
            "texts_encoded": self.texts_encoded,
            "encode_s": self.encode_s,
            "reused_encode_s": self.reused_encode_s,
            "store": self.location if self.stored else None,
            **({} if self.stored else {"not_stored": "the encoder's vectors depend on more than each text"}),
            **({"workers": self.workers} if self.workers else {}),
            **({"damaged_shards": self.damaged_shards} if self.damaged_shards else {}),
        }


@dataclass(frozen=True)
class StoredEncoding:
    """An encoding as shards; row i of shard j is text `j * shard_size + i`."""

    shards: tuple[Representation, ...]
    status: EncodingStatus

    def whole(self) -> Representation:
        """Every shard in one in-memory representation (for indexes that need all vectors at once)."""
        return concatenate(self.shards)


class EmbeddingStore:
    """Encodes texts through the store: shards already stored are read back, missing ones are encoded.

    `shard_size` None sizes each entry's shards from its texts (`shard_size_for`). A damaged stored shard is
    moved aside and encoded again, said through `on_note` (default: a warning); with `recompute_damaged=False`
    it raises `DamagedShard` instead. Checksums are verified once per shard per store object: a run keeps
    one, so a corpus its units share is hashed once. `on_commit` hears of each shard this run put in place
    (its folder), so a run stopped early can say truthfully whether it left any.
    """

    def __init__(
        self,
        root: Path,
        shard_size: int | None = None,
        dtype: StoredDtype = "float32",
        recompute_damaged: bool = True,
        on_note: Callable[[str], None] | None = None,
        on_commit: Callable[[Path], None] | None = None,
    ) -> None:
        if shard_size is not None and shard_size < 1:
            raise InputError("the shard size must be at least 1 text", key="--shard-size")
        self.root = root
        self.shard_size = shard_size
        self.dtype = dtype
        self.recompute_damaged = recompute_damaged
        self._say = on_note or (lambda text: warnings.warn(text, stacklevel=3))
        self._on_commit = on_commit
        self._verified: set[tuple[Any, ...]] = set()  # shards whose checksums matched, as their files were then

    def _entry(self, encoder: Encoder, role: Role, language: str, texts: Sequence[str]) -> tuple[Path, dict[str, Any]]:
        """The entry's folder, and the identity its model folder's name hashes."""
        identity = {
            "store_version": STORE_VERSION,
            "card": encoder.card.name,
            "card_sha256": encoder.card.sha256,
            "adapter": encoder.card.adapter,
            "output": encoder.output_identity(),
            "stored_dtype": self.dtype,
        }
        size = shard_size_for(len(texts), self.shard_size)
        name = f"{role}.{language}.{texts_digest(texts)[:20]}.n{len(texts)}.s{size}"
        return self.root / f"{encoder.card.name}-{_digest(identity)[:16]}" / name, identity

    def encode(
        self,
        encoder: Encoder,
        texts: Sequence[str],
        language: str,
        role: Role,
        progress: ProgressCallback | None = None,
        on_shard: Callable[[int, int], None] | None = None,
        executor: ShardExecutor | None = None,
    ) -> StoredEncoding:
        """The encoding of `texts`, from the store where it has it; `on_shard(done, total)` after each shard.

        The missing shards are encoded by `executor` (a Ray pool, `harness.run.distributed`), else here, one
        after the other; either way each goes through `encode_shard`.
        """
        entry = self.open_entry(encoder, texts, language, role)
        size = shard_size_for(len(texts), self.shard_size)
        n_shards = max(1, -(-len(texts) // size))
        stored, damaged = self._stored_shards(entry, encoder.family, len(texts), size, n_shards)
        jobs: list[ShardJob] = []
        reused_s = 0.0
        for number in range(n_shards):
            first = number * size
            chunk = texts[first : first + size]
            if number in stored:
                reused_s += float(stored[number][1].get("encode_s", 0.0))
                if progress:
                    progress(len(chunk))
            else:
                jobs.append(ShardJob(entry, number, first, tuple(chunk), language, role))
        if executor is not None and jobs:
            reports = executor.encode_shards(self, encoder, jobs, progress)
        else:
            reports = [self.encode_shard(encoder, job, progress) for job in jobs]
        vocabulary = stored_vocabulary(entry)
        shards: dict[Path, Representation] = {}
        for number in range(n_shards):
            folder = shard_folder(entry, number)
            rows = _rows(number, len(texts), size)
            shard = stored[number] if number in stored else self._read(folder, encoder.family, vocabulary, rows)
            shards[folder] = shard[0]
            if on_shard:
                on_shard(number + 1, n_shards)
        for damage in odd_widths(shards):
            raise damage  # a shard just encoded is not as wide as the others: nothing to encode again
        computed = [report for report in reports if report.computed]
        status = EncodingStatus(
            n_shards,
            len(computed),
            sum(report.texts for report in computed),
            sum(report.encode_s for report in computed),
            reused_s,
            str(entry),
            workers=worker_shares(computed),
            damaged_shards=damaged,
        )
        return StoredEncoding(tuple(shards.values()), status)

    def _stored_shards(
        self, entry: Path, family: str, texts: int, size: int, n_shards: int
    ) -> tuple[dict[int, tuple[Representation, dict[str, Any]]], int]:
        """The entry's stored shards (of `size` texts) that pass their checks, and how many did not: each of
        those is moved aside (to be encoded again) or, without `recompute_damaged`, refused."""
        vocabulary = stored_vocabulary(entry)
        stored: dict[int, tuple[Representation, dict[str, Any]]] = {}
        damaged: dict[int, DamagedShard] = {}
        for number in range(n_shards):
            folder = shard_folder(entry, number)
            if folder.is_dir():
                try:
                    stored[number] = self._read(folder, family, vocabulary, _rows(number, texts, size))
                except DamagedShard as damage:
                    damaged[number] = damage
        numbers = {shard_folder(entry, number): number for number in stored}
        for damage in odd_widths({folder: stored[number][0] for folder, number in numbers.items()}):
            assert damage.path is not None
            damaged[numbers[damage.path.parent]] = damage
            del stored[numbers[damage.path.parent]]
        for number, damage in sorted(damaged.items()):
            self._set_aside(shard_folder(entry, number), damage)
        return stored, len(damaged)

    def _read(
        self, folder: Path, family: str, vocabulary: Vocabulary | None, rows: int
    ) -> tuple[Representation, dict[str, Any]]:
        """`read_shard`, verifying the checksums unless this store verified the shard's files as they are."""
        signature = _files_signature(folder)
        shard = read_shard(folder, family, vocabulary, rows, self.dtype, verify=signature not in self._verified)
        self._verified.add(signature)
        return shard

    def _set_aside(self, folder: Path, damage: DamagedShard) -> None:
        """Move a damaged shard aside and say so, or refuse it (`recompute_damaged=False`)."""
        assert damage.path is not None
        if not self.recompute_damaged:
            raise DamagedShard(
                f"damaged stored shard ({damage.reason}); rerun without --no-recompute to move it aside and "
                "encode it again",
                path=damage.path,
                key="--no-recompute",
            )
        aside = set_aside(folder)
        self._say(
            f"{folder}: damaged stored shard ({damage.path.name}: {damage.reason}); moved aside as {aside.name} "
            "and encoded again"
        )

    def open_entry(self, encoder: Encoder, texts: Sequence[str], language: str, role: Role) -> Path:
        """The entry's folder, created with its `entry.json` (and a killed writer's half shards removed)."""
        entry, identity = self._entry(encoder, role, language, texts)
        description = {
            "identity": identity,
            "role": role,
            "language": language,
            "texts": len(texts),
            "shard_size": shard_size_for(len(texts), self.shard_size),
            "family": encoder.family,
        }
        try:
            entry.mkdir(parents=True, exist_ok=True)
            if not (entry / ENTRY_FILE).is_file():
                _write_json(entry / ENTRY_FILE, description)
            _remove_stale_temporaries(entry)
        except OSError as error:
            raise write_failure(error, entry, "cannot write to the embedding store", "--cache-dir") from None
        return entry

    def encode_shard(self, encoder: Encoder, job: ShardJob, progress: ProgressCallback | None = None) -> ShardReport:
        """Encode one shard and commit it, unless it is stored already (then nothing is encoded).

        The one place a shard is computed, in this process or on a Ray worker: the entry must be the
        driver's (a worker on another node sees it only when the store is on a shared filesystem).
        """
        if not (job.entry / ENTRY_FILE).is_file():
            raise InputError(
                f"the embedding store entry is not visible on host {socket.gethostname()}: the store "
                "(--cache-dir) must be a folder every node of the cluster sees, e.g. on a shared filesystem",
                path=job.entry,
                key="--cache-dir",
            )
        folder = shard_folder(job.entry, job.number)
        if folder.is_dir():
            return ShardReport(job.number, len(job.texts), 0.0, computed=False)
        start = time.perf_counter()
        representation = encode_checked(encoder, job.texts, job.language, job.role, progress)
        seconds = time.perf_counter() - start
        if isinstance(representation, SparseRepresentation) and not (job.entry / "vocabulary.json").is_file():
            # Every shard of an entry has the same vocabulary (the model's): concurrent writers write the same file.
            try:
                _write_json(job.entry / "vocabulary.json", _vocabulary_to_json(representation.vocabulary))
            except OSError as error:
                raise write_failure(error, job.entry, "cannot write to the embedding store", "--cache-dir") from None
        self._commit(folder, representation, {"texts": len(job.texts), "encode_s": seconds, "first_text": job.first})
        return ShardReport(job.number, len(job.texts), seconds)

    def _commit(self, folder: Path, representation: Representation, meta: dict[str, Any]) -> None:
        """Write a shard beside its place and rename it in: a shard folder that exists is complete."""
        temporary = _temporary_name(folder)
        try:
            temporary.mkdir()
            arrays = write_shard_arrays(temporary, representation, self.dtype)
            _write_json(temporary / "meta.json", {**meta, "arrays": arrays})
            os.rename(temporary, folder)
        except OSError as error:
            shutil.rmtree(temporary, ignore_errors=True)
            if folder.is_dir():  # another run committed the same shard first: same content
                return
            raise write_failure(error, folder, "cannot write a shard of the embedding store") from None
        except BaseException:  # an interrupt (Ctrl-C, SIGTERM): the half shard goes, the committed ones stay
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        self.committed(folder)

    def committed(self, folder: Path) -> None:
        """Say a shard this run computed is in place (`on_commit`); a Ray pool says it of its workers' shards."""
        if self._on_commit is not None:
            self._on_commit(folder)


def _rows(number: int, texts: int, size: int) -> int:
    """Texts in shard `number` of an entry of `texts` texts in shards of `size`."""
    return min(size, texts - number * size)


def stored_encode_s(folder: Path) -> float:
    """What encoding a stored shard took when it was computed (its `meta.json`)."""
    path = folder / "meta.json"
    return _encode_s(_load_meta(path), path)


def _files_signature(folder: Path) -> tuple[Any, ...]:
    """A shard's files as they are now (name, inode, size, modification time): a file rewritten since its
    checksums were verified has another signature, and is verified again."""
    try:
        return (str(folder), *sorted((p.name, *_stat_of(p)) for p in folder.iterdir()))
    except OSError:
        return (str(folder), uuid.uuid4().hex)  # unlisted: verify (the read names what is wrong)


def _stat_of(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return status.st_ino, status.st_size, status.st_mtime_ns


def _temporary_name(folder: Path) -> Path:
    """`.shard-000003.<host>.<pid>.<random>.tmp`: whose it is, so a later run can tell a killed writer's."""
    return folder.with_name(f".{folder.name}.{_host()}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def _host() -> str:
    return socket.gethostname().replace(".", "_") or "host"


def _writer_is_gone(temporary: Path, now: float, older_than_s: float) -> bool:
    parts = temporary.name.split(".")
    host, pid = (parts[2], parts[3]) if len(parts) >= 6 else ("", "")
    if host == _host() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return now - temporary.stat().st_mtime > older_than_s


def _remove_stale_temporaries(entry: Path, older_than_s: float = 86_400.0) -> None:
    """Half-written shards of a killed run: its process is gone (or, from another host, a day old)."""
    now = time.time()
    for temporary in entry.glob(".shard-*.tmp"):
        try:
            if _writer_is_gone(temporary, now, older_than_s):
                shutil.rmtree(temporary, ignore_errors=True)
        except OSError:
            continue


def encode_in_memory(
    encoder: Encoder, texts: Sequence[str], language: str, role: Role, progress: ProgressCallback | None = None
) -> StoredEncoding:
    """An encoding that bypasses the store: one in-memory shard (BM25, whose weights need the whole corpus)."""
    start = time.perf_counter()
    representation = encode_checked(encoder, texts, language, role, progress)
    seconds = time.perf_counter() - start
    status = EncodingStatus(1, 1, len(texts), seconds, 0.0, "", stored=False)
    return StoredEncoding((representation,), status)
