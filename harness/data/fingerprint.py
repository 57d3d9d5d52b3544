"""A cheap fingerprint of the data a unit reads, taken before reading it, so a kept result can tell its data changed.

A result records the fingerprint its data had when the run planned it (`harness.run.keys` says how a rerun
uses it). It holds two kinds of entries, by role:

- `content`: a SHA-256 of the bytes of small files, the queries and the judgements. Two different digests
  mean different data, so a result whose content digest changed is recomputed at once.
- `stamps`: what stands for a file too large to hash on every rerun (the corpus: its files' names, sizes and
  modification times), or for content a source pins by name (an ir_datasets release). Equal stamps are
  taken as equal data; different stamps only raise a doubt (a copied folder has new modification times and
  the same bytes), settled by the full checksum of the data once loaded.

A source that cannot say which local files it will read without the network (a Hugging Face dataset not
yet in the cache) has no fingerprint: its results are checked against that full checksum after loading.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.data.formats import sha256_of_files


@dataclass(frozen=True)
class DataFingerprint:
    content: Mapping[str, str]  # role -> SHA-256 of its files' bytes: a difference is a change
    stamps: Mapping[str, str]  # role -> digest of sizes and times, or a pinned release: a difference is a doubt

    def to_dict(self) -> dict[str, Any]:
        return {"content": dict(sorted(self.content.items())), "stamps": dict(sorted(self.stamps.items()))}

    @classmethod
    def from_dict(cls, raw: Any) -> DataFingerprint | None:
        """The fingerprint a result recorded; None when it recorded none (or something unreadable)."""
        if not isinstance(raw, Mapping):
            return None
        content, stamps = raw.get("content"), raw.get("stamps")
        if not isinstance(content, Mapping) or not isinstance(stamps, Mapping):
            return None
        return cls({str(k): str(v) for k, v in content.items()}, {str(k): str(v) for k, v in stamps.items()})

    def changed(self, recorded: DataFingerprint) -> list[str]:
        """The roles whose bytes differ from the recorded ones: their data certainly changed."""
        return [role for role, digest in sorted(self.content.items()) if recorded.content.get(role, digest) != digest]

    def doubtful(self, recorded: DataFingerprint) -> list[str]:
        """The roles that may have changed: different stamps, or a role only one of the two fingerprints has."""
        roles = sorted(set(self.stamps) | set(recorded.stamps))
        unmatched = sorted(set(self.content) ^ set(recorded.content))
        return [role for role in roles if self.stamps.get(role) != recorded.stamps.get(role)] + unmatched


@dataclass(frozen=True)
class DataFiles:
    """The local files a unit's data is read from, found without reading them: the small ones hashed in full
    by role, the corpus stamped by size and modification time."""

    content: Mapping[str, Sequence[Path]]
    corpus: Sequence[Path]

    def present(self) -> bool:
        return all(path.is_file() for paths in (*self.content.values(), self.corpus) for path in paths)

    def fingerprint(self) -> DataFingerprint:
        content = {role: sha256_of_files(paths) for role, paths in self.content.items() if paths}
        return DataFingerprint(content, {"corpus": file_stamps(self.corpus)})


def file_stamps(paths: Sequence[Path]) -> str:
    """A digest of each file's name, size and modification time (in nanoseconds): it changes when a file is
    rewritten, without reading the file."""
    digest = hashlib.sha256()
    for path in paths:
        status = path.stat()
        digest.update(f"{path.name}\x1f{status.st_size}\x1f{status.st_mtime_ns}\x1e".encode())
    return "stat:" + digest.hexdigest()
