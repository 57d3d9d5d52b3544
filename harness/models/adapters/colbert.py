"""colbert-ai checkpoints without colbert-ai: ColBERTv2 (BERT), mColBERT-style (XLM-R), ColBERT-XM (XMOD).

The layout `HF_ColBERT.save_pretrained` writes: `config.json` of the backbone (`architectures:
["HF_ColBERT"]`); weights in `model.safetensors` or `pytorch_model.bin` (either possibly sharded with
an `.index.json`) holding the backbone under its base-model prefix (`bert.`, `roberta.` for XLM-R and
XMOD) and the projection `linear.weight` [dim, hidden] without bias; search settings in
`artifact.metadata`, a JSON ColBERTConfig (`query_maxlen`, `doc_maxlen`, `query_token_id`, ...).

Encoding as colbert-ai does it:
- queries: tokenise to `query_maxlen - 1` with max-length padding, insert the query marker after the
  first token, turn every pad into the mask token (query augmentation), attend to those masks only
  when `attend_to_mask_tokens`; every position keeps its vector (exactly `query_maxlen` per query);
- documents: tokenise to `doc_maxlen - 1`, insert the document marker after the first token, drop
  padding and the punctuation skip-list (each `string.punctuation` symbol's first token id);
- vectors: last hidden states -> `linear` -> L2 normalisation. Relevance is MaxSim (sum of maxima).
Marker "ids" in the metadata are token strings (`[unused0]`); XLM-R lacks them, so they map to the
unknown token exactly as in colbert-ai, and `describe()` records it.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError
from harness.core.json_files import load_json
from harness.encode import (
    DocumentBudget,
    EncodeSettings,
    ModelFacts,
    MultiVectorRepresentation,
    ProgressCallback,
    content_budget,
)
from harness.models.adapters.multivector import TokenizedText, TokenVectorEncoder, load_tokenizer
from harness.models.adapters.xmod import XmodRoutingParameters
from harness.models.common import card_parameters
from harness.models.facts import module_parameters, readme_license
from harness.models.weights import WeightsSpec, resolve_weights

METADATA_FILE = "artifact.metadata"
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
PROJECTION_KEY = "linear.weight"


class ColbertMetadata(BaseModel):
    """The ColBERTConfig keys encoding depends on; defaults are colbert-ai's own."""

    model_config = ConfigDict(extra="ignore")

    query_maxlen: int = Field(32, ge=2)
    doc_maxlen: int = Field(220, ge=2)
    dim: int | None = None
    query_token_id: str | int = "[unused0]"
    doc_token_id: str | int = "[unused1]"
    attend_to_mask_tokens: bool = False
    mask_punctuation: bool = True
    similarity: str = "cosine"


class ColbertParameters(WeightsSpec, XmodRoutingParameters):
    # Unset: the checkpoint's `query_maxlen` / `doc_maxlen`; `--max-*-length` overrides both.
    max_query_length: int | None = Field(None, ge=2)
    max_document_length: int | None = Field(None, ge=2)


def read_metadata(folder: Path) -> tuple[ColbertMetadata, Path | None]:
    """The checkpoint's ColBERTConfig (flat, or nested under `config` as older versions saved it)."""
    path = folder / METADATA_FILE
    if not path.is_file():
        return ColbertMetadata(), None
    raw = load_json(path)
    if isinstance(raw, dict) and isinstance(raw.get("config"), dict):
        raw = raw["config"]
    if not isinstance(raw, dict):
        raise InputError("expected a JSON object (a ColBERTConfig)", path=path)
    try:
        return ColbertMetadata.model_validate(raw), path
    except ValidationError as error:
        raise InputError.from_validation(error, path=path) from None


