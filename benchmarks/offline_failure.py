"""How fast an unreachable dataset source fails: harness against the raw clients it wraps.

Runs each command in a fresh interpreter with empty caches and no offline flags, so the network
probe is what stops the harness, and prints wall-clock seconds and the ratio to the raw client.

    python benchmarks/offline_failure.py

On a machine without network. (With network the commands would start real downloads.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

RAW_IR_DATASETS = "import ir_datasets; list(ir_datasets.load('miracl/sw/dev').queries_iter())"
RAW_HUB = (
    "from huggingface_hub import snapshot_download; "
    "snapshot_download('orionweller/LIMIT-small', repo_type='dataset', "
    "revision='ff4a8f2476ae77476c1912f1f3cb5bb5f2d766d4')"
)
HARNESS = [sys.executable, "-m", "harness", "run", "-m", "bm25", "--no-energy", "--no-report"]
CASES = [
    (
        "miracl sw (ir_datasets)",
        [*HARNESS, "--suite", "miracl", "--languages", "sw"],
        [sys.executable, "-c", RAW_IR_DATASETS],
    ),
    (
        "limit-small (Hugging Face hub)",
        [*HARNESS, "--suite", "limit", "--datasets", "limit-small"],
        [sys.executable, "-c", RAW_HUB],
    ),
]


def timed(command: list[str], home: Path) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k not in {"HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"}}
    env.update(IR_DATASETS_HOME=str(home / "ir_datasets"), HF_HOME=str(home / "hf"), PYTHONPATH=str(REPO))
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=home, env=env, capture_output=True, text=True, timeout=600)
    return time.perf_counter() - start, completed.returncode


def main() -> None:
    print(f"{'source':32} {'harness s':>10} {'exit':>5} {'raw client s':>13} {'ratio':>6}")
    for name, harness, raw in CASES:
        with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
            ours, code = timed(harness, Path(first))
            theirs, _ = timed(raw, Path(second))
        print(f"{name:32} {ours:10.1f} {code:5d} {theirs:13.1f} {theirs / ours:6.1f}x")


if __name__ == "__main__":
    main()
