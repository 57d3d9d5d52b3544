"""Run identity: one key per (unit, model, settings that change outputs), computed before any work.

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

`variant` names what sets a result apart from the model's plain run, for labels
(`bm25 [index seismic]`); it is empty for the plain run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.catalog.cards import ModelCard
from harness.catalog.suites import Unit
from harness.encode import EncodeSettings
from harness.index import DEFAULT_INDEX

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
    if unit.sampling and unit.sampling.requested:
        parts.append("sampled")
    return ", ".join(parts)


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
