"""Encoding on Ray: encode time of one corpus with 1 and 2 CPU workers, the speed-up, and the overhead per shard.

Everything is what `harness run --ray` uses: a local Ray instance, `RayEncodingPool` workers that load
the model once, and `EmbeddingStore.encode` writing the shards into a fresh store per measurement.
Each worker runs torch with `--threads` threads (1 by default, so 2 workers use the 2 cores of this
machine; the one-process baseline uses the same count). Workers are warmed up on other texts first, so
model loading is not timed. The corpus is the documents of `--data` (default: SciFact in
../shared/data/beir-scifact, beside the repository) when present, else seeded synthetic sentences.

    python benchmarks/ray_scaling.py                                  # all-minilm-l6-v2, 2,000 passages
    python benchmarks/ray_scaling.py --passages 500 --shard-size 50   # a quick look

Prints encode seconds for one process, 1 worker and 2 workers, passages/s, the speed-up of 2 workers
over 1 (target: at least 1.7x for a model whose forward passes dominate), and the harness's scheduling
overhead per shard (1 worker: wall time less the worker's own encode time, divided by the shards).
Figures measured on a shared, loaded machine say little about an idle one: say how loaded it was.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import ray
import torch

from harness.adapters import load_encoder
from harness.cards import load_card
from harness.distributed import ClusterSettings, ray_pool
from harness.encode import EncodeSettings
from harness.store import EmbeddingStore

REPO = Path(__file__).resolve().parents[1]
WORDS = ["the", "a", "retrieval", "model", "encodes", "passages", "into", "vectors", "that", "a", "query", "finds"]


def corpus(data: Path, passages: int) -> list[str]:
    """The first `passages` documents of a BEIR folder's corpus.jsonl, else seeded synthetic sentences."""
    if (data / "corpus.jsonl").is_file():
        texts = []
        with (data / "corpus.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                texts.append(f"{row.get('title', '')} {row.get('text', '')}".strip())
                if len(texts) == passages:
                    break
        return texts
    rng = random.Random(0)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 160))) for _ in range(passages)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="all-minilm-l6-v2", help="model card name or path")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "beir-scifact")
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--shard-size", type=int, default=250)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker (and of the baseline)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    texts = corpus(args.data, args.passages)
    warm_up = [f"warm-up {text}" for text in texts[: args.shard_size * 2]]
    card = load_card(args.model)
    encoder = load_encoder(card, EncodeSettings(batch_size=args.batch_size, device="cpu"))
    n_shards = -(-len(texts) // args.shard_size)
    source = f"documents of {args.data}" if (args.data / "corpus.jsonl").is_file() else "synthetic sentences"
    print(f"{card.name}: {len(texts)} {source}, {n_shards} shards of {args.shard_size}, {args.threads} thread(s)")

    with tempfile.TemporaryDirectory(prefix="ray-scaling-") as folder:
        root = Path(folder)
        EmbeddingStore(root / "warm", args.shard_size).encode(encoder, warm_up, "en", "document")
        start = time.perf_counter()
        EmbeddingStore(root / "one", args.shard_size).encode(encoder, texts, "en", "document")
        one_process = time.perf_counter() - start
        print(f"one process   {one_process:8.2f} s  {len(texts) / one_process:8.1f} passages/s")

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            timings = {}
            for workers in (1, 2):
                with ray_pool(ClusterSettings(workers=workers, threads=args.threads)) as pool:
                    EmbeddingStore(root / f"warm{workers}", args.shard_size).encode(
                        encoder, warm_up, "en", "document", executor=pool
                    )
                    start = time.perf_counter()
                    stored = EmbeddingStore(root / f"ray{workers}", args.shard_size).encode(
                        encoder, texts, "en", "document", executor=pool
                    )
                    wall = time.perf_counter() - start
                timings[workers] = (wall, stored.status.encode_s)
                name = f"{workers} worker{'s' if workers > 1 else ''}"
                print(f"{name:<13} {wall:8.2f} s  {len(texts) / wall:8.1f} passages/s")
        finally:
            ray.shutdown()
    speed_up = timings[1][0] / timings[2][0]
    overhead = (timings[1][0] - timings[1][1]) / n_shards
    print(f"speed-up of 2 workers over 1: {speed_up:.2f}x (target at least 1.7x)")
    print(f"scheduling overhead per shard (1 worker): {overhead * 1000:.1f} ms")


if __name__ == "__main__":
    main()
