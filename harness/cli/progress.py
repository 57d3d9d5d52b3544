"""Progress wherever stderr goes: rich bars on a terminal, plain timed lines in a log (a batch job, Slurm, CI,
a redirect), nothing with `--quiet`; and other libraries' bars and info lines kept out of it unless `--verbose`.

The run API emits progress (`RunEvents.progress`: `task(description, total)` yielding `advance(n)`); this
module only renders it. A log line looks like

    encode documents all-minilm-l6-v2 · scifact · en: 1,024/5,183 (19.8%) 41.2 texts/s, ETA 1m41s

and comes at a stage's start, every `--progress-every` seconds while it advances, and at its end.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress

from harness.cli.common import error_console

if TYPE_CHECKING:
    from harness.encode import ProgressCallback
    from harness.run.runner import Progress as RunProgress

DEFAULT_EVERY_S = 30.0
QUERY_STAGES = ("encode queries", "search")  # the run's stages that count queries; the others count texts
# Loggers whose info lines (ir_datasets' `[INFO] [starting] ...`, CodeCarbon's start-up) are not ours to print.
CHATTY_LOGGERS = ("ir_datasets", "codecarbon")
HUB_BARS_VARIABLE = "HF_HUB_DISABLE_PROGRESS_BARS"  # a user who set it decides for the hub's bars

ProgressEveryOption = Annotated[
    float,
    typer.Option(
        "--progress-every",
        min=0.0,
        metavar="SECONDS",
        help="When stderr is not a terminal (a log, a batch job), print each stage's progress this often, "
        "besides at its start and end.",
    ),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print no progress (results, notes and errors still print).")
]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Let other libraries print their progress bars and info lines too (model loading, downloads, "
        "ir_datasets, CodeCarbon).",
    ),
]


def duration(seconds: float) -> str:
    """`45s`, `1m41s`, `2h03m`: short enough for a log line, exact enough for an ETA."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def progress_line(
    stage: str, done: int, total: int, unit: str, rate: float | None = None, took_s: float | None = None
) -> str:
    """One stage's progress as a log line: done/total, the share done, the rate (`unit`s per second) and what
    is left: the ETA at that rate while it runs, the time it took once it ended (`took_s`)."""
    share = f" ({100 * done / total:.1f}%)" if total else ""
    line = f"{stage}: {done:,}/{total:,}{share}"
    if rate is not None:
        line += f" {rate:,.1f} {unit}/s"
    if took_s is not None:
        return f"{line}, took {duration(took_s)}"
    if rate and done < total:
        return f"{line}, ETA {duration((total - done) / rate)}"
    return line


class LogProgress:
    """Each stage as plain lines: at its start, then at most every `every_s` seconds as it advances, and at its
    end (not when it stops early: the error line says that). A line's rate is that since the line before (a
    resumed encoding's stored shards, counted at once, do not make the ETA of the rest look short); the end
    line's is the stage's mean. `clock` is injectable, so tests need not sleep."""

    def __init__(
        self,
        write: Callable[[str], None],
        every_s: float = DEFAULT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._every_s = every_s
        self._clock = clock

    @contextlib.contextmanager
    def task(self, description: str, total: int) -> Iterator[ProgressCallback]:
        stage = " ".join(description.split())  # the bars' column padding
        unit = "queries" if stage.startswith(QUERY_STAGES) else "texts"
        start = last = self._clock()
        done = last_done = 0
        self._write(progress_line(stage, done, total, unit))

        def advance(count: int) -> None:
            nonlocal done, last, last_done
            done += count
            now = self._clock()
            if now - last >= self._every_s and now > last:
                rate = (done - last_done) / (now - last)
                last, last_done = now, done
                self._write(progress_line(stage, done, total, unit, rate))

        yield advance
        took = self._clock() - start
        self._write(progress_line(stage, done, total, unit, done / took if took > 0 else None, took))


class RichProgress:
    """One bar per stage, removed when the stage ends, so long runs stay readable."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    @contextlib.contextmanager
    def task(self, description: str, total: int) -> Iterator[ProgressCallback]:
        task_id = self._progress.add_task(description, total=total)
        try:
            yield lambda advanced: self._progress.advance(task_id, advanced)
        finally:
            self._progress.remove_task(task_id)


def progress_bars(*, remaining: bool = True) -> Progress:
    """Progress bars on stderr, a terminal (`remaining`: with the time left)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    if remaining:
        columns.append(TimeRemainingColumn())
    return Progress(*columns, console=error_console)


def _say(line: str) -> None:
    error_console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)


@contextlib.contextmanager
def command_progress(quiet: bool, every_s: float, *, remaining: bool = True) -> Iterator[RunProgress]:
    """How a command shows its progress: nothing when `quiet`, bars on a terminal, else timed log lines."""
    if quiet:
        from harness.run.runner import SilentProgress

        yield SilentProgress()
    elif error_console.is_terminal:
        with progress_bars(remaining=remaining) as bars:
            yield RichProgress(bars)
    else:
        yield LogProgress(_say, every_s)


class _BelowError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


@contextlib.contextmanager
def library_chatter(verbose: bool) -> Iterator[None]:
    """Other libraries' progress bars (transformers' `Loading weights`, the hub's downloads) and info lines
    (ir_datasets, CodeCarbon) off for one command unless `verbose`, and as they were after it: the CLI
    decides for its command, a Python caller of the library keeps the libraries' own defaults.

    The loggers get a filter (ir_datasets sets its logger's level itself on first use, so a level would not
    hold); the hub's bars are switched off through its API (transformers reads that switch when it is
    imported) and transformers' own switch, where it is imported already, is set beside it.
    """
    if verbose:
        yield
        return
    muted = _BelowError()
    loggers = [logging.getLogger(name) for name in CHATTY_LOGGERS]
    for logger in loggers:
        logger.addFilter(muted)
    with _hub_bars_off():
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeFilter(muted)


@contextlib.contextmanager
def _hub_bars_off() -> Iterator[None]:
    if HUB_BARS_VARIABLE in os.environ:
        yield
        return
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    hub_was_off = are_progress_bars_disabled()
    transformers_was_on = _transformers_bars()
    disable_progress_bars()
    _set_transformers_bars(False)
    try:
        yield
    finally:
        if not hub_was_off:
            enable_progress_bars()
        # Imported during the command, transformers took the switch off from the hub: put back what it would
        # have read had it been imported now.
        _set_transformers_bars(not hub_was_off if transformers_was_on is None else transformers_was_on)


def _transformers_bars() -> bool | None:
    """Whether transformers draws its bars; None when it is not imported (importing it takes a second)."""
    module = sys.modules.get("transformers.utils.logging")
    return None if module is None else bool(module.is_progress_bar_enabled())


def _set_transformers_bars(on: bool) -> None:
    module = sys.modules.get("transformers.utils.logging")
    if module is not None:
        (module.enable_progress_bar if on else module.disable_progress_bar)()
