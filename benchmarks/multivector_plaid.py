"""Exact MaxSim vs the PLAID-style compressed index on synthetic clustered token vectors.

    python benchmarks/multivector_plaid.py                      # 100k documents x ~100 tokens x 128 dims
    python benchmarks/multivector_plaid.py --documents 20000    # a quicker look

The collection imitates ColBERT output: unit token vectors around `--clusters` semantic centres
with Zipf-like popularity. Documents come in families of 10-30 related documents sharing 8
specific topics (centres); each member covers 1 to 8 of them (graded relevance: half its tokens)
and draws the other half from its own, mostly popular, background topics. A query is 32 vectors: 24
sampled fresh around one family's topics (a paraphrase, not a copy), 8 around popular centres (like
[MASK]-augmentation vectors). Its exact top 10 are thus members of its family, ordered by how many
of its topics they cover. Document vectors are written once as a float16 `.npy` and memory-mapped,
so neither index holds the raw corpus in RAM.

Printed: build time, index size against float16 storage, per-query latency (exact: all queries in one
batched call, its best case; compressed: one query at a time, its worst), recall@10 of the compressed
index against exact MaxSim for colbert-ai's default search settings and two deeper ones (searched on
the same index), and each phase's peak memory: resident, and anonymous (without the pages of
memory-mapped files, which the kernel can drop). GPU throughput is not measured: no GPU here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.encode import MultiVectorRepresentation
from harness.index.maxsim_exact import MaxSimExactIndex, MaxSimExactParams
from harness.index.plaid import PlaidIndex, PlaidParams
from harness.record.measure import percentiles_ms


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def around(centres: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return unit(centres + noise * rng.standard_normal(centres.shape, dtype=np.float32))


def generate(args: argparse.Namespace, folder: Path) -> tuple[MultiVectorRepresentation, MultiVectorRepresentation]:
    rng = np.random.default_rng(args.seed)
    centres = unit(rng.standard_normal((args.clusters, args.dim), dtype=np.float32))
    popularity = 1.0 / np.arange(1, args.clusters + 1) ** args.zipf
    popularity /= popularity.sum()
    lengths = np.clip(rng.normal(args.mean_tokens, args.mean_tokens / 4, args.documents), 8, 3 * args.mean_tokens)
    lengths = lengths.astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    # Families of related documents share specific topics; each member covers a different number of
    # them (graded relevance) and draws its other tokens from its own, mostly popular, background topics.
    family_sizes = rng.integers(args.family_min, args.family_max + 1, args.documents // args.family_min)
    family = np.repeat(np.arange(len(family_sizes)), family_sizes)[: args.documents]
    family_topics = rng.integers(0, args.clusters, (int(family.max()) + 1, args.topics))
    covered_topics = rng.permuted(family_topics[family], axis=1)  # a member covers the first `coverage`
    coverage = rng.integers(1, args.topics + 1, args.documents)
    background = rng.choice(args.clusters, size=(args.documents, args.topics), p=popularity)

    vectors = np.lib.format.open_memmap(folder / "vectors.npy", "w+", np.float16, (int(offsets[-1]), args.dim))
    step = 4096
    for start in range(0, args.documents, step):
        rows = np.arange(start, min(start + step, args.documents))
        owner = np.repeat(rows, lengths[rows])
        on_topic = covered_topics[owner, (rng.random(len(owner)) * coverage[owner]).astype(np.int64)]
        off_topic = background[owner, rng.integers(0, args.topics, len(owner))]
        picked = np.where(rng.random(len(owner)) < 0.5, on_topic, off_topic)
        vectors[offsets[rows[0]] : offsets[rows[-1] + 1]] = around(centres[picked], args.noise, rng)
    vectors.flush()
    del vectors
    np.save(folder / "offsets.npy", offsets)
    documents = MultiVectorRepresentation(np.load(folder / "vectors.npy", mmap_mode="r"), offsets)

    # A query: 24 vectors around one family's topics, 8 around popular centres (like [MASK] vectors).
    asked = rng.choice(int(family.max()) + 1, size=args.queries, replace=False)
    query_len, on_topic = 32, 24
    picked = np.concatenate(
        [
            family_topics[asked[:, None], rng.integers(0, args.topics, (args.queries, on_topic))],
            rng.choice(args.clusters, size=(args.queries, query_len - on_topic), p=popularity),
        ],
        axis=1,
    )
    query_vectors = around(centres[picked.ravel()], args.noise, rng).astype(np.float32)
    queries = MultiVectorRepresentation(query_vectors, np.arange(args.queries + 1, dtype=np.int64) * query_len)
    return documents, queries


class MemoryPeaks:
    """Peak resident memory of this process, and its anonymous part (without memory-mapped file pages,
    which the kernel can drop at will): sampled on a thread."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._stop = threading.Event()
        self.resident = self.anonymous = 0

    def _sample(self) -> None:
        info = self._process.memory_info()
        self.resident = max(self.resident, info.rss)
        self.anonymous = max(self.anonymous, info.rss - info.shared)

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            self._sample()

    def __enter__(self) -> MemoryPeaks:
        self._sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def gib(self) -> dict[str, float]:
        return {"resident": round(self.resident / 2**30, 2), "anonymous": round(self.anonymous / 2**30, 2)}


def timed(label: str, action, *arguments):  # type: ignore[no-untyped-def]
    with MemoryPeaks() as memory:
        start = time.perf_counter()
        result = action(*arguments)
        seconds = time.perf_counter() - start
    print(f"  {label}: {seconds:.1f} s, peak memory {memory.gib()} GiB", file=sys.stderr)
    return result, seconds, memory.gib()


