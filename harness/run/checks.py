"""Options checked before anything is loaded or computed, so a typo costs seconds, not a run."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from harness.catalog.suites import MAX_DEPTH
from harness.core.errors import InputError

_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def check_depth(k: int | None) -> None:
    """`--k` within what an index can hold in memory for every query at once."""
    if k is not None and k > MAX_DEPTH:
        raise InputError(
            f"{k:,} documents per query is deeper than the {MAX_DEPTH:,} the harness retrieves "
            "(published protocols use 1,000 or fewer)",
            key="--k",
        )


def check_device(device: str) -> None:
    """A device torch knows, and for `cuda`/`mps` one that is present (torch is imported only then)."""
    if not _DEVICE.fullmatch(device):
        raise InputError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps", key="--device")
    if device.startswith("cuda"):
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        wanted = int(device.partition(":")[2] or 0)
        if wanted >= count:
            build = "" if torch.version.cuda else " (this torch is a CPU-only build)"
            seen = f"only {count} GPU{'s' if count != 1 else ''} visible" if count else "torch sees no CUDA GPU"
            raise InputError(f"{device!r} asked for, but {seen}{build}; use --device cpu or auto", key="--device")
    if device == "mps":
        import torch

        if not torch.backends.mps.is_available():
            raise InputError("'mps' asked for, but no Apple GPU is available; use --device cpu or auto", key="--device")


def check_country(code: str) -> str:
    """The ISO 3166 alpha-3 code of the electricity grid, upper-cased; an unknown code is refused."""
    import pycountry

    upper = code.strip().upper()
    try:
        country = pycountry.countries.get(alpha_3=upper) if len(upper) == 3 else None
    except KeyError:  # older pycountry raises instead of returning None
        country = None
    if country is None:
        raise InputError(
            f"unknown country {code!r}; expected an ISO 3166 alpha-3 code such as NLD, DEU, FRA, USA or IND",
            key="--country",
        )
    return upper


def check_output_folder(path: Path, option: str) -> None:
    """A folder the command will write into: not a file, and writable (tried, since permissions lie to root)."""
    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        reason = "is a file, not a folder" if existing == path.absolute() else f"{existing} is a file, not a folder"
        raise InputError(reason, path=path, key=option)
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise InputError(f"cannot write here: {error.strerror or error}", path=existing, key=option) from None


def check_run_options(
    *,
    k: int | None,
    device: str,
    country: str,
    results_dir: Path,
    report_dir: Path | None = None,
    store_root: Path | None = None,
) -> str:
    """The options of `harness run` and `harness sweep` that can be checked before loading anything;
    returns the grid country, upper-cased. The store's folder (`--cache-dir`) is checked whether or not
    `--no-cache` keeps the store there only for the run, and whether or not a model of the run uses it."""
    check_depth(k)
    grid = check_country(country)
    check_output_folder(results_dir, "--results-dir")
    if report_dir is not None:
        check_output_folder(report_dir, "--report-dir")
    if store_root is not None:
        check_output_folder(store_root, "--cache-dir")
    check_device(device)
    return grid