def read_checkpoint_tensor(folder: Path, key: str) -> Any:
    """One tensor from a checkpoint's weights (safetensors or torch pickle, sharded or not), read alone."""
    import torch
    from safetensors import safe_open

    weights = next((folder / name for name in WEIGHT_FILES if (folder / name).is_file()), None)
    if weights is None:
        raise InputError(f"no weights in {folder}; expected one of {', '.join(WEIGHT_FILES)}")
    if weights.name.endswith(".index.json"):
        weight_map = load_json(weights).get("weight_map", {})
        if key not in weight_map:
            raise InputError(f"the checkpoint has no tensor {key!r}", path=weights)
        weights = folder / weight_map[key]
    if weights.suffix == ".safetensors":
        with safe_open(str(weights), framework="pt") as handle:
            if key not in set(handle.keys()):
                raise InputError(f"the checkpoint has no tensor {key!r}", path=weights)
            return handle.get_tensor(key)
    state = torch.load(weights, map_location="cpu", weights_only=True, mmap=True)
    if key not in state:
        raise InputError(f"the checkpoint has no tensor {key!r}", path=weights)
    return state[key]


def load_backbone(folder: Path, card: ModelCard, dtype: Any) -> Any:
    """The encoder under the checkpoint's base-model prefix; every one of its tensors must be there."""
    from transformers import AutoModel

    options = {"dtype": dtype, "output_loading_info": True, "trust_remote_code": card.trust_remote_code}
    try:
        try:
            model, info = AutoModel.from_pretrained(folder, add_pooling_layer=False, **options)
        except TypeError:  # backbones without a pooler (DistilBERT, ELECTRA) take no such argument
            model, info = AutoModel.from_pretrained(folder, **options)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot load the checkpoint in {folder}: {error}", path=card.path) from None
    problems = sorted(info["missing_keys"]) or sorted(str(k) for k in info["mismatched_keys"])
    if problems:
        raise InputError(
            f"the weights in {folder} do not match a {type(model).__name__} under the prefix "
            f"'{model.base_model_prefix}.': missing or mis-shaped {', '.join(problems[:3])}"
            f"{' ...' if len(problems) > 3 else ''}",
            path=card.path,
        )
    return model