def one_at_a_time(index: PlaidIndex, queries: MultiVectorRepresentation, k: int) -> tuple[np.ndarray, list[float]]:
    index.search(queries.select(np.arange(1)), k)  # warm-up: first page faults
    found, latencies = np.full((len(queries), k), -1, dtype=np.int64), []
    for row in range(len(queries)):
        start = time.perf_counter()
        found[row] = index.search(queries.select(np.asarray([row])), k).indices[0]
        latencies.append(time.perf_counter() - start)
    return found, latencies


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact top k that the approximate top k holds, averaged over queries."""
    shares = [len(set(f[f >= 0]) & set(e[e >= 0])) / max(1, (e >= 0).sum()) for f, e in zip(found, exact, strict=True)]
    return float(np.mean(shares))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--mean-tokens", type=int, default=100)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--clusters", type=int, default=8192, help="semantic centres of the synthetic vectors")
    parser.add_argument("--topics", type=int, default=8, help="topics (centres) of a family and of a background")
    parser.add_argument("--family-min", type=int, default=10, help="smallest family of related documents")
    parser.add_argument("--family-max", type=int, default=30, help="largest family of related documents")
    parser.add_argument("--noise", type=float, default=0.06, help="per-dimension noise around a centre")
    parser.add_argument("--zipf", type=float, default=0.8, help="exponent of the centres' popularity")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--nbits", type=int, default=2, choices=(1, 2, 4))
    parser.add_argument("--centroids", type=int, default=4096, help="k-means centroids (0: colbert-ai's default)")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the float16 vectors and the index go")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="plaid-bench-", dir=args.work_dir) as scratch:
        folder = Path(scratch)
        print(f"generating {args.documents:,} documents in {folder} ...", file=sys.stderr)
        (documents, queries), generate_s, _ = timed("generate", generate, args, folder)
        fp16_bytes = int(documents.vectors.nbytes)

        print(f"exact MaxSim, {len(queries)} queries ...", file=sys.stderr)
        exact = MaxSimExactIndex(MaxSimExactParams())
        timed("build", exact.build, documents)
        exact_result, exact_s, exact_memory = timed("search (all queries in one call)", exact.search, queries, args.k)
        exact_ms = 1000 * exact_s / len(queries)

        print("plaid ...", file=sys.stderr)
        build_params = {"nbits": args.nbits, "centroids": args.centroids or None, "seed": args.seed}
        plaid = PlaidIndex(PlaidParams(**build_params, index_dir=str(folder / "index")))
        _, build_s, build_memory = timed("build", plaid.build, documents)
        plaid_bytes = plaid.size_bytes()
        rows = []
        for search_params in ({}, {"rerank": 256}, {"probes": 2, "candidates": 1024, "rerank": 256}):
            searcher = PlaidIndex.open(plaid.directory, PlaidParams(**build_params, **search_params))
            (found, latencies), _, search_memory = timed(
                f"search {search_params or 'defaults'}", one_at_a_time, searcher, queries, args.k
            )
            mean_ms = 1000 * float(np.mean(latencies))
            rows.append(
                {
                    "search": searcher.search_settings(args.k),
                    "recall_at_k_vs_exact": round(recall(found, exact_result.indices), 4),
                    "ms_per_query": {
                        "mean": round(mean_ms, 2),
                        **{q: round(v, 2) for q, v in percentiles_ms(latencies).items()},
                    },
                    "speedup_vs_exact": round(exact_ms / mean_ms, 1),
                    "peak_memory_gib": search_memory,
                }
            )

        figures = {
            "collection": {
                "documents": args.documents,
                "token_vectors": len(documents.vectors),
                "dim": args.dim,
                "queries": len(queries),
                "k": args.k,
                "generate_s": round(generate_s, 1),
            },
            "exact": {"ms_per_query": round(exact_ms, 1), "peak_memory_gib": exact_memory, "fp16_bytes": fp16_bytes},
            "plaid_build": {
                **{key: plaid.describe()[key] for key in ("nbits", "num_centroids", "kmeans", "files_bytes")},
                "seconds": round(build_s, 1),
                "peak_memory_gib": build_memory,
                "index_bytes": plaid_bytes,
                "compression_vs_fp16": round(fp16_bytes / plaid_bytes, 2),
            },
            "plaid_search": rows,
            "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "gpu": None},
        }
        print(json.dumps(figures, indent=2))
        centroids = plaid.describe()["num_centroids"]
        print(
            f"\n{len(documents.vectors):,} token vectors in {args.documents:,} documents; "
            f"{len(queries)} queries, k={args.k}\n"
            f"float16 vectors {fp16_bytes / 2**20:,.0f} MiB; plaid index {plaid_bytes / 2**20:,.0f} MiB "
            f"({fp16_bytes / plaid_bytes:.2f}x smaller, nbits={args.nbits}, {centroids} centroids); "
            f"build {build_s:.0f} s\n"
            f"exact MaxSim: {exact_ms:,.0f} ms per query (all queries in one batched call)\n"
        )
        print(f"| probes | candidates | rerank | recall@{args.k} vs exact | ms/query mean | p50 | p95 | speed-up |")
        print("|---|---|---|---|---|---|---|---|")
        for row in rows:
            search, ms = row["search"], row["ms_per_query"]
            print(
                f"| {search['probes']} | {search['candidates']} | {search['rerank']} "
                f"| {row['recall_at_k_vs_exact']:.3f} | {ms['mean']:.1f} | {ms['p50']:.1f} | {ms['p95']:.1f} "
                f"| {row['speedup_vs_exact']:.0f}x |"
            )


if __name__ == "__main__":
    main()
