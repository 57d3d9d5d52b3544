"""Corpus texts kept on disk while a run reads them, so a corpus of tens of millions of passages does not sit in RAM.

The texts are read once from their source and spilled, UTF-8 encoded, into a temporary file that is unlinked as soon
as it is created, so nothing is left behind when the process ends, even by SIGKILL. It lives under TMPDIR: point that
at a disk where /tmp is RAM-backed. Memory holds one 8-byte offset per text. A text is read back with `pread` when
asked for, and a slice (an encoding batch, a store shard) with one read of its bytes; going through the file rather
than a memory map leaves the page cache to the kernel instead of growing the process's resident set. Lone
surrogates, which JSON escapes can carry, survive the round trip.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, NoReturn, overload

from harness.core.errors import HarnessError
from harness.core.temporary import temporary_folder, temporary_write_error

_WRITE_BUFFER = 1 << 20
_WHAT = "the corpus's texts"  # what a failed write was writing, as errors say it


class TextColumn(Sequence[str]):
    """A read-only sequence of strings backed by an unlinked temporary file; build it with `TextColumnWriter`."""

    def __init__(self, handle: IO[bytes], ends: array) -> None:
        self._handle = handle
        self._ends = ends

    @classmethod
    def of(cls, texts: Iterable[str]) -> TextColumn:
        writer = TextColumnWriter()
        for text in texts:
            writer.append(text)
        return writer.finish()

    def __len__(self) -> int:
        return len(self._ends)

    def _bounds(self, row: int) -> tuple[int, int]:
        return (self._ends[row - 1] if row else 0), self._ends[row]

    def _read(self, start: int, stop: int) -> bytes:
        return os.pread(self._handle.fileno(), stop - start, start) if stop > start else b""

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            rows = range(*index.indices(len(self)))
            if rows.step != 1 or not rows:
                return [self[row] for row in rows]
            first, _ = self._bounds(rows.start)
            _, last = self._bounds(rows.stop - 1)
            block = self._read(first, last)
            texts = []
            for row in rows:
                start, stop = self._bounds(row)
                texts.append(block[start - first : stop - first].decode("utf-8", "surrogatepass"))
            return texts
        start, stop = self._bounds(range(len(self))[index])
        return self._read(start, stop).decode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        step = 4096
        for start in range(0, len(self), step):
            yield from self[start : start + step]

    def __reduce__(self) -> NoReturn:
        raise TypeError("a TextColumn lives in this process's temporary file: send slices of it, not the column")

    @property
    def size_bytes(self) -> int:
        """The UTF-8 bytes on disk."""
        return self._ends[-1] if self._ends else 0


class TextColumnWriter:
    """Appends texts to a fresh column; `finish` hands the column over and the writer is done."""

    def __init__(self) -> None:
        self._folder = temporary_folder()
        try:
            # Open for the column's life, closed (and its space freed) when the column is collected.
            self._handle: IO[bytes] = tempfile.TemporaryFile(buffering=_WRITE_BUFFER, dir=self._folder)  # noqa: SIM115
        except OSError as error:
            raise temporary_write_error(self._folder, _WHAT, error) from None
        self._ends = array("q")
        self._size = 0

    def append(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        try:
            self._handle.write(data)
        except OSError as error:
            raise self._failed(error) from None
        self._size += len(data)
        self._ends.append(self._size)

    def finish(self) -> TextColumn:
        try:
            self._handle.flush()
        except OSError as error:
            raise self._failed(error) from None
        return TextColumn(self._handle, self._ends)

    def _failed(self, error: OSError) -> HarnessError:
        """The write error of a full TMPDIR names no file (the file is unlinked): say where, and free the file."""
        with contextlib.suppress(OSError):  # closing flushes the rest of the buffer, which fails the same way
            self._handle.close()
        return temporary_write_error(self._folder, _WHAT, error)
