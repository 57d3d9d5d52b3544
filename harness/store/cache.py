"""What the embedding store holds, and pruning it: the library behind `harness cache`."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness.store.embeddings import ENTRY_FILE


@dataclass(frozen=True)
class StoreEntry:
    """One stored encoding: a model's vectors of one set of texts, in one role and language."""

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

    @property
    def complete(self) -> bool:
        return self.shards == self.expected_shards


def _folder_size(folder: Path) -> tuple[int, float]:
    size, newest = 0, 0.0
    for path in folder.rglob("*"):
        if path.is_file():
            status = path.stat()
            size += status.st_size
            newest = max(newest, status.st_mtime)
    return size, newest


def list_entries(root: Path) -> list[StoreEntry]:
    """Every entry under `root`, by model then role and language; folders that are not entries are skipped."""
    entries = []
    for description in sorted(root.glob(f"*/*/{ENTRY_FILE}")):
        try:
            data = json.loads(description.read_text(encoding="utf-8"))
            texts, shard_size = int(data["texts"]), int(data["shard_size"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        folder = description.parent
        size, modified = _folder_size(folder)
        entries.append(
            StoreEntry(
                path=folder,
                model=str(data.get("identity", {}).get("card", folder.parent.name)),
                role=str(data.get("role", "?")),
                language=str(data.get("language", "?")),
                texts=texts,
                shard_size=shard_size,
                shards=sum(1 for shard in folder.glob("shard-*") if shard.is_dir()),
                expected_shards=max(1, -(-texts // shard_size)),
                bytes=size,
                modified=modified,
            )
        )
    return entries


def select(
    entries: list[StoreEntry], model: str | None = None, older_than_days: float | None = None, incomplete: bool = False
) -> list[StoreEntry]:
    """The entries matching every criterion given."""
    now = time.time()
    chosen = []
    for entry in entries:
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
