"""Encoding on Ray: encode time of one corpus with 1 and 2 CPU workers, the speed-up, and the overhead per shard.

Everything is what `harness run --ray` uses: a local Ray instance, `RayEncodingPool` workers that load
the model once, and `EmbeddingStore.encode` writing the shards into a fresh store per measurement.
Each worker runs torch with `--threads` threads (1 by default, so 2 workers use the 2 cores of this
machine; the one-process baseline uses the same count). Workers are warmed up on other texts first, so
model loading is not timed. The corpus is the documents of `--data` (default: SciFact in
../shared/data/beir-scifact, beside the repository) when present, else seeded synthetic sentences.

    python benchmarks/ray_scaling.py                                  # all-minilm-l6-v2, 2,000 passages
    python benchmarks/ray_scaling.py --passages 500 --shard-size 50   # a quick look
    python benchmarks/ray_scaling.py --device cuda --dtype bfloat16 --workers 1 --passages 100000 \
        --shard-size 16384 --batch-size 256 --peak-tflops 989           # one GPU worker (H100/H200 bf16 dense peak)

Prints encode seconds for one process, 1 worker and 2 workers, passages/s, the speed-up of 2 workers
over 1 (target: at least 1.7x for a model whose forward passes dominate), and the harness's scheduling
overhead per shard (1 worker: wall time less the worker's own encode time, divided by the shards).
For each run it also prints tokens/s (the encoder's own tokenizer, inputs truncated to its document
budget, special tokens included) and, with `--peak-tflops`, the model FLOP utilisation: tokens/s x 2 x
the checkpoint's non-embedding parameters (counted from its safetensors header) over the peak, the usual
2N-per-token estimate that leaves attention's sequence-length term out.
Figures measured on a shared, loaded machine say little about an idle one: say how loaded it was.
"""

from __future__ import annotations

import argparse
import json
import random
import struct
import tempfile
import time
from pathlib import Path

import ray
import torch

from harness.catalog.cards import load_card
from harness.encode import Encoder, EncodeSettings
from harness.models.adapters import load_encoder
from harness.run.distributed import ClusterSettings, ray_pool
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


def token_count(encoder: Encoder, texts: list[str]) -> int:
    """Tokens the encoder's forward passes read: each text's tokens, truncated to the document budget,
    plus the special tokens around them."""
    budget = encoder.document_budget("en")
    if budget is None:
        raise SystemExit(f"{encoder.card.name} has no tokenizer to count tokens with")
    special = len(budget.tokenizer("", add_special_tokens=True)["input_ids"])
    ids = budget.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    return sum(min(len(row), budget.content_tokens) + special for row in ids)


def non_embedding_parameters(encoder: Encoder) -> int | None:
    """Parameters outside the embedding tables, from the checkpoint's safetensors header(s)."""
    folder = Path(str(encoder.describe().get("weights", {}).get("path", "")))
    files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    total = 0
    for path in files:
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
        for name, tensor in header.items():
            if name != "__metadata__" and "embeddings" not in name:
                count = 1
                for size in tensor["shape"]:
                    count *= size
                total += count
    return total or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="all-minilm-l6-v2", help="model card name or path")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "beir-scifact")
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--shard-size", type=int, default=250)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker (and of the baseline)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda: one worker per GPU")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--workers", default="1,2", help="worker counts to time, comma-separated")
    parser.add_argument("--peak-tflops", type=float, help="the device's peak at --dtype, for model FLOP utilisation")
    args = parser.parse_args()
    counts = [int(part) for part in args.workers.split(",")]

    torch.set_num_threads(args.threads)
    texts = corpus(args.data, args.passages)
    warm_up = [f"warm-up {text}" for text in texts[: args.shard_size * 2]]
    card = load_card(args.model)
    encoder = load_encoder(card, EncodeSettings(batch_size=args.batch_size, device=args.device, dtype=args.dtype))
    n_shards = -(-len(texts) // args.shard_size)
    source = f"documents of {args.data}" if (args.data / "corpus.jsonl").is_file() else "synthetic sentences"
    print(f"{card.name}: {len(texts)} {source}, {n_shards} shards of {args.shard_size}, {args.threads} thread(s)")
    tokens, parameters = token_count(encoder, texts), non_embedding_parameters(encoder)
    print(f"{tokens} tokens; {parameters or 'unknown'} non-embedding parameters; {args.device} {args.dtype}")

    def rates(seconds: float) -> str:
        line = f"{len(texts) / seconds:8.1f} passages/s  {tokens / seconds:10.0f} tokens/s"
        if args.peak_tflops and parameters:
            line += f"  MFU {tokens / seconds * 2 * parameters / (args.peak_tflops * 1e12):.1%}"
        return line

    with tempfile.TemporaryDirectory(prefix="ray-scaling-") as folder:
        root = Path(folder)
        EmbeddingStore(root / "warm", args.shard_size).encode(encoder, warm_up, "en", "document")
        start = time.perf_counter()
        EmbeddingStore(root / "one", args.shard_size).encode(encoder, texts, "en", "document")
        one_process = time.perf_counter() - start
        print(f"one process   {one_process:8.2f} s  {rates(one_process)}")

        ray.init(num_cpus=max(2, *counts), include_dashboard=False, log_to_driver=False)
        try:
            timings = {}
            for workers in counts:
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
                print(f"{name:<13} {wall:8.2f} s  {rates(wall)}")
        finally:
            ray.shutdown()
    if 1 in timings and 2 in timings:
        print(f"speed-up of 2 workers over 1: {timings[1][0] / timings[2][0]:.2f}x (target at least 1.7x)")
    if 1 in timings:
        overhead = (timings[1][0] - timings[1][1]) / n_shards
        print(f"scheduling overhead per shard (1 worker): {overhead * 1000:.1f} ms")


if __name__ == "__main__":
    main()
