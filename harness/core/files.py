"""Writing a file so that nobody sees half of it."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path


def atomic_write_text(path: Path, text: str) -> None:
    """Write beside `path`, then rename: a reader never sees half a file, a failure leaves none.
    The file gets the usual permissions (umask), so a published report is readable by a web server."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("x", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
# Names Windows reserves whatever the extension (`CON.txt` is the console too).
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
MAX_NAME_CHARACTERS = 100
"""Longer names are cut and end with a hash of the whole: a folder name and its files stay under every file
system's 255-byte limit."""


def safe_name(value: str) -> str:
    """`value` as one path component valid on Linux, macOS and Windows: characters outside `A-Za-z0-9._+-`
    become `_`, never `.`/`..` or a hidden name, never a name Windows reserves (`CON`, `aux.json`), never
    ending in a dot, at most MAX_NAME_CHARACTERS long. Distinct long values keep distinct names."""
    name = _UNSAFE.sub("_", value).strip("_").lstrip(".").rstrip(".") or "_"
    if name.split(".")[0].lower() in _RESERVED:
        name = f"_{name}"
    if len(name) > MAX_NAME_CHARACTERS:
        digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]
        name = f"{name[: MAX_NAME_CHARACTERS - 13].rstrip('.')}-{digest}"
    return name
