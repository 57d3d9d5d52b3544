"""Run identity: one key per (unit, model, settings that change outputs), computed before any work, and the
check that a result kept under its key was computed on the data the unit reads now.

Two results with the same key are the same experiment: `harness run` skips a unit whose result
exists with its key (`--overwrite` recomputes it), and reports keep the newest of each key. Results
of different keys never share a file. The key hashes:

- the unit: suite, dataset, language (pair), split, the dataset's source parameters, its metrics,
  and its sampling (`--max-queries`, `--corpus-sample`, `--seed`);
- the model: its card's name and hash (a card edit is a new experiment);
- encode settings that change outputs: dtype, precision mode, query/document max-length overrides, MaxP,
  the stored dtype;
- the index kind and parameters actually used, and the depth k.

Settings that change only speed or the measurement (device, batch size, latency sample, energy)
are left out: rerunning with them is the same experiment.

The data's content is not in the key, but every result carries it twice: `dataset_identity.checksum`, a
SHA-256 of everything `load` read (computed while reading), and, in `measured`, `data_fingerprint`, a cheap
fingerprint of the files taken before reading them (`harness.data.fingerprint`: the bytes of the queries and
judgements hashed, the corpus files' sizes and modification times, or a pinned release). The key cannot hold
the content: it is computed before any work, for every source, and a Hugging Face dataset not yet in the
cache has no content before it is downloaded; the same experiment would get two keys. So a result under its
key is kept only when (`why_recompute`):

1. its TREC run is beside it (a result without its run is recomputed);
2. its recorded fingerprint matches the unit's current one: a different hash of the queries or judgements
   recomputes it at once, naming what changed; equal hashes and stamps keep it without reading the data;
3. otherwise the data is loaded (as recomputing would) and its checksum compared with the recorded one:
   equal keeps the result (and records the current fingerprint, so the next rerun needs no loading),
   different recomputes it. This settles what a fingerprint cannot: a corpus with a new modification time
   (a copied folder), a new ir_datasets release, data not on this machine yet, a result written before
   fingerprints were recorded.

Per source kind: local files (`beir`, `parallel-beir`, `trec`, `esci` and Hugging Face datasets read from a
`path`) and Hugging Face or MKQA files already in the cache (which `load` reads before the hub) are
fingerprinted from the files `load` will read; ir_datasets by its release and dataset id, since it pins
every file it downloads by an MD5 listed in the release; files not on this machine have no fingerprint and
go through step 3, whose loading downloads them, as a recomputation would. A source kind that does not list
its files (`Source.data_files`) always goes through step 3: slower, never wrong.

The key's fields did not change with this check, so `KEY_VERSION` stays 1: results written before it keep
their file names and are checked once by step 3 (against the checksum they recorded), then kept or
recomputed.

`variant` names the settings that set a result apart from the model's plain run, for labels
(`bm25 [index seismic]`); it is empty for the plain run. A sample is not a setting of the key's: the result
says what was drawn (`ResultRecord.sample`, `bm25 [50 queries]`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.catalog.cards import ModelCard
from harness.catalog.suites import Unit
from harness.core.errors import InputError
from harness.data import RetrievalTask
from harness.data.fingerprint import DataFingerprint
from harness.encode import EncodeSettings
from harness.index import DEFAULT_INDEX
from harness.record import ResultRecord, read_result
from harness.record.result import rewrite_measured
from harness.results import StoredResult

KEY_VERSION = 1


@dataclass(frozen=True)
class RunKey:
    id: str  # sha256 hex of the canonical JSON of `fields`
    fields: Mapping[str, Any]
    variant: str

    @property
    def file_tag(self) -> str:
        """What a result file name carries after `<dataset>.<language>.<split>`: index kind, sampling, key."""
        sampled = ".sampled" if self.fields["sampling"] else ""
        return f"{self.fields['index']['kind']}{sampled}.{self.id[:12]}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "variant": self.variant, "fields": dict(self.fields)}


def resolved_index(card: ModelCard, family: str, override: Mapping[str, Any] | None) -> dict[str, Any]:
    """The index a unit is searched with: the run's `--index`, else the card's, else the family's default."""
    spec = dict(override or card.index or {})
    spec.setdefault("kind", DEFAULT_INDEX[family])  # type: ignore[index]
    return spec