class ColbertEncoder(TokenVectorEncoder):
    Parameters = ColbertParameters

    def __init__(self, card: ModelCard, settings: EncodeSettings) -> None:
        super().__init__(card, settings)
        torch = self._torch
        self.params = card_parameters(card, ColbertParameters)
        self.weights = resolve_weights(self.params, card)
        folder = self.weights.path
        self.metadata, self.metadata_path = read_metadata(folder)
        if self.metadata.similarity != "cosine":
            raise InputError(
                f"similarity {self.metadata.similarity!r} is not supported (only colbert-ai's default, cosine)",
                path=self.metadata_path,
                key="similarity",
            )
        self.tokenizer = load_tokenizer(folder, card)
        dtype = self.precision.weights
        self.model = load_backbone(folder, card, dtype)
        self.projection = self._projection(read_checkpoint_tensor(folder, PROJECTION_KEY), dtype)
        self.model.eval().to(self._device)
        self.projection.eval().to(self._device)
        self._route_languages(self.params)

        self.query_marker = self._marker(self.metadata.query_token_id)
        self.document_marker = self._marker(self.metadata.doc_token_id)
        self.skiplist = self._skiplist() if self.metadata.mask_punctuation else []
        self._skiplist_tensor = torch.tensor(self.skiplist, dtype=torch.long, device=self._device)

    @property
    def query_length(self) -> int:
        return self.settings.max_query_length or self.params.max_query_length or self.metadata.query_maxlen

    @property
    def document_length(self) -> int:
        return self.settings.max_document_length or self.params.max_document_length or self.metadata.doc_maxlen

    def _projection(self, weight: Any, dtype: Any) -> Any:
        hidden = self.model.config.hidden_size
        expected_dim = self.metadata.dim or weight.shape[0]
        if weight.ndim != 2 or tuple(weight.shape) != (expected_dim, hidden):
            raise InputError(
                f"{PROJECTION_KEY} has shape {list(weight.shape)}, expected [{expected_dim}, {hidden}] "
                "(metadata dim x backbone hidden size)",
                path=self.card.path,
            )
        linear = self._torch.nn.Linear(hidden, expected_dim, bias=False, dtype=dtype)
        with self._torch.no_grad():
            linear.weight.copy_(weight.to(dtype))
        return linear

    def _marker(self, token: str | int) -> dict[str, Any]:
        token_id = token if isinstance(token, int) else self.tokenizer.convert_tokens_to_ids(token)
        if token_id is None or not 0 <= int(token_id) < self.model.config.vocab_size:
            raise InputError(f"marker {token!r} has no id in the vocabulary", path=self.metadata_path)
        return {"token": token, "id": int(token_id), "is_unknown_token": int(token_id) == self.tokenizer.unk_token_id}

    def _skiplist(self) -> list[int]:
        first_ids = (self.tokenizer.encode(symbol, add_special_tokens=False) for symbol in string.punctuation)
        return sorted({ids[0] for ids in first_ids if ids})

    def tokenize_queries(self, texts: Sequence[str]) -> list[TokenizedText]:
        """Marker after the first token, pads turned into [MASK]: always `query_length` tokens."""
        encoded = self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=self.query_length - 1)
        pad, mask_id = self.tokenizer.pad_token_id, self.tokenizer.mask_token_id
        attend_masks = self.metadata.attend_to_mask_tokens
        tokenized = []
        for ids, attention in zip(encoded["input_ids"], encoded["attention_mask"], strict=True):
            ids = [ids[0], self.query_marker["id"], *ids[1:]]
            attention = [attention[0], 1, *attention[1:]]
            ids = [mask_id if token == pad else token for token in ids]
            if attend_masks:
                attention = [1 if token == mask_id else seen for token, seen in zip(ids, attention, strict=True)]
            tokenized.append((ids, attention))
        return tokenized

    def tokenize_documents(self, texts: Sequence[str]) -> list[TokenizedText]:
        encoded = self.tokenizer(list(texts), truncation=True, max_length=self.document_length - 1)
        return [
            ([ids[0], self.document_marker["id"], *ids[1:]], [attention[0], 1, *attention[1:]])
            for ids, attention in zip(encoded["input_ids"], encoded["attention_mask"], strict=True)
        ]

    def encode_queries(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> MultiVectorRepresentation:
        def every_position(ids: Any, attention: Any) -> Any:
            return ids != self.tokenizer.pad_token_id  # no pads are left after augmentation

        return self._encode_tokenized(self.tokenize_queries(texts), language, "query", every_position, progress)

    def encode_documents(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> MultiVectorRepresentation:
        def content_tokens(ids: Any, attention: Any) -> Any:
            return (ids != self.tokenizer.pad_token_id) & ~self._torch.isin(ids, self._skiplist_tensor)

        return self._encode_tokenized(self.tokenize_documents(texts), language, "document", content_tokens, progress)

    def document_budget(self, language: str) -> DocumentBudget:
        """`document_length` holds the tokenizer's specials and the document marker (see `tokenize_documents`)."""
        return content_budget(self.tokenizer, self.document_length, extra_tokens=1)

    def describe(self) -> dict[str, Any]:
        return {
            **self._describe_common(),
            "layout": "colbert-ai",
            "base_model_prefix": self.model.base_model_prefix,
            "metadata_file": str(self.metadata_path) if self.metadata_path else None,
            "query_length": self.query_length,
            "document_length": self.document_length,
            "query_marker": self.query_marker,
            "document_marker": self.document_marker,
            "attend_to_mask_tokens": self.metadata.attend_to_mask_tokens,
            "skiplist_size": len(self.skiplist),
            "score": "maxsim (sum over query vectors of the best document vector)",
        }

    def model_facts(self) -> ModelFacts:
        """Counted on the loaded backbone and projection, which this encoder builds in `__init__` anyway."""
        return ModelFacts(
            parameters=module_parameters(self.model, self.projection),
            embedding_dimension=self.dim,
            max_tokens=self.document_length,
            license=self.card.license or readme_license(self.weights.path),
        )


ADAPTER = ColbertEncoder
