"""Out-of-core dense retrieval: mMARCO-sized vectors through the embedding store, exact search, bounded memory.

8.8M passages x 768 dims in float16 is 13.5 GB of vectors, more than half this 24 GiB machine. The
passages are synthetic (a seeded Gaussian vector per passage, from a synthetic encoder, so no model
time is measured); everything else is what `harness run` uses: the store writes them in atomic
shards, reads them back memory-mapped, and `faiss-flat` searches them block by block with a top-k
merge. Queries are 1,000 random stored passages, so each query's best match is known (its own passage: two
independent 768-d Gaussian vectors are far less aligned than one with itself) and the search is
checked, not only timed.

    python benchmarks/out_of_core.py                      # 8.8M x 768 float16, 1,000 queries, k=1000
    python benchmarks/out_of_core.py --passages 200000    # a quick look

Prints peak resident memory (target: at most 6 GiB), store write and read throughput, and search
time per query. The store's folder is a temporary one (removed at the end) unless `--dir` is given.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from harness.catalog.cards import ModelCard
from harness.encode import DenseRepresentation, Encoder, EncodeSettings, ProgressCallback
from harness.index import make_index
from harness.record.measure import PeakMemory
from harness.store import EmbeddingStore


class PassageIds(Sequence[str]):
    """`p0`, `p1`, ...: the texts, never held as a list."""

    def __init__(self, count: int) -> None:
        self._count = count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [f"p{row}" for row in range(*index.indices(self._count))]
        return f"p{range(self._count)[index]}"


def passage_vectors(first: int, count: int, dim: int, seed: int) -> np.ndarray:
    """The synthetic vectors of passages [first, first + count): a function of the rows alone."""
    return np.random.default_rng([seed, first]).standard_normal((count, dim), dtype=np.float32)


class SyntheticEncoder(Encoder):
    """A seeded Gaussian vector per passage id (`p123`), so the store and search are measured without a model."""

    family = "dense"

    def __init__(self, dim: int, seed: int) -> None:
        super().__init__(ModelCard(name="synthetic", adapter="dense"), EncodeSettings())
        self.dim, self.seed = dim, seed
        self.generate_s = 0.0

    def encode_documents(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> DenseRepresentation:
        start = time.perf_counter()
        first = int(texts[0][1:])
        vectors = passage_vectors(first, len(texts), self.dim, self.seed)
        self.generate_s += time.perf_counter() - start
        if progress:
            progress(len(texts))
        return DenseRepresentation(vectors)

    encode_queries = encode_documents

    def document_budget(self, language: str) -> None:
        return None  # passages are vectors already: nothing to split

    def describe(self) -> dict[str, Any]:
        return {"synthetic": "seeded Gaussian", "dim": self.dim, "seed": self.seed}


def gib(value: float) -> str:
    return f"{value / 2**30:.2f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=8_800_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    parser.add_argument("--shard-size", type=int, default=16_384)
    parser.add_argument("--dir", type=Path, help="store folder to keep (default: a temporary one, removed)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    root = args.dir or Path(tempfile.mkdtemp(prefix="harness-out-of-core-"))
    encoder = SyntheticEncoder(args.dim, args.seed)
    texts = PassageIds(args.passages)
    store = EmbeddingStore(root, shard_size=args.shard_size, dtype=args.dtype)
    stored_bytes = args.passages * args.dim * np.dtype(args.dtype).itemsize
    print(f"{args.passages:,} passages x {args.dim} dims, {args.dtype}: {gib(stored_bytes)} of vectors in {root}")
    try:
        with PeakMemory(interval_s=0.05) as memory:
            start = time.perf_counter()
            written = store.encode(encoder, texts, "en", "document")
            write_s = time.perf_counter() - start - encoder.generate_s
            if written.status.computed_shards:
                per_s = stored_bytes / 2**20 / write_s
                print(
                    f"write (store only): {write_s:.1f} s, {per_s:.0f} MiB/s, {args.passages / write_s:,.0f} passages/s"
                )
                print(f"  (+{encoder.generate_s:.1f} s generating the synthetic vectors, not counted)", flush=True)
            else:
                print("write: every shard was already in --dir (reused); nothing written", flush=True)
            start = time.perf_counter()
            again = store.encode(encoder, texts, "en", "document")
            assert again.status.computed_shards == 0
            index = make_index("dense", {"kind": "faiss-flat"})
            index.build_from_shards(again.shards)
            print(f"reopen {written.status.shards} stored shards, build the index: {time.perf_counter() - start:.2f} s")
            layout = index.describe()
            print(f"  ({layout['blocks']} blocks, {layout['blocks_on_disk']} of them read from disk at each search)")
            start = time.perf_counter()
            read_bytes = sum(block.nbytes for _, block in index.blocks())  # one full pass, as a search makes
            read_s = time.perf_counter() - start
            print(
                f"read every vector: {read_s:.1f} s, {stored_bytes / 2**20 / read_s:.0f} MiB/s stored "
                f"({read_bytes / 2**20 / read_s:.0f} MiB/s as float32)",
                flush=True,
            )
            rows = np.sort(np.random.default_rng(args.seed + 1).choice(args.passages, args.queries, replace=False))
            size = args.shard_size
            queries = np.stack([np.asarray(again.shards[row // size].vectors[row % size]) for row in rows])
            queries = queries.astype(np.float32)  # each query is a stored passage, as stored
            start = time.perf_counter()
            result = index.search(DenseRepresentation(queries), args.k)
            search_s = time.perf_counter() - start
        per_query = 1000 * search_s / args.queries
        print(f"search {args.queries} queries, k={args.k}: {search_s:.1f} s, {per_query:.1f} ms per query")
        print(f"top-1 is the query's own passage: {float(np.mean(result.indices[:, 0] == rows)):.4f}")
        print(f"peak resident memory: {gib(memory.peak_bytes)} (baseline {gib(memory.baseline_bytes)})")
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
