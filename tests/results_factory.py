"""Result records built in tests, in the exact schema `harness run` writes (validated by ResultRecord)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.record import ResultRecord, result_stem, write_result


def make_record(
    model: str = "bm25",
    dataset: str = "tiny",
    language: str = "en",
    *,
    suite: str = "suite",
    split: str = "test",
    per_query: dict[str, dict[str, float]] | None = None,
    primary_metric: str = "ndcg@10",
    family: str = "sparse",
    references: list[dict[str, Any]] | None = None,
    latency_ms: tuple[float, float] = (1.0, 2.0),
    index_size_bytes: int = 1000,
    emissions_kg: float | None = 1e-6,
    checksum: str = "sha256:abc",
    created_at: str = "2026-01-01T00:00:00+00:00",
    sampled: bool = False,
    **extra: Any,
) -> ResultRecord:
    """A record whose means are the means of `per_query` (default: two queries scoring 0.5 and 0.7)."""
    per_query = per_query or {primary_metric: {"q1": 0.5, "q2": 0.7}}
    metrics = {name: sum(values.values()) / len(values) for name, values in per_query.items()}
    query_language, _, document_language = language.partition("-")
    data: dict[str, Any] = {
        "created_at": created_at,
        "suite": suite,
        "dataset": dataset,
        "split": split,
        "language": language,
        "query_language": query_language,
        "document_language": document_language or query_language,
        "model": {
            "name": model,
            "adapter": "bm25" if family == "sparse" else "dense",
            "family": family,
            "card_path": None,
            "card_sha256": "sha256:card",
            "card": {"name": model, "references": references or []},
            "details": {},
        },
        "index": {"kind": "sparse-exact"},
        "k": 100,
        "primary_metric": primary_metric,
        "metrics": metrics,
        "per_query": per_query,
        "protocol": {"name": "trec_eval-c", "relevance_level": 1},
        "dataset_identity": {
            "source": "beir-local",
            "location": "/data",
            "checksum": checksum,
            "num_documents": 10,
            "num_queries": len(next(iter(per_query.values()))),
            "num_judgements": 3,
            "sampled": sampled,
        },
        "efficiency": {
            "corpus_encode_s": 1.0,
            "query_encode_s": 0.5,
            "index_build_s": 0.1,
            "search_s": 0.1,
            "documents_per_s": 10.0,
            "queries_per_s": 4.0,
            "search_qps": 20.0,
            "end_to_end_qps": 3.0,
            "search_latency_ms": {"p50": latency_ms[0], "p95": latency_ms[1]},
            "latency_sample_size": 2,
            "index_size_bytes": index_size_bytes,
            "peak_memory_bytes": 10_000_000,
            "baseline_memory_bytes": 5_000_000,
        },
        "energy": {"energy_kwh": 1e-5, "emissions_kg": emissions_kg, "country_iso_code": "NLD"}
        if emissions_kg is not None
        else None,
        "environment": {
            "harness_version": "0.1.0",
            "git_commit": "0123456789abcdef",
            "git_dirty": False,
            "libraries": {"python": "3.11"},
            "hardware": {"cpu": "Test CPU", "cpu_cores": 2, "device": "cpu", "gpu": None},
        },
        "run_file": "",
        **extra,
    }
    return ResultRecord.model_validate(data)


def save(results_dir: Path, record: ResultRecord, run_lines: list[str] | None = None) -> Path:
    """Write `record` where `harness run` would, with a TREC run beside it."""
    stem = result_stem(results_dir, record.suite, record.model.name, record.dataset, record.language, record.split)
    lines = run_lines or [f"q1 Q0 d1 1 1.0 {record.model.name}\n"]
    return write_result(stem, record, lines)
