"""Translations kept on disk, so a query set is translated once per model and settings, ever.

One SQLite file holds every entry, keyed by a SHA-256 over (model, revision, generation
settings, source language, target language, text). Each batch is committed as it is produced,
so an interrupted run keeps what it translated; SQLite's own locking makes concurrent runs safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def default_cache_dir() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "harness" / "translations"


@dataclass(frozen=True)
class TranslationKey:
    """Everything a translation depends on besides the text."""

    model: str
    revision: str
    settings: Mapping[str, Any]
    source_language: str
    target_language: str

    def of(self, text: str) -> str:
        payload = [self.model, self.revision, dict(sorted(self.settings.items())), self.source_language]
        payload += [self.target_language, text]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode("utf-8")).hexdigest()


class TranslationCache:
    FILE_NAME = "translations.sqlite"

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / self.FILE_NAME
        self._connection = sqlite3.connect(self.path, timeout=60)
        with self._connection:
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS translations (key TEXT PRIMARY KEY, model TEXT, revision TEXT, "
                "source_language TEXT, target_language TEXT, text TEXT, translation TEXT, created_at TEXT)"
            )

    def get_many(self, key: TranslationKey, texts: Iterable[str]) -> dict[str, str]:
        """Cached translations of those `texts` that have one, by text."""
        by_key = {key.of(text): text for text in texts}
        found: dict[str, str] = {}
        keys = list(by_key)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self._connection.execute(
                f"SELECT key, translation FROM translations WHERE key IN ({','.join('?' * len(chunk))})", chunk
            )
            for row_key, translation in rows:
                found[by_key[row_key]] = translation
        return found

    def put_many(self, key: TranslationKey, texts: Sequence[str], translations: Sequence[str]) -> None:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rows = [
            (key.of(text), key.model, key.revision, key.source_language, key.target_language, text, out, now)
            for text, out in zip(texts, translations, strict=True)
        ]
        with self._connection:
            self._connection.executemany("INSERT OR REPLACE INTO translations VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def close(self) -> None:
        self._connection.close()