def _variant(
    unit: Unit,
    index: Mapping[str, Any],
    card_index: Mapping[str, Any],
    k: int | None,
    encode: EncodeSettings,
    stored_dtype: str,
) -> str:
    parts = []
    if dict(index) != dict(card_index):
        params = ",".join(f"{name}={value}" for name, value in sorted(index.items()) if name != "kind")
        parts.append(f"index {index['kind']}" + (f":{params}" if params else ""))
    if k is not None:
        parts.append(f"k {k}")
    if encode.dtype != "float32":
        parts.append(encode.dtype)
    if encode.precision is not None:
        parts.append(encode.precision)
    if encode.max_query_length is not None:
        parts.append(f"query length {encode.max_query_length}")
    if encode.max_document_length is not None:
        parts.append(f"document length {encode.max_document_length}")
    if stored_dtype != "float32":
        parts.append(f"stored {stored_dtype}")
    if unit.maxp != unit.dataset.maxp:
        parts.append("maxp" if unit.maxp else "no maxp")
    return ", ".join(parts)  # a sample is said by the result itself (`ResultRecord.sample`): what was drawn


def run_key(
    unit: Unit,
    card: ModelCard,
    family: str,
    *,
    k: int,
    encode: EncodeSettings,
    index_override: Mapping[str, Any] | None = None,
    k_override: int | None = None,
    stored_dtype: str = "float32",
) -> RunKey:
    """The key of running `card` (of `family`) on `unit` with these settings."""
    index = resolved_index(card, family, index_override)
    sampling = unit.sampling if unit.sampling and unit.sampling.requested else None
    fields: dict[str, Any] = {
        "key_version": KEY_VERSION,
        "suite": unit.suite,
        "dataset": unit.dataset.name,
        "languages": unit.languages.label,
        "split": unit.split,
        "source": {"kind": unit.source.kind, **unit.source.params.model_dump(mode="json")},
        "metrics": list(unit.metrics),
        "sampling": (
            {"max_queries": sampling.max_queries, "corpus_size": sampling.corpus_size, "seed": sampling.seed}
            if sampling
            else None
        ),
        "model": card.name,
        "card_sha256": card.sha256,
        "encode": {
            "dtype": encode.dtype,
            "precision": encode.precision,
            "max_query_length": encode.max_query_length,
            "max_document_length": encode.max_document_length,
            "maxp": unit.maxp,
            "stored_dtype": stored_dtype,
        },
        "index": index,
        "k": k,
    }
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    key_id = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    card_index = resolved_index(card, family, None)
    variant = _variant(unit, index, card_index, k_override, encode, stored_dtype)
    return RunKey(key_id, json.loads(canonical), variant)


def _roles(roles: list[str]) -> str:
    return roles[0] if len(roles) == 1 else f"{', '.join(roles[:-1])} and {roles[-1]}"


def why_recompute(
    path: Path, fingerprint: DataFingerprint | None, where: str, load: Callable[[], RetrievalTask]
) -> str | None:
    """None when the result at `path` (which exists) may be kept; else why it is recomputed, one line to say.

    `fingerprint` is the unit's data now (None when unknown), `where` names it (`dataset/language`), and `load`
    reads the data, called only to settle a doubt (see the module docstring)."""
    try:
        record = read_result(path)
        run = StoredResult(path, record).run_path
    except InputError as error:
        return f"{error}: recomputing it"
    if not run.is_file():
        return f"{path} has no TREC run ({run.name} is missing): recomputing it"
    recorded = DataFingerprint.from_dict(record.data_fingerprint)
    if fingerprint is not None and recorded is not None:
        changed = fingerprint.changed(recorded)
        if changed:
            return f"the {_roles(changed)} of {where} changed since {path} was written: recomputing it"
        doubtful = fingerprint.doubtful(recorded)
        if not doubtful:
            return None
    else:
        doubtful = ["data"]
    if load().identity.checksum != record.dataset_identity.get("checksum"):
        return f"the {_roles(doubtful)} of {where} changed since {path} was written: recomputing it"
    _record_fingerprint(path, record, fingerprint)
    return None


def _record_fingerprint(path: Path, record: ResultRecord, fingerprint: DataFingerprint | None) -> None:
    """A result found computed on the current data records its current fingerprint: the next rerun keeps it
    without loading the data."""
    if fingerprint is not None:
        rewrite_measured(path, record.model_copy(update={"data_fingerprint": fingerprint.to_dict()}))
