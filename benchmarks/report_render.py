"""How long the reports take for a large results folder: 1,000 result files, read and rendered.

Writes synthetic results in the exact schema `harness run` writes (tests/results_factory.py) for the
bundled BEIR suite (models after one another over its datasets, BM25 with published references, and
every cell looks its references up) into a temporary folder, then times `render_reports(load_results(...))`,
the call `harness run` and `harness report` make. Prints the load, render and total seconds
(target: under 5 s in total for 1,000 files).

    python benchmarks/report_render.py [--results 1000] [--queries 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.catalog.suites import load_suite  # noqa: E402
from harness.record import load_results  # noqa: E402
from harness.reporting import render_reports  # noqa: E402
from tests.results_factory import make_record, save  # noqa: E402


def write_results(folder: Path, count: int, queries: int) -> None:
    """`count` results, model after model over every BEIR dataset; the first model is `bm25`, which has
    published references."""
    datasets = [dataset.name for dataset in load_suite("beir").spec.datasets]
    rng = random.Random(0)
    for number in range(count):
        model = "bm25" if number < len(datasets) else f"model-{number // len(datasets):03d}"
        per_query = {
            metric: {f"q{q}": round(rng.random(), 4) for q in range(queries)} for metric in ("ndcg@10", "recall@100")
        }
        record = make_record(model, datasets[number % len(datasets)], "en", suite="beir", per_query=per_query)
        save(folder, record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=int, default=1000, help="result files to write and render")
    parser.add_argument("--queries", type=int, default=100, help="per-query scores in each result, per metric")
    parser.add_argument("--repeats", type=int, default=3, help="timed renders; the fastest is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results, reports = Path(scratch) / "results", Path(scratch) / "reports"
        write_results(results, args.results, args.queries)
        best: tuple[float, float] | None = None
        for _ in range(args.repeats):
            start = time.perf_counter()
            records = load_results(results)
            loaded = time.perf_counter()
            render_reports(records, reports)
            rendered = time.perf_counter()
            timing = (loaded - start, rendered - loaded)
            best = timing if best is None or sum(timing) < sum(best) else best
        assert best is not None
        print(f"result files:      {args.results}")
        print(f"load_results:      {best[0]:6.2f} s")
        print(f"render_reports:    {best[1]:6.2f} s")
        print(f"total:             {sum(best):6.2f} s  (target < 5 s)")


if __name__ == "__main__":
    main()
