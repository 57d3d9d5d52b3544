"""What the embedding store holds, pruning it and verifying it: the library behind `harness cache`."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.store.embeddings import (
    DAMAGED_PREFIX,
    ENTRY_FILE,
    DamagedShard,
    Representation,
    StoredDtype,
    odd_widths,
    read_json,
    read_shard,
    shard_folder,
    stored_vocabulary,
)

FAMILIES = ("dense", "sparse", "multivector")
DTYPES = ("float32", "float16")


@dataclass(frozen=True)
class StoreEntry:
    """One stored encoding: a model's vectors of one set of texts, in one role and language.

    An entry whose `entry.json` cannot be read has `unreadable` (why) and no model, role or counts: only
    `harness cache prune --all` or `--older-than` can tell it is to be removed."""

    path: Path
    model: str  # the card name
    role: str
    language: str
    texts: int
    shard_size: int
    shards: int  # committed
    expected_shards: int
    bytes: int
    modified: float  # seconds since the epoch, newest file
    family: str = "dense"
    dtype: StoredDtype = "float32"
    unreadable: str | None = None
    identity: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # entry.json's

    @property
    def complete(self) -> bool:
        return self.unreadable is None and self.shards == self.expected_shards

    @property
    def model_key(self) -> str:
        """The digest of the model's identity that names the model folder (`<card>-<digest>`): entries of one
        card with different keys were encoded with something different (weights, lengths, dtype...)."""
        return self.path.parent.name.rpartition("-")[2]

    @property
    def texts_key(self) -> str:
        """The digest of the texts, in order, from the entry folder's name (`<role>.<language>.<digest>...`)."""
        parts = self.path.name.split(".")
        return parts[2] if len(parts) > 2 else "?"

    @property
    def card_digest(self) -> str:
        """The card's SHA-256, as `entry.json` records it."""
        return str(self.identity.get("card_sha256", "?")).removeprefix("sha256:")

    @property
    def output(self) -> Mapping[str, Any]:
        """What the encoder's vectors depend on besides the texts (`Encoder.output_identity`)."""
        output = self.identity.get("output")
        return output if isinstance(output, dict) else {}

    def rows(self, number: int) -> int:
        """The texts of shard `number`."""
        return min(self.shard_size, self.texts - number * self.shard_size)


def _folder_size(folder: Path) -> tuple[int, float]:
    size, newest = 0, 0.0
    for path in folder.rglob("*"):
        if path.is_file():
            status = path.stat()
            size += status.st_size
            newest = max(newest, status.st_mtime)
    return size, newest


def _description(folder: Path) -> dict[str, Any]:
    """An entry's `entry.json`, checked: the counts and kinds a shard is read with."""
    path = folder / ENTRY_FILE
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("identity"), dict):
        raise InputError("not an entry description (no `identity`)", path=path)
    texts, shard_size = data.get("texts"), data.get("shard_size")
    if not (isinstance(texts, int) and texts >= 0 and isinstance(shard_size, int) and shard_size >= 1):
        raise InputError(f"texts {texts!r} and shard_size {shard_size!r} are not counts", path=path)
    if data.get("family") not in FAMILIES or data["identity"].get("stored_dtype") not in DTYPES:
        raise InputError(f"unknown family {data.get('family')!r} or stored dtype", path=path)
    return data


