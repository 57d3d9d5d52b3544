"""Where a number came from: code version, libraries and hardware, recorded with every result."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import psutil

from harness import __version__
from harness.core.resources import source_checkout

LIBRARIES = (
    "torch",
    "transformers",
    "tokenizers",
    "faiss-cpu",
    "faiss-gpu",
    "bm25s",
    "PyStemmer",
    "ranx",
    "numpy",
    "scipy",
    "codecarbon",
)


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip()


@lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """The harness version and, from a checkout, its commit and whether the tree had local edits."""
    info: dict[str, Any] = {"harness_version": __version__, "git_commit": None, "git_dirty": None}
    root = source_checkout()
    if root is not None:
        info["git_commit"] = _git(["rev-parse", "HEAD"], root)
        status = _git(["status", "--porcelain", "--untracked-files=no"], root)
        info["git_dirty"] = bool(status) if status is not None else None
    return info


def library_versions() -> dict[str, str]:
    """Versions of the libraries a result depends on."""
    return dict(_library_versions())


@lru_cache(maxsize=1)
def _library_versions() -> dict[str, str]:
    """Read once per process: each lookup scans site-packages."""
    found: dict[str, str] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cpu_cores": psutil.cpu_count(logical=True),
        "ram_bytes": psutil.virtual_memory().total,
        "platform": platform.platform(),
        "device": device,
        "gpu": None,
    }
    if device.startswith("cuda") and "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            properties = torch.cuda.get_device_properties(torch.cuda.current_device())
            info["gpu"] = {"name": properties.name, "memory_bytes": properties.total_memory}
    # Only when a model already loaded torch: importing it here would cost seconds for BM25.
    info["torch_threads"] = sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None
    info["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS")
    return info
