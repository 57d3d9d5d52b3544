"""The temporary folder (TMPDIR), checked and named wherever the harness writes temporary files.

Python's `tempfile` quietly falls back to /tmp when TMPDIR is missing or unwritable, often a RAM-backed
folder: the opposite of what setting TMPDIR asked for. And a full disk under a temporary file names no
file (an unlinked file has no name; numpy's writes name none), so its error would not say where to make
room. Both end here in a line that names TMPDIR and the folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from harness.core.errors import HarnessError, InputError

VARIABLE = "TMPDIR"


def temporary_folder() -> Path:
    """Where temporary files go: $TMPDIR when set, refused when it is not a folder this process can write
    into; else Python's choice (/tmp). Read at each call, so a process that changes TMPDIR is followed."""
    named = os.environ.get(VARIABLE)
    if not named:
        try:
            return Path(tempfile.gettempdir())
        except FileNotFoundError as error:  # not one of /tmp, /var/tmp, /usr/tmp or the working folder is writable
            raise InputError(f"no writable temporary folder ({error}); set it to one", key=VARIABLE) from None
    folder = Path(named)
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"{reason}; set TMPDIR to a folder temporary files can go to", path=folder, key=VARIABLE)
    try:
        with tempfile.TemporaryFile(dir=folder):  # tried, since permissions lie to root
            pass
    except OSError as error:
        raise InputError(f"cannot write here: {error.strerror or error}", path=folder, key=VARIABLE) from None
    return folder


def temporary_write_error(folder: Path, what: str, cause: BaseException) -> HarnessError:
    """A failed write of `what` under the temporary folder (a full disk, a quota), as an error that names TMPDIR,
    the folder and the room left there (exit 1: the input is fine, the disk is not)."""
    reason = (cause.strerror if isinstance(cause, OSError) else None) or str(cause)
    try:
        room = f"{shutil.disk_usage(folder).free / 2**20:,.1f} MiB free"
    except OSError:
        room = "its free space unknown"
    return HarnessError(
        f"{folder} [{VARIABLE}]: cannot write {what} there ({reason}; {room}); "
        "free space there or set TMPDIR to a folder with room"
    )


@contextlib.contextmanager
def temporary_directory(prefix: str, what: str, parent: Path | None = None) -> Iterator[Path]:
    """A folder for `what`, removed at the end: in `parent` when given (whose errors name it already), else in
    the temporary folder, where a failed write inside it ends in `temporary_write_error`."""
    if parent is not None:
        with tempfile.TemporaryDirectory(prefix=prefix, dir=parent) as made:
            yield Path(made)
        return
    folder = temporary_folder()
    try:
        made = tempfile.TemporaryDirectory(prefix=prefix, dir=folder)
    except OSError as error:
        raise temporary_write_error(folder, what, error) from None
    with made:
        try:
            yield Path(made.name)
        except (OSError, HarnessError) as error:
            if not _names_a_path_in(error, Path(made.name)):
                raise
            raise temporary_write_error(folder, what, error) from None


def _names_a_path_in(error: BaseException, folder: Path) -> bool:
    """Whether an OS error's file, or a harness error's path, lies in `folder`: the failure was writing there."""
    named = getattr(error, "path", None) or getattr(error, "filename", None)
    return isinstance(named, str | bytes | os.PathLike) and Path(os.fsdecode(named)).is_relative_to(folder)