def _entry(folder: Path) -> StoreEntry:
    size, modified = _folder_size(folder)
    shards = sum(1 for shard in folder.glob("shard-*") if shard.is_dir())
    try:
        data = _description(folder)
    except InputError as error:
        return StoreEntry(folder, "?", "?", "?", 0, 0, shards, 0, size, modified, unreadable=error.reason)
    texts, shard_size = data["texts"], data["shard_size"]
    return StoreEntry(
        path=folder,
        model=str(data["identity"].get("card", folder.parent.name)),
        role=str(data.get("role", "?")),
        language=str(data.get("language", "?")),
        texts=texts,
        shard_size=shard_size,
        shards=shards,
        expected_shards=max(1, -(-texts // shard_size)),
        bytes=size,
        modified=modified,
        family=data["family"],
        dtype=data["identity"]["stored_dtype"],
        identity=data["identity"],
    )


def list_entries(root: Path) -> list[StoreEntry]:
    """Every entry under `root` (each folder `<model>/<entry>`), by model then role and language; an entry
    whose `entry.json` is missing or unreadable is listed too, marked `unreadable`."""
    return [_entry(folder) for folder in sorted(root.glob("*/*")) if folder.is_dir()]


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _leaves(item, f"{prefix}.{name}" if prefix else str(name))
    else:
        yield prefix, value


def identity_differences(entries: Sequence[StoreEntry]) -> dict[str, list[str]]:
    """Per card with entries under several model keys: the identity fields (dotted, e.g. `output.weights.path`)
    whose values differ between them, which is what sets its look-alike entries apart."""
    identities: dict[str, dict[str, dict[str, Any]]] = {}
    for entry in entries:
        if entry.unreadable is None:
            identities.setdefault(entry.model, {})[entry.model_key] = dict(_leaves(entry.identity))
    differences = {}
    for card, by_key in sorted(identities.items()):
        if len(by_key) > 1:
            names = sorted({name for leaves in by_key.values() for name in leaves})
            differences[card] = [n for n in names if len({repr(leaves.get(n)) for leaves in by_key.values()}) > 1]
    return differences


def select(
    entries: list[StoreEntry], model: str | None = None, older_than_days: float | None = None, incomplete: bool = False
) -> list[StoreEntry]:
    """The entries matching every criterion given; an unreadable entry matches none that needs its
    description (`model`, `incomplete`)."""
    now = time.time()
    chosen = []
    for entry in entries:
        if entry.unreadable is not None and (model is not None or incomplete):
            continue
        if model is not None and entry.model != model:
            continue
        if older_than_days is not None and now - entry.modified < older_than_days * 86_400:
            continue
        if incomplete and entry.complete:
            continue
        chosen.append(entry)
    return chosen


def remove(entries: list[StoreEntry]) -> int:
    """Delete the entries (and their model folders once empty); returns the bytes freed."""
    freed = 0
    for entry in entries:
        freed += entry.bytes
        shutil.rmtree(entry.path, ignore_errors=True)
        parent = entry.path.parent
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
    return freed


@dataclass(frozen=True)
class StoreCheck:
    """What `verify` found: the entries and shards checked, each damaged file (an error naming it and why),
    the shards written before checksums (checked for rows and shapes only) and the damaged shards that runs
    moved aside (kept to inspect)."""

    entries: int
    shards: int
    damaged: tuple[InputError, ...]
    without_checksums: int
    set_aside: tuple[Path, ...]


def _check_entry(entry: StoreEntry) -> tuple[list[InputError], int, int]:
    """One readable entry's damage, shards checked and shards without checksums."""
    try:
        vocabulary = stored_vocabulary(entry.path) if entry.family == "sparse" else None
    except InputError as error:
        return [error], 0, 0
    damaged: list[InputError] = []
    shards: dict[Path, Representation] = {}
    without_checksums = 0
    for number in range(entry.expected_shards):
        folder = shard_folder(entry.path, number)
        if not folder.is_dir():
            continue  # not encoded yet: the next run encodes it
        try:
            shards[folder], meta = read_shard(folder, entry.family, vocabulary, entry.rows(number), entry.dtype)
        except DamagedShard as damage:
            damaged.append(damage)
            continue
        without_checksums += "arrays" not in meta
    return damaged + odd_widths(shards), len(shards) + len(damaged), without_checksums


def verify(root: Path) -> StoreCheck:
    """Check every entry under `root`: its description, and each shard's rows, shapes and checksums (every
    stored byte is read once)."""
    entries = list_entries(root)
    damaged: list[InputError] = []
    shards = without_checksums = 0
    for entry in entries:
        if entry.unreadable is not None:
            damaged.append(InputError(entry.unreadable, path=entry.path / ENTRY_FILE))
            continue
        found, checked, unchecked = _check_entry(entry)
        damaged += found
        shards += checked
        without_checksums += unchecked
    set_aside = tuple(path for entry in entries for path in sorted(entry.path.glob(f"{DAMAGED_PREFIX}*")))
    return StoreCheck(len(entries), shards, tuple(damaged), without_checksums, set_aside)
