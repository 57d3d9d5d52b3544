"""Corpus texts off the heap: peak memory of reading an mMARCO-sized collection and passing over its passages.

Writes a synthetic MS MARCO-style collection (`pid<TAB>passage`, seeded words, about 330 characters a passage
like MS MARCO's) and, each in a fresh process, reads it and passes over every passage in shard-sized slices the
way the embedding store feeds an encoder:

- `harness`: `read_corpus` (what every file-based source uses), titles and texts spilled to a temporary file;
- `lists`: the same lines parsed into Python lists of ids, titles and texts (what the harness held before).

Prints for each the peak resident memory, the read time and the pass time, and their ratios.

    python benchmarks/corpus_memory.py                       # 8,841,823 passages (mMARCO's), about 2.9 GB
    python benchmarks/corpus_memory.py --passages 500000     # a quick look
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SLICE = 10_000  # texts per store shard


def write_collection(path: Path, passages: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{index:x}" for index in range(20_000)])
    written = 0
    with path.open("w", encoding="utf-8") as handle:
        for start in range(0, passages, 100_000):
            count = min(100_000, passages - start)
            lengths = rng.integers(40, 70, size=count)
            words = vocabulary[rng.integers(0, len(vocabulary), size=int(lengths.sum()))]
            bounds = np.concatenate([[0], np.cumsum(lengths)])
            lines = [f"{start + row}\t{' '.join(words[bounds[row] : bounds[row + 1]])}\n" for row in range(count)]
            handle.writelines(lines)
            written += sum(map(len, lines))
    return written


def measure(path: Path, mode: str) -> dict[str, float]:
    started = time.perf_counter()
    if mode == "harness":
        from harness.data.formats import read_corpus

        corpus = read_corpus([path], "en")
        ids, documents = corpus.ids, corpus.joined_texts()
    else:
        ids, titles, texts = [], [], []
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                doc_id, _, text = line.rstrip("\n").partition("\t")
                ids.append(doc_id)
                titles.append("")
                texts.append(text)
        documents = texts
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    characters = sum(len(text) for start in range(0, len(ids), SLICE) for text in documents[start : start + SLICE])
    pass_s = time.perf_counter() - started
    peak_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"passages": len(ids), "characters": characters, "read_s": read_s, "pass_s": pass_s, "peak": peak_bytes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=8_841_823)
    parser.add_argument("--dir", type=Path, default=None, help="where the collection is written (default: a temp dir)")
    parser.add_argument("--measure", choices=("harness", "lists"), help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--collection", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.collection, args.measure)))
        return

    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        collection = Path(folder) / "collection.tsv"
        started = time.perf_counter()
        size = write_collection(collection, args.passages)
        print(
            f"collection: {args.passages:,} passages, {size / 2**30:.2f} GiB, written in "
            f"{time.perf_counter() - started:.1f} s"
        )
        figures = {}
        for mode in ("harness", "lists"):
            command = [sys.executable, __file__, "--measure", mode, "--collection", str(collection)]
            output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO).stdout
            figures[mode] = json.loads(output.strip().splitlines()[-1])
            f = figures[mode]
            print(
                f"{mode:8s} peak RSS {f['peak'] / 2**30:6.2f} GiB   read {f['read_s']:7.1f} s   "
                f"pass {f['pass_s']:6.1f} s   ({f['characters']:,} characters)"
            )
        harness, lists = figures["harness"], figures["lists"]
        assert harness["characters"] == lists["characters"], "both passes must see the same passages"
        print(
            f"harness / lists: peak RSS {harness['peak'] / lists['peak']:.2f}x, read "
            f"{harness['read_s'] / lists['read_s']:.2f}x, pass {harness['pass_s'] / lists['pass_s']:.2f}x"
        )


if __name__ == "__main__":
    main()
