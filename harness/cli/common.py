"""What every command shares: consoles and turning every failure into one clear line and an exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from harness.core.errors import HarnessError, InputError, SourceUnavailableError

console = Console()
error_console = Console(stderr=True)
# Tables of numbers read in CI logs and pipes, where rich would otherwise assume 80 columns and cut them.
log_console = console if console.is_terminal else Console(width=max(console.width, 160))

# Exit codes, the same for every command (README "Exit codes").
EXIT_FAILURE = 1  # anything else went wrong: a full disk, a library error
EXIT_INPUT = 2  # the input is wrong: a data file, a card, a suite, an option
EXIT_UNAVAILABLE = 3  # a source cannot be reached (offline, not cached)
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, what shells report
EXIT_TERMINATED = 143  # SIGTERM (a Slurm time limit, a Kubernetes eviction, `kill`): 128 + 15

TRACEBACK_VARIABLE = "HARNESS_TRACEBACK"
"""Set to 1 to see the traceback of an unexpected error instead of its one-line summary."""


def comma_list(value: str | None) -> list[str] | None:
    """`sw, te` -> ["sw", "te"]; None when the option was not given."""
    return [item.strip() for item in value.split(",") if item.strip()] if value else None


def announce_results(paths: list[Path]) -> Callable[[Path], None]:
    """An `on_result` callback that says each result written and remembers it in `paths` (for `kept_results`)."""

    def wrote(path: Path) -> None:
        paths.append(path)
        error_console.print(f"wrote {escape(str(path))}", highlight=False, soft_wrap=True)  # whole in a log

    return wrote


def kept_results(paths: Sequence[Path], advice: str | None = None) -> str | None:
    """What a command stopped early leaves behind, as a sentence; None when it wrote nothing."""
    if not paths:
        return None
    shown = ", ".join(str(path) for path in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    sentence = f"kept {len(paths)} result{'s' if len(paths) > 1 else ''} already written ({shown})"
    return f"{sentence}; {advice}" if advice else sentence


def _describe_failure(error: BaseException) -> str:
    """An exception that is not a harness error, in one line: the path an OS error names, else its type."""
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename is not None else ""
        return f"{where}{error.strerror}"
    if isinstance(error, MemoryError):
        return "out of memory" + (f" ({error})" if str(error) else "") + "; try a smaller --batch-size or --k"
    if isinstance(error, EOFError | zlib.error):
        reason = "a compressed file ends early or is corrupt"
        return f"{reason} ({error}); set {TRACEBACK_VARIABLE}=1 to see which read failed"
    return f"{type(error).__name__}: {error} (set {TRACEBACK_VARIABLE}=1 for the traceback)"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, so it unwinds as Ctrl-C does: a half-written shard or result is
    removed, what was kept is said."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises `Terminated` while the command runs; the handler before is put back after. Outside the
    main thread (where Python runs signal handlers) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def reported_errors(kept: Callable[[], str | None] | None = None) -> Iterator[None]:
    """Every failure becomes one red line and an exit code, never a traceback.

    2 for bad input (the line names the file, line, key or option), 3 for an unreachable source,
    1 for any other failure (an OS error names its path), 130 for Ctrl-C and 143 for SIGTERM (handled
    like Ctrl-C while the command runs). `kept` says what the command had already written when it
    stopped; that sentence ends the line.
    """

    def stop(label: str, message: str, code: int, nothing_kept: str | None = None) -> None:
        sentence = (kept() if kept else None) or nothing_kept
        line = f"{message}; {sentence}" if sentence else message
        error_console.print(f"[bold red]{label}:[/] {escape(line)}", highlight=False, soft_wrap=True)
        raise typer.Exit(code) from None

    try:
        with sigterm_as_interrupt():
            yield
    except (typer.Exit, typer.BadParameter):  # the command's own exit code, and usage errors typer reports
        raise
    except Terminated:
        nothing = "nothing was written" if kept else None
        stop("terminated", "stopped by SIGTERM before finishing", EXIT_TERMINATED, nothing)
    except (KeyboardInterrupt, typer.Abort):
        stop("interrupted", "stopped before finishing", EXIT_INTERRUPTED, "nothing was written" if kept else None)
    except InputError as error:
        stop("error", str(error), EXIT_INPUT)
    except SourceUnavailableError as error:
        stop("unavailable", str(error), EXIT_UNAVAILABLE)
    except HarnessError as error:
        stop("error", str(error), EXIT_FAILURE)
    except Exception as error:
        if os.environ.get(TRACEBACK_VARIABLE, "") not in ("", "0"):
            raise
        stop("error", _describe_failure(error), EXIT_FAILURE)
