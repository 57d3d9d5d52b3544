"""The result record: one JSON file per run key (suite, model, dataset, language, split and the settings
that change outputs), written atomically.

Beside it, the run itself in TREC format (gzipped), ordered by the evaluation protocol's
tie-break so that `trec_eval` on the file reproduces the recorded numbers. TREC columns are
separated by whitespace, so an id holding whitespace (LIMIT's documents are people's names) is
written with each whitespace character and `%` percent-encoded (`Geneva%20Durben`); so is each control
character (a NUL or a terminal escape would break the tools that read runs). `trec_id` and `id_from_trec`
are the two directions.

Everything that differs between two identical runs (dates, timings, energy, the machine, whether
encodings were computed or reused) is written in one block, `measured`, at the end of the JSON: strip
it and two identical runs give byte-identical files. Python code reads those fields as attributes of
the record all the same (`record.efficiency`, `record.created_at`).
"""

from __future__ import annotations

import gzip
import math
import os
import re
import tempfile
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer, model_validator

from harness.core.errors import InputError
from harness.core.files import safe_name
from harness.core.json_files import load_json
from harness.data.sampling import sample_label
from harness.record.energy import EnergyReading

SCHEMA_VERSION = 2
MEASURED_FIELDS = ("created_at", "efficiency", "energy", "environment", "encodings", "data_fingerprint")
"""The fields of the `measured` block: what varies between identical runs."""


class ModelInfo(BaseModel):
    name: str
    adapter: str
    family: str
    card_path: str | None
    card_sha256: str
    card: dict[str, Any]
    details: dict[str, Any] = Field(default_factory=dict)
    # `ModelFacts.to_dict()`: parameters, embedding_dimension, max_tokens, license (None where unknown);
    # empty in results written before they were recorded.
    facts: dict[str, Any] = Field(default_factory=dict)


class Efficiency(BaseModel):
    """Stage timings in seconds; throughput per second; per-query latency in milliseconds."""

    corpus_encode_s: float
    query_encode_s: float
    index_build_s: float
    search_s: float
    documents_per_s: float
    queries_per_s: float
    search_qps: float
    end_to_end_qps: float
    search_latency_ms: dict[str, float] = Field(default_factory=dict)
    latency_sample_size: int = 0
    index_size_bytes: int
    peak_memory_bytes: int
    baseline_memory_bytes: int
    peak_gpu_memory_bytes: int | None = None


class ResultRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_version: int = SCHEMA_VERSION
    created_at: str
    suite: str
    dataset: str
    split: str
    language: str
    query_language: str
    document_language: str
    model: ModelInfo
    index: dict[str, Any]
    k: int
    primary_metric: str
    metrics: dict[str, float]
    per_query: dict[str, dict[str, float]]
    protocol: dict[str, Any]
    dataset_identity: dict[str, Any]
    efficiency: Efficiency
    energy: EnergyReading | None
    environment: dict[str, Any]
    run_file: str
    # The run key (harness.run.keys): its id and the fields it hashes; None in results written before keys.
    run_key: dict[str, Any] | None = None
    # Per side (documents, queries): computed or reused from the embedding store, and the cost when computed.
    encodings: dict[str, Any] | None = None
    # The data's fingerprint when the run planned it (`harness.data.fingerprint`): hashes of the queries and
    # judgements, the corpus files' sizes and times. In `measured`: a copy of the same data has other times.
    data_fingerprint: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_measured(cls, data: Any) -> Any:
        """Schema 2 keeps the volatile fields under `measured`; schema 1 had them at the top level."""
        if isinstance(data, dict) and isinstance(data.get("measured"), dict):
            data = {**{key: value for key, value in data.items() if key != "measured"}, **data["measured"]}
        return data

    @model_serializer(mode="wrap")
    def _write_measured(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        data["measured"] = {name: data.pop(name) for name in MEASURED_FIELDS if name in data}
        return data

    @property
    def sampled(self) -> bool:
        return bool(self.dataset_identity.get("sampled"))

    @property
    def run_key_id(self) -> str | None:
        return str(self.run_key["id"]) if self.run_key else None

    @property
    def variant(self) -> str:
        """What sets this result apart from the model's plain run (`index seismic, k 100`); empty for the plain run."""
        return str(self.run_key.get("variant", "")) if self.run_key else ""

    @property
    def sample(self) -> str:
        """What the result was computed on when it is a sample (`50 queries, 1,000 docs`); empty on full data.
        A limit the data did not exceed (50 queries of 30) drew nothing and is not said."""
        if not self.sampled:
            return ""
        drawn = self.dataset_identity.get("sampling") or {}

        def limit(name: str, full: str) -> int | None:
            value = drawn.get(name)
            return value if value is not None and value < drawn.get(full, math.inf) else None

        queries, documents = limit("max_queries", "full_num_queries"), limit("corpus_size", "full_num_documents")
        return sample_label(queries, documents, int(drawn.get("seed") or 0)) or "sampled"

    @property
    def display_name(self) -> str:
        """The model's name, with its variant and its sample when it has them: how reports, comparisons and
        exports label a result (`bm25 [index seismic, 50 queries]`). Results written before samples were
        described carry `sampled` in their variant; the sample replaces it."""
        parts = [part for part in self.variant.split(", ") if part and part != "sampled"]
        if self.sample:
            parts.append(self.sample)
        return f"{self.model.name} [{', '.join(parts)}]" if parts else self.model.name


_ESCAPED = re.compile(r"[%\s\x00-\x1f\x7f-\x9f]")  # `%`, whitespace and the control characters (Unicode Cc)


def trec_id(identifier: str) -> str:
    """An id as a TREC run column: whitespace, control characters and `%` percent-encoded, everything else as
    it is."""
    return _ESCAPED.sub(lambda match: "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8")), identifier)


