"""Errors that carry the place at fault, so a user can fix their input without reading a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class HarnessError(Exception):
    """Any failure the CLI reports as a one-line message and a non-zero exit."""


class InputError(HarnessError):
    """Bad user input: a data file, a card or a suite, optionally pinned to a line or a key."""

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.key = key
        self.reason = message
        super().__init__(self._render())

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole (a Ray worker's error reaches the driver with its path, line and key)."""
        return (type(self), (self.reason, self.path, self.line, self.key))

    @classmethod
    def from_validation(cls, error: Any, path: str | Path | None = None, prefix: str | None = None) -> InputError:
        """The first problem a pydantic `ValidationError` names, keyed by its dotted location (after `prefix`)."""
        first = error.errors()[0]
        parts = [prefix] if prefix else []
        parts += [str(part) for part in first["loc"]]
        return cls(first["msg"], path=path, key=".".join(parts) or None)

    def _render(self) -> str:
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += f":{self.line}"
        if self.key is not None:
            where = f"{where} [{self.key}]" if where else f"[{self.key}]"
        return f"{where}: {self.reason}" if where else self.reason


class SourceUnavailableError(HarnessError):
    """A dataset or model source cannot be reached; the message says how to work offline."""
