"""Positional arguments blamed by their own name: the library keys an error by the option it knows (`--suite`,
`--model`), which a command taking that value as an argument (`harness list suites NAME`) renames."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from harness.core.errors import InputError


@contextmanager
def argument(name: str, option: str) -> Iterator[None]:
    """Inside, an input error keyed by `option` is keyed by `name`, the argument as the usage line spells it."""
    try:
        yield
    except InputError as error:
        if error.key != option:
            raise
        raise InputError(error.reason, error.path, error.line, name) from None