def id_from_trec(column: str) -> str:
    """The id a TREC run column names (the inverse of `trec_id`)."""
    return urllib.parse.unquote(column) if "%" in column else column


def run_tag(name: str) -> str:
    """A run's name as the TREC tag column, one token whatever the name (`rrf:bm25 [sampled]` ->
    `rrf:bm25__sampled_`): trec_eval and ranx split lines on whitespace, so a space would add columns."""
    return re.sub(r"[^A-Za-z0-9._:+@=-]", "_", name) or "_"


def result_stem(
    results_dir: Path, suite: str, model: str, dataset: str, language: str, split: str, tag: str | None = None
) -> Path:
    """`<results>/<suite>/<model>/<dataset>.<language>.<split>[.<tag>]`; `harness run` tags each file with its
    index kind, `sampled` when sampled, and its run key, so results of different keys never share a file."""
    name = ".".join(safe_name(part) for part in (dataset, language, split, *([tag] if tag else [])))
    return results_dir / safe_name(suite) / safe_name(model) / name


def _write_temporary(path: Path, write: Any, binary: bool = False) -> Path:
    """Write a complete file beside `path` under a temporary name (removed again if writing fails)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; results are meant to be shared
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def _atomic_write(path: Path, write: Any, binary: bool = False) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file."""
    temporary = _write_temporary(path, write, binary)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write_run(lines: Iterable[str]) -> Any:
    def write(stream: Any) -> None:
        with gzip.GzipFile(fileobj=stream, mode="wb", mtime=0) as compressed:
            chunk: list[str] = []
            for line in lines:  # compressed in chunks of lines: one call per line costs seconds at k=1000
                chunk.append(line)
                if len(chunk) == 8192:
                    compressed.write("".join(chunk).encode("utf-8"))
                    chunk.clear()
            compressed.write("".join(chunk).encode("utf-8"))

    return write


def write_run_file(path: Path, lines: Iterable[str]) -> None:
    _atomic_write(path, _write_run(lines), binary=True)


def write_result(stem: Path, record: ResultRecord, run_lines: Iterable[str]) -> Path:
    """Both files are written in full under temporary names before either is renamed into place, the run
    first: a failed write (a full disk) leaves neither, and a result JSON on disk always has its run."""
    run_path = stem.with_name(stem.name + ".trec.gz")
    json_path = stem.with_name(stem.name + ".json")
    record = record.model_copy(update={"run_file": run_path.name})
    run_temporary = _write_temporary(run_path, _write_run(run_lines), binary=True)
    try:
        json_temporary = _write_temporary(json_path, lambda s: s.write(record.model_dump_json(indent=1)))
    except BaseException:
        run_temporary.unlink(missing_ok=True)
        raise
    os.replace(run_temporary, run_path)
    os.replace(json_temporary, json_path)
    return json_path


def rewrite_measured(path: Path, record: ResultRecord) -> None:
    """Rewrite a result JSON whose `measured` block alone changed (atomically; its run is untouched)."""
    _atomic_write(path, lambda stream: stream.write(record.model_dump_json(indent=1)))


def read_result(path: Path) -> ResultRecord:
    try:
        return ResultRecord.model_validate(load_json(path))
    except ValidationError as error:
        raise InputError.from_validation(error, path=path) from None


def iter_result_files(results_dir: Path) -> Iterator[Path]:
    yield from sorted(p for p in results_dir.rglob("*.json") if not p.name.startswith("."))


def load_results(results_dir: Path) -> list[ResultRecord]:
    return [read_result(path) for path in iter_result_files(results_dir)]
