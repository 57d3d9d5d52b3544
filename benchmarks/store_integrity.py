"""Store integrity: what verifying stored shards' checksums costs, against reading the shards alone.

A store of N x 768 float16 synthetic vectors is written once (`out_of_core.py`'s seeded Gaussian
encoder, so no model time is measured), then each pass is timed `--repeats` times, in alternating order:

- read: every shard's vectors read with plain file reads, as exact search reads its blocks
  (`harness.index.base.read_array`);
- read + verify: `read_shard(verify=True)` (rows, shapes and the SHA-256 of every array, read with plain
  file reads too), then the same read;
- a run's view: `EmbeddingStore.encode` of the stored texts on a new store object (it verifies every
  shard: the first read of a run) and again on the same object (rows and shapes only: every later read).

It also hashes the same bytes in memory with SHA-256 and BLAKE2b, the reason for SHA-256.

    python benchmarks/store_integrity.py                      # 1M x 768 float16 (1.43 GiB)
    python benchmarks/store_integrity.py --passages 200000    # a quick look

The store is just written, so its pages are in the page cache (N fits in memory): the figures are the
CPU cost of verification, the worst case for the ratio; read from a cold disk, reading costs more and
the ratio is smaller. The store's folder is a temporary one (removed at the end) unless `--dir` is given.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from out_of_core import PassageIds, SyntheticEncoder

from harness.index.base import read_array
from harness.store import EmbeddingStore
from harness.store.embeddings import read_shard


def gib(value: float) -> str:
    return f"{value / 2**30:.2f} GiB"


def read_every_shard(folders: list[Path]) -> int:
    """Bytes of vectors read, shard by shard, as a search reads them."""
    return sum(read_array(np.load(folder / "vectors.npy", mmap_mode="r")).nbytes for folder in folders)


def read_and_verify_every_shard(folders: list[Path], rows: list[int], dtype: str) -> int:
    total = 0
    for folder, count in zip(folders, rows, strict=True):
        shard, _ = read_shard(folder, "dense", None, count, dtype, verify=True)  # type: ignore[arg-type]
        total += read_array(shard.vectors).nbytes  # type: ignore[attr-defined]
    return total


def timed(passes: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """The median seconds of each pass, the passes alternating in order from one repeat to the next."""
    seconds: dict[str, list[float]] = {name: [] for name in passes}
    for repeat in range(repeats):
        order = list(passes) if repeat % 2 == 0 else list(reversed(passes))
        for name in order:
            start = time.perf_counter()
            passes[name]()
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in seconds.items()}


def hash_rates(size: int) -> dict[str, float]:
    """GiB/s of SHA-256 and BLAKE2b over the same bytes in memory (median of 3)."""
    data = memoryview(np.random.default_rng(0).integers(0, 255, size, dtype=np.uint8))
    rates = {}
    for name in ("sha256", "blake2b"):
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            hashlib.new(name, data).hexdigest()
            runs.append(size / 2**30 / (time.perf_counter() - start))
        rates[name] = statistics.median(runs)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--shard-size", type=int, default=16_384)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="store folder to keep (default: a temporary one, removed)")
    args = parser.parse_args()

    root = args.dir or Path(tempfile.mkdtemp(prefix="harness-store-integrity-"))
    encoder, texts, dtype = SyntheticEncoder(args.dim, seed=0), PassageIds(args.passages), "float16"
    stored_bytes = args.passages * args.dim * 2
    print(f"{args.passages:,} passages x {args.dim} dims, {dtype}: {gib(stored_bytes)} of vectors in {root}")
    try:
        start = time.perf_counter()
        written = EmbeddingStore(root, args.shard_size, dtype).encode(encoder, texts, "en", "document")
        write_s = time.perf_counter() - start - encoder.generate_s
        print(f"write {written.status.shards} shards (checksums included): {write_s:.1f} s", flush=True)
        folders = [Path(written.status.location) / f"shard-{number:06d}" for number in range(written.status.shards)]
        rows = [min(args.shard_size, args.passages - number * args.shard_size) for number in range(len(folders))]

        def run_first_read() -> None:
            EmbeddingStore(root, args.shard_size, dtype).encode(encoder, texts, "en", "document")

        same_store = EmbeddingStore(root, args.shard_size, dtype)
        same_store.encode(encoder, texts, "en", "document")  # verified once here; the timed calls are later reads
        seconds = timed(
            {
                "read": lambda: read_every_shard(folders),
                "read + verify": lambda: read_and_verify_every_shard(folders, rows, dtype),
                "run, first read": run_first_read,
                "run, later read": lambda: same_store.encode(encoder, texts, "en", "document"),
            },
            args.repeats,
        )
        for name in ("read", "read + verify"):
            print(f"{name:<14} {seconds[name]:6.2f} s  {stored_bytes / 2**30 / seconds[name]:5.2f} GiB/s")
        print(f"read + verify / read: {seconds['read + verify'] / seconds['read']:.2f}x")
        verify_s = seconds["read + verify"] - seconds["read"]
        print(f"verification alone: {verify_s:.2f} s, {stored_bytes / 2**30 / verify_s:.2f} GiB/s")
        first, later = seconds["run, first read"], seconds["run, later read"]
        print(
            f"a run's store.encode of the stored corpus: first read {first:.2f} s, a later read {later:.2f} s "
            f"(both hash the texts and check rows and shapes; the first verifies every shard): verification once "
            f"per run adds {first - later:.2f} s, {(first - later) / seconds['read']:.2f}x one read pass"
        )
        rates = hash_rates(min(stored_bytes, 256 * 2**20))
        print(
            f"hash rate in memory: SHA-256 {rates['sha256']:.2f} GiB/s, BLAKE2b {rates['blake2b']:.2f} GiB/s "
            f"(SHA-256 / BLAKE2b {rates['sha256'] / rates['blake2b']:.2f}x)"
        )
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
