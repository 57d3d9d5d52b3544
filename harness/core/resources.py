"""Where bundled suites and model cards live: beside the package in a checkout, inside it in a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # harness/


def bundled_dir(name: str) -> Path:
    """`suites` or `model_cards`: packaged copy (wheel install) first, else the source checkout's."""
    packaged = _PACKAGE_DIR / "_bundled" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE_DIR.parent / name


def source_checkout() -> Path | None:
    """The repository root when running from a git checkout (for recording the commit)."""
    root = _PACKAGE_DIR.parent
    return root if (root / ".git").exists() else None
