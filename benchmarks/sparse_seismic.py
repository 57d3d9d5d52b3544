"""Exact vs Seismic on a synthetic learned-sparse collection: latency, QPS, recall@10, sizes, memory.

The collection imitates MILCO's output statistics: 280,524 columns (30,522 English + 250,002
XLM-R), term frequencies Zipf-distributed over a random permutation of the columns (so frequent
terms sit anywhere in the id range, beyond 16 bits too), 100-300 active terms per document,
rarer terms weighted higher, documents written on topics (shared term lists) as real ones are.
Queries are built from a random document's heaviest terms plus Zipf-drawn ones, so each has real
neighbours. Both indexes are the harness's own
(`sparse-exact`, `seismic`) searched through the `Index` interface, one query at a time on one
thread, as the MILCO paper reports latency.

    python benchmarks/sparse_seismic.py                      # 1M documents (about 35 minutes, 16 GiB here)
    python benchmarks/sparse_seismic.py --documents 100000 --topics 2000   # a quick look (7 minutes)

Build threads default to all cores (building is not what is compared); searches are single-thread,
and every query is searched by each index in turn, so a busy shared machine slows all alike.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from harness.encode import ProgressCallback, Representation, SparseRepresentation, Vocabulary
from harness.index import Index, SearchResult, make_index
from harness.record.measure import PeakMemory, percentiles_ms

MILCO_COLUMNS = 30_522 + 250_002
TERMS_PER_TOPIC = 100


def zipf_cdf(columns: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, columns + 1, dtype=np.float64) ** exponent
    return np.cumsum(weights) / weights.sum()


def weighted_rows(
    rng: np.random.Generator, lengths: np.ndarray, ranks: np.ndarray, columns: int, column_of_rank: np.ndarray
) -> sp.csr_matrix:
    """One sparse row per length from the given term ranks, rarer terms heavier (log-normal weights
    whose mean grows with the log of the rank, as IDF-like expansion weights do). A term drawn twice
    keeps its larger weight: learned weights saturate, so a frequent term never outweighs the rare
    ones by repetition."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    rarity = np.log1p(ranks) / np.log(columns)
    weights = rng.lognormal(mean=-0.9 + 1.2 * rarity, sigma=0.5).astype(np.float32)
    cells = rows * columns + column_of_rank[ranks]
    order = np.lexsort((weights, cells))
    last = np.r_[cells[order][1:] != cells[order][:-1], True]  # the heaviest draw of each cell
    kept = order[last]
    return sp.csr_matrix(
        (weights[kept], (cells[kept] // columns, cells[kept] % columns)), shape=(len(lengths), columns)
    )


def zipf_ranks(rng: np.random.Generator, n: int, cdf: np.ndarray) -> np.ndarray:
    return np.searchsorted(cdf, rng.random(n), side="right").astype(np.int64)


def documents(
    n: int, columns: int, exponent: float, seed: int, topics: int, topic_share: float, chunk: int = 50_000
) -> Iterator[sp.csr_matrix]:
    """Each document draws `topic_share` of its terms from the term list of one of `topics` topics
    (lists that are themselves Zipf draws, so the collection's term frequencies stay Zipf) and the
    rest from the whole vocabulary: documents on one topic share terms, as in a real collection,
    and have real near neighbours. `topics=0`: every term drawn independently."""
    rng = np.random.default_rng(seed)
    cdf = zipf_cdf(columns, exponent)
    column_of_rank = np.random.default_rng(seed + 1).permutation(columns)
    topic_ranks = zipf_ranks(np.random.default_rng(seed + 3), topics * TERMS_PER_TOPIC, cdf).reshape(
        topics, TERMS_PER_TOPIC
    )
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        # Draws per document; merging repeated terms leaves about 100-300 distinct ones.
        draws = np.clip(np.round(rng.lognormal(np.log(210), 0.3, size)), 150, 440).astype(np.int64)
        from_topic = np.round(draws * topic_share).astype(np.int64) if topics else np.zeros_like(draws)
        ranks = zipf_ranks(rng, int(draws.sum()), cdf)
        if topics:
            # The first `from_topic` draws of each document come from its topic's list.
            first = np.repeat(np.cumsum(draws) - draws, draws)
            position = np.arange(int(draws.sum())) - first
            topical = position < np.repeat(from_topic, draws)
            topic = np.repeat(rng.integers(0, topics, size), draws)[topical]
            ranks[topical] = topic_ranks[topic, rng.integers(0, TERMS_PER_TOPIC, int(topical.sum()))]
        yield weighted_rows(rng, draws, ranks, columns, column_of_rank).astype(np.float32)


def queries(collection: sp.csr_matrix, n: int, exponent: float, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed + 2)
    cdf = zipf_cdf(collection.shape[1], exponent)
    column_of_rank = np.random.default_rng(seed + 1).permutation(collection.shape[1])
    lengths = rng.integers(10, 25, n)
    background = weighted_rows(
        rng, lengths, zipf_ranks(rng, int(lengths.sum()), cdf), collection.shape[1], column_of_rank
    )
    picked = []
    for row in rng.integers(0, collection.shape[0], n):
        start, end = collection.indptr[row], collection.indptr[row + 1]
        heaviest = np.argsort(-collection.data[start:end])[: int(rng.integers(8, 16))]
        picked.append(collection.indices[start:end][heaviest])
    rows = np.repeat(np.arange(n), [len(p) for p in picked])
    focus = sp.csr_matrix(
        (rng.lognormal(0.0, 0.4, len(rows)).astype(np.float32), (rows, np.concatenate(picked))),
        shape=(n, collection.shape[1]),
    )
    return (background + focus).tocsr().astype(np.float32)


def interleaved_search(
    indexes: dict[str, Index], batch: SparseRepresentation, k: int
) -> dict[str, tuple[np.ndarray, list[float]]]:
    """Each query searched on its own by every index in turn, so load from other processes on a
    shared machine hits all of them alike; returns each index's top ids and per-query seconds."""
    found = {name: np.full((len(batch), k), -1, dtype=np.int64) for name in indexes}
    seconds: dict[str, list[float]] = {name: [] for name in indexes}
    for index in indexes.values():
        index.search(batch.select(np.arange(1)), k)  # warm-up
    for row in range(len(batch)):
        single = batch.select(np.asarray([row]))
        for name, index in indexes.items():
            start = time.perf_counter()
            found[name][row] = index.search(single, k).indices[0]
            seconds[name].append(time.perf_counter() - start)
    return {name: (found[name], seconds[name]) for name in indexes}


class SeismicSetting(Index):
    """One Seismic index searched with other `query_cut` / `heap_factor` values (no rebuild)."""

    def __init__(self, built: Index, query_cut: int, heap_factor: float) -> None:
        self._built = built
        self._update = {"query_cut": query_cut, "heap_factor": heap_factor, "search_threads": 1}

    def build(self, documents: Representation, progress: ProgressCallback | None = None) -> None:
        raise NotImplementedError

    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        self._built.params = self._built.params.model_copy(update=self._update)
        return self._built.search(queries, k)

    def size_bytes(self) -> int:
        return self._built.size_bytes()


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    values = []
    for got, truth in zip(found, exact, strict=True):
        truth = set(truth[truth >= 0].tolist())
        if truth:
            values.append(len(truth & set(got[got >= 0].tolist())) / len(truth))
    return float(np.mean(values))


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--columns", type=int, default=MILCO_COLUMNS)
    parser.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent of term frequencies")
    parser.add_argument("--topics", type=int, default=20_000, help="topics documents are drawn from (0: none)")
    parser.add_argument("--topic-share", type=float, default=0.4, help="share of a document's terms from its topic")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-postings", type=int, default=1000, help="Seismic postings kept per term")
    parser.add_argument("--build-threads", type=int, default=0, help="Seismic build threads (0: all cores)")
    parser.add_argument(
        "--search",
        default="3:0.9,5:0.9,5:0.7,8:0.9,10:0.9,10:0.7,15:0.9",
        help="Seismic query_cut:heap_factor settings to measure on the one built index",
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when the output goes to a file
    vocabulary = Vocabulary("synthetic-milco", [f"t{i}" for i in range(args.columns)])

    with PeakMemory() as generation_memory:
        start = time.perf_counter()
        drawn = documents(args.documents, args.columns, args.zipf, args.seed, args.topics, args.topic_share)
        collection = sp.vstack(list(drawn), format="csr")
        query_matrix = queries(collection, args.queries, args.zipf, args.seed)
        generation_s = time.perf_counter() - start
    doc_rep = SparseRepresentation(collection, vocabulary)
    query_rep = SparseRepresentation(query_matrix, vocabulary)
    print(
        f"collection: {collection.shape[0]:,} documents x {collection.shape[1]:,} columns, {collection.nnz:,} weights"
    )
    print(
        f"  active terms per document: mean {collection.nnz / collection.shape[0]:.1f}, "
        f"min {doc_rep.active_terms().min()}, max {doc_rep.active_terms().max()}"
    )
    print(
        f"  columns used: {np.count_nonzero(np.bincount(collection.indices, minlength=args.columns)):,}; "
        f"highest column id {collection.indices.max():,}"
    )
    print(f"  queries: {args.queries}, active terms mean {query_matrix.nnz / args.queries:.1f}")
    print(f"  generated in {generation_s:.0f} s, peak RSS {gib(generation_memory.peak_bytes)}")

    with threadpool_limits(1):
        builds = {}
        for kind, spec in (
            ("sparse-exact", {"kind": "sparse-exact"}),
            ("seismic", {"kind": "seismic", "n_postings": args.n_postings, "build_threads": args.build_threads}),
        ):
            index = make_index("sparse", spec)
            with PeakMemory() as memory:
                start = time.perf_counter()
                index.build(doc_rep)
                builds[kind] = (index, time.perf_counter() - start, memory.peak_bytes)
            print(f"built {kind} in {builds[kind][1]:.0f} s, peak RSS {gib(memory.peak_bytes)}", flush=True)
        exact, seismic = builds["sparse-exact"][0], builds["seismic"][0]
        settings = [tuple(setting.split(":")) for setting in args.search.split(",")]
        indexes: dict[str, Index] = {"sparse-exact": exact}
        for query_cut, heap_factor in settings:
            indexes[f"query_cut={query_cut} heap_factor={heap_factor}"] = SeismicSetting(
                seismic, int(query_cut), float(heap_factor)
            )
        measured = interleaved_search(indexes, query_rep, args.k)
    truth = measured["sparse-exact"][0]
    rows = []
    for label, (found, seconds) in measured.items():
        kind = "sparse-exact" if label == "sparse-exact" else "seismic"
        _, build_s, peak = builds[kind]
        rows.append(
            (
                kind,
                "-" if kind == label else label,
                recall(found, truth),
                seconds,
                indexes[label].size_bytes(),
                build_s,
                peak,
            )
        )

    exact_mean = np.mean(rows[0][3])
    print(
        f"\nsingle-thread search, k={args.k}, {args.queries} queries one at a time "
        f"(Seismic: n_postings={args.n_postings}, SeismicIndexLV, pyseismic-lsr)"
    )
    header = f"{'index':13} {'setting':32} {'recall@10':>9} {'mean ms':>8} {'p50 ms':>7} {'p95 ms':>7} {'QPS':>7} "
    print(header + f"{'speed-up':>8} {'index size':>11} {'build s':>8} {'build peak RSS':>14}")
    for kind, label, rec, seconds, size, build_s, peak in rows:
        p = percentiles_ms(seconds)
        mean = float(np.mean(seconds))
        print(
            f"{kind:13} {label:32} {rec:9.4f} {mean * 1000:8.2f} {p['p50']:7.2f} {p['p95']:7.2f} {1 / mean:7.0f} "
            f"{exact_mean / mean:7.1f}x {gib(size):>11} {build_s:8.0f} {gib(peak):>14}"
        )
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"\nprocess peak RSS: {gib(peak_kib * 1024)}; cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
