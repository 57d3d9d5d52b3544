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

Each family has its arrays: dense `vectors.npy` (float32, or float16 on request); sparse `data.npy`,
`indices.npy`, `indptr.npy` (CSR rows over the entry's vocabulary); multi-vector `vectors.npy` and
`offsets.npy` (ragged token vectors).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Sequence
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
DEFAULT_SHARD_SIZE = 16_384
ENTRY_FILE = "entry.json"
Role = Literal["query", "document"]
StoredDtype = Literal["float32", "float16"]


def default_store_dir() -> Path:
    """`$HARNESS_CACHE_DIR/embeddings`, else the user cache (`$XDG_CACHE_HOME` or `~/.cache`)/harness/embeddings."""
    explicit = os.environ.get("HARNESS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser() / "embeddings"
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "harness" / "embeddings"


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


def _write_array(folder: Path, name: str, array: np.ndarray) -> None:
    with (folder / f"{name}.npy").open("wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


def _read_array(folder: Path, name: str) -> np.ndarray:
    try:
        return np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        message = f"unreadable stored encoding ({error}); delete the folder to re-encode it"
        raise InputError(message, path=folder) from None


def _write_json(path: Path, value: Any) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=1, sort_keys=True, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"unreadable store file ({error}); delete the entry to re-encode it", path=path) from None


def write_shard_arrays(folder: Path, representation: Representation, dtype: StoredDtype) -> None:
    if isinstance(representation, DenseRepresentation):
        _write_array(folder, "vectors", representation.vectors.astype(dtype, copy=False))
    elif isinstance(representation, SparseRepresentation):
        matrix = representation.matrix.tocsr()
        _write_array(folder, "data", matrix.data.astype(np.float32, copy=False))
        _write_array(folder, "indices", matrix.indices)
        _write_array(folder, "indptr", matrix.indptr.astype(np.int64, copy=False))
    else:
        _write_array(folder, "vectors", representation.vectors.astype(dtype, copy=False))
        _write_array(folder, "offsets", representation.offsets.astype(np.int64, copy=False))


def read_shard(folder: Path, family: str, vocabulary: Vocabulary | None) -> Representation:
    """One shard, memory-mapped (nothing is read until used)."""
    if family == "dense":
        return DenseRepresentation(_read_array(folder, "vectors"))
    if family == "sparse":
        assert vocabulary is not None
        indptr = _read_array(folder, "indptr")
        matrix = sp.csr_matrix(
            (_read_array(folder, "data"), _read_array(folder, "indices"), indptr),
            shape=(len(indptr) - 1, len(vocabulary)),
            copy=False,
        )
        return SparseRepresentation(matrix, vocabulary)
    return MultiVectorRepresentation(_read_array(folder, "vectors"), np.asarray(_read_array(folder, "offsets")))


def _vocabulary_to_json(vocabulary: Vocabulary) -> dict[str, Any]:
    return {
        "name": vocabulary.name,
        "terms": list(vocabulary.terms),
        "views": [[view.name, view.start, view.stop] for view in vocabulary.views],
    }


def _vocabulary_from_json(data: dict[str, Any]) -> Vocabulary:
    views = tuple(VocabularyView(name, start, stop) for name, start, stop in data["views"])
    return Vocabulary(data["name"], data["terms"], views)


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
    """Encodes texts through the store: shards already stored are read back, missing ones are encoded."""

    def __init__(self, root: Path, shard_size: int = DEFAULT_SHARD_SIZE, dtype: StoredDtype = "float32") -> None:
        if shard_size < 1:
            raise InputError("the shard size must be at least 1 text", key="--shard-size")
        self.root = root
        self.shard_size = shard_size
        self.dtype = dtype

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
        name = f"{role}.{language}.{texts_digest(texts)[:20]}.n{len(texts)}.s{self.shard_size}"
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
        n_shards = max(1, -(-len(texts) // self.shard_size))
        jobs: list[ShardJob] = []
        reused_s = 0.0
        for number in range(n_shards):
            first = number * self.shard_size
            chunk = texts[first : first + self.shard_size]
            folder = shard_folder(entry, number)
            if folder.is_dir():
                reused_s += stored_encode_s(folder)
                if progress:
                    progress(len(chunk))
            else:
                jobs.append(ShardJob(entry, number, first, tuple(chunk), language, role))
        if executor is not None and jobs:
            reports = executor.encode_shards(self, encoder, jobs, progress)
        else:
            reports = [self.encode_shard(encoder, job, progress) for job in jobs]
        vocabulary = self._stored_vocabulary(entry)
        shards: list[Representation] = []
        for number in range(n_shards):
            shards.append(read_shard(shard_folder(entry, number), encoder.family, vocabulary))
            if on_shard:
                on_shard(number + 1, n_shards)
        computed = [report for report in reports if report.computed]
        status = EncodingStatus(
            n_shards,
            len(computed),
            sum(report.texts for report in computed),
            sum(report.encode_s for report in computed),
            reused_s,
            str(entry),
            workers=worker_shares(computed),
        )
        return StoredEncoding(tuple(shards), status)

    def open_entry(self, encoder: Encoder, texts: Sequence[str], language: str, role: Role) -> Path:
        """The entry's folder, created with its `entry.json` (and a killed writer's half shards removed)."""
        entry, identity = self._entry(encoder, role, language, texts)
        description = {
            "identity": identity,
            "role": role,
            "language": language,
            "texts": len(texts),
            "shard_size": self.shard_size,
            "family": encoder.family,
        }
        try:
            entry.mkdir(parents=True, exist_ok=True)
            if not (entry / ENTRY_FILE).is_file():
                _write_json(entry / ENTRY_FILE, description)
            _remove_stale_temporaries(entry)
        except OSError as error:
            message = f"cannot write to the embedding store: {error.strerror}"
            raise InputError(message, path=entry, key="--cache-dir") from None
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
            _write_json(job.entry / "vocabulary.json", _vocabulary_to_json(representation.vocabulary))
        self._commit(folder, representation, {"texts": len(job.texts), "encode_s": seconds, "first_text": job.first})
        return ShardReport(job.number, len(job.texts), seconds)

    def _stored_vocabulary(self, entry: Path) -> Vocabulary | None:
        path = entry / "vocabulary.json"
        return _vocabulary_from_json(_read_json(path)) if path.is_file() else None

    def _commit(self, folder: Path, representation: Representation, meta: dict[str, Any]) -> None:
        """Write a shard beside its place and rename it in: a shard folder that exists is complete."""
        temporary = _temporary_name(folder)
        try:
            temporary.mkdir()
            write_shard_arrays(temporary, representation, self.dtype)
            _write_json(temporary / "meta.json", meta)
            os.rename(temporary, folder)
        except OSError as error:
            shutil.rmtree(temporary, ignore_errors=True)
            if folder.is_dir():  # another run committed the same shard first: same content
                return
            raise InputError(f"cannot write a shard of the embedding store: {error.strerror}", path=folder) from None
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise


def stored_encode_s(folder: Path) -> float:
    """What encoding a stored shard took when it was computed (its `meta.json`)."""
    return float(_read_json(folder / "meta.json").get("encode_s", 0.0))


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
