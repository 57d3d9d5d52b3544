"""mteb's own evaluation of a sentence-transformers model on a local BEIR-layout copy of an mteb task.

The peer side of `scifact_vs_mteb.py`: mteb's task definition, mteb's encode and search, mteb's
metrics, fed the same local files the harness reads (the hub is unreachable here).

    python benchmarks/mteb_beir_local.py --data ../shared/data/beir-scifact --task SciFact --model PATH --out x.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/")
    parser.add_argument("--task", default="SciFact", help="mteb task whose definition (metrics, k) is used")
    parser.add_argument("--split", default="test")
    parser.add_argument("--model", required=True, help="local sentence-transformers model folder")
    parser.add_argument("--out", type=Path, required=True, help="where to write {'ndcg@10': ..., 'recall@100': ...}")
    args = parser.parse_args()

    import mteb
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer

    qrels: dict[str, dict[str, int]] = {}
    for line in (args.data / "qrels" / f"{args.split}.tsv").read_text().splitlines()[1:]:
        query_id, doc_id, score = line.split("\t")
        qrels.setdefault(query_id, {})[doc_id] = int(score)
    corpus = [
        {"id": r["_id"], "title": r.get("title") or "", "text": r["text"]}
        for r in read_jsonl(args.data / "corpus.jsonl")
    ]
    queries = [
        {"id": r["_id"], "text": r["text"]} for r in read_jsonl(args.data / "queries.jsonl") if r["_id"] in qrels
    ]

    task = mteb.get_task(args.task)
    task.dataset = {
        "default": {
            args.split: {
                "corpus": Dataset.from_list(corpus),
                "queries": Dataset.from_list(queries),
                "relevant_docs": qrels,
                "top_ranked": None,
            }
        }
    }
    task.data_loaded = True
    model = SentenceTransformer(args.model, device="cpu")
    result = mteb.evaluate(model, task, cache=None, co2_tracker=False, show_progress_bar=False)
    scores = result.task_results[0].scores[args.split][0]
    args.out.write_text(json.dumps({"ndcg@10": scores["ndcg_at_10"], "recall@100": scores["recall_at_100"]}))


if __name__ == "__main__":
    main()
