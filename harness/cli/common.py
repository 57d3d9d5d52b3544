"""What every command shares: consoles and turning harness errors into clear exits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.markup import escape

from harness.errors import HarnessError, InputError, SourceUnavailableError

console = Console()
error_console = Console(stderr=True)
# Tables of numbers read in CI logs and pipes, where rich would otherwise assume 80 columns and cut them.
log_console = console if console.is_terminal else Console(width=max(console.width, 160))

EXIT_INPUT = 2
EXIT_UNAVAILABLE = 3
EXIT_FAILURE = 1


def comma_list(value: str | None) -> list[str] | None:
    """`sw, te` -> ["sw", "te"]; None when the option was not given."""
    return [item.strip() for item in value.split(",") if item.strip()] if value else None


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """A harness error becomes one red line naming the file, line or key, and a non-zero exit."""
    try:
        yield
    except InputError as error:
        error_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INPUT) from None
    except SourceUnavailableError as error:
        error_console.print(f"[bold red]unavailable:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_UNAVAILABLE) from None
    except HarnessError as error:
        error_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILURE) from None
