"""What the learned-sparse adapters (SPLADE-v3, BGE-M3 sparse, MILCO) share.

Each model maps a batch of token ids to one non-negative weight per vocabulary column; this
base class does the rest: length-sorted batches, column names from the tokenizers, the csr
matrix, post-hoc pruning (card `document_pruning` / `query_pruning`), and a strict check of a
checkpoint's state dict that names every missing, mismatched or unexpected tensor.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import field_validator

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError, SourceUnavailableError
from harness.core.json_files import load_json
from harness.encode import (
    DocumentBudget,
    Encoder,
    EncodeSettings,
    ModelFacts,
    ProgressCallback,
    Role,
    SparseRepresentation,
    Vocabulary,
    content_budget,
    length_sorted_batches,
)
from harness.encode.pruning import Pruning, prune
from harness.models.common import card_parameters, read_tensors, resolve_device, torch_precision
from harness.models.facts import module_parameters, readme_license
from harness.models.weights import CONFIG_AND_TOKENIZER_FILES, ResolvedWeights, WeightsSpec, resolve_weights

# Token positions scored by an MLM head at once: bounds the (batch, positions, vocabulary) logits.
POSITION_CHUNK = 64


class LearnedSparseParameters(WeightsSpec):
    max_query_length: int = 512
    max_document_length: int = 512
    query_pruning: str = "none"
    document_pruning: str = "none"

    @field_validator("query_pruning", "document_pruning")
    @classmethod
    def _valid_pruning(cls, value: str) -> str:
        return Pruning.parse(value).label


def tokenizer_terms(tokenizer: Any, size: int, prefix: str = "") -> list[str]:
    """Column names for token ids 0..size-1; ids the tokenizer lacks get a placeholder name."""
    names = tokenizer.convert_ids_to_tokens(list(range(min(size, len(tokenizer)))))
    names += [f"[id{i}]" for i in range(len(names), size)]
    return [prefix + name for name in names]


def max_saturated_logits(hidden: Any, mask: Any, head: Callable[[Any], Any]) -> Any:
    """SPLADE pooling, max over non-padding positions of log(1 + ReLU(head(h))), position chunk by chunk.

    Padding positions count as logit 0, as the authors' `(logits * mask).max(dim=1)` does; after
    the ReLU that equals a max over real tokens only.
    """
    import torch

    pooled = None
    for start in range(0, hidden.shape[1], POSITION_CHUNK):
        logits = head(hidden[:, start : start + POSITION_CHUNK]).float()
        logits = logits * mask[:, start : start + POSITION_CHUNK, None].to(logits.dtype)
        chunk_max = logits.max(dim=1).values
        pooled = chunk_max if pooled is None else torch.maximum(pooled, chunk_max)
    return torch.log1p(torch.relu(pooled))


def load_state_dict_file(folder: Path, names: Sequence[str]) -> tuple[dict[str, Any], Path]:
    """The first of `names` present in `folder` (a sharded `.index.json` is followed), on CPU, tensors only."""
    import torch

    for name in names:
        path = folder / name
        index = folder / f"{name}.index.json"
        if path.is_file():
            return read_tensors(path), path
        if index.is_file():
            shards = sorted(set(load_json(index)["weight_map"].values()))
            state: dict[str, torch.Tensor] = {}
            for shard in shards:
                state.update(read_tensors(folder / shard))
            return state, index
    raise InputError(f"no checkpoint file in {folder} (expected one of: {', '.join(names)})", path=folder)


def check_state_dict(
    state: Mapping[str, Any],
    expected: Mapping[str, tuple[int, ...]],
    path: Path,
    optional: Iterable[str] = (),
    ignored: Callable[[str], bool] = lambda key: False,
) -> None:
    """Refuse a checkpoint unless every expected tensor is there with its shape; name what is not.

    `optional` tensors may be absent; `ignored` ones may be present without being expected.
    """
    optional = set(optional)
    missing = [key for key in expected if key not in state and key not in optional]
    mismatched = [
        f"{key} {tuple(state[key].shape)} (expected {shape})"
        for key, shape in expected.items()
        if key in state and tuple(state[key].shape) != tuple(shape)
    ]
    unexpected = [key for key in state if key not in expected and not ignored(key)]
    problems = []
    for label, keys in (("missing", missing), ("wrong shape", mismatched), ("unexpected", unexpected)):
        if keys:
            shown = ", ".join(keys[:8]) + (f" and {len(keys) - 8} more" if len(keys) > 8 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise InputError("checkpoint does not match the expected layout; " + "; ".join(problems), path=path)


def expected_shapes(module: Any, prefix: str = "") -> dict[str, tuple[int, ...]]:
    return {prefix + key: tuple(value.shape) for key, value in module.state_dict().items()}


def take_prefix(state: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}


def sub_model_folders(checkpoint: Path, key: str, named: str) -> list[Path]:
    """Where a companion model is looked for beside a checkpoint folder, in order: `<checkpoint>/<key>/`
    (`encoder/`, `english/`), `<checkpoint>/<name>/` and `<checkpoint>/../<name>/`, `<name>` being the
    last part of the hub id the config names (`bge-m3-unsupervised` for BAAI/bge-m3-unsupervised)."""
    name = named.rstrip("/").rsplit("/", 1)[-1]
    return [checkpoint / key, checkpoint / name, checkpoint.parent / name]


class LearnedSparseEncoder(Encoder):
    """Subclasses load their model in `_load` and turn a tokenized batch into column weights in `_weights`."""

    family = "sparse"
    Parameters: type[LearnedSparseParameters] = LearnedSparseParameters

    def __init__(self, card: ModelCard, settings: EncodeSettings) -> None:
        super().__init__(card, settings)
        import torch

        self._torch = torch
        self.params = card_parameters(card, self.Parameters)
        self.weights: ResolvedWeights = resolve_weights(self.params, card)
        self._device = resolve_device(settings.device)
        self.precision = torch_precision(settings, card, self._device)
        self._dtype = self.precision.weights
        self.tokenizer, self.vocabulary = self._load(self.weights.path)
        self._query_pruning = Pruning.parse(self.params.query_pruning)
        self._document_pruning = Pruning.parse(self.params.document_pruning)

    @abstractmethod
    def _load(self, folder: Path) -> tuple[Any, Vocabulary]:
        """Load the model onto `self._device`; return its tokenizer and the output vocabulary."""

    @abstractmethod
    def _weights(self, inputs: dict[str, Any], role: Role) -> Any:
        """(batch, len(vocabulary)) non-negative weights for a tokenized batch; role is query or document."""

    def _networks(self) -> tuple[Any, ...]:
        """The torch modules `_weights` runs, loaded by `_load`: the result counts their parameters."""
        return ()

    @property
    def device(self) -> str:
        return self._device

    def model_facts(self) -> ModelFacts:
        """Counted on the modules `_load` built (a checkpoint may hold tensors encoding never uses, such as
        MILCO's alignment teacher); the dimension is the output vocabulary's size."""
        return ModelFacts(
            parameters=module_parameters(*self._networks()),
            embedding_dimension=len(self.vocabulary),
            max_tokens=self.max_length("document"),
            license=self.card.license or readme_license(self.weights.path),
        )

    def resolve_sub_weights(
        self, spec: WeightsSpec | None, default_location: str | None, key: str, checkpoint: Path
    ) -> ResolvedWeights:
        """A companion checkpoint (config, tokenizer): the card's `parameters.<key>`, else the one the main
        checkpoint's config names: a local folder, a copy beside the checkpoint (`sub_model_folders`),
        or the hub, fetching only config and tokenizer files."""
        card_key = f"parameters.{key}"
        if spec is not None:
            return resolve_weights(spec, self.card, CONFIG_AND_TOKENIZER_FILES, card_key)
        if not default_location:
            raise InputError(f"name the {key} checkpoint in the card", path=self.card.path, key=card_key)
        for folder in [Path(default_location).expanduser(), *sub_model_folders(checkpoint, key, default_location)]:
            if (folder / "config.json").is_file():
                return resolve_weights(WeightsSpec(path=str(folder)), self.card, key=card_key)
        try:
            return resolve_weights(
                WeightsSpec(hub_id=default_location), self.card, CONFIG_AND_TOKENIZER_FILES, card_key
            )
        except SourceUnavailableError as error:
            raise SourceUnavailableError(
                f"set `{card_key}.path` in {self.card.path or 'the card'} to a local copy of {default_location} "
                f"(its config and tokenizer files), or put one in {checkpoint / key}: the checkpoint's config "
                f"names the {key} checkpoint {default_location!r}, which is not on this machine ({error})"
            ) from None

    def max_length(self, role: Role) -> int:
        if role == "query":
            return self.settings.max_query_length or self.params.max_query_length
        return self.settings.max_document_length or self.params.max_document_length

    def encode_queries(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> SparseRepresentation:
        return self._encode(texts, "query", self._query_pruning, progress)

    def encode_documents(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> SparseRepresentation:
        return self._encode(texts, "document", self._document_pruning, progress)

    def document_budget(self, language: str) -> DocumentBudget:
        return content_budget(self.tokenizer, self.max_length("document"))

    def _encode(
        self, texts: Sequence[str], role: Role, pruning: Pruning, progress: ProgressCallback | None
    ) -> SparseRepresentation:
        torch = self._torch
        max_length = self.max_length(role)
        blocks: list[sp.csr_matrix] = []
        order: list[np.ndarray] = []
        with torch.inference_mode(), self.precision.context():
            for rows in length_sorted_batches([len(t) for t in texts], self.settings.batch_size):
                inputs = self.tokenizer(
                    [texts[i] for i in rows], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
                )
                inputs = {name: tensor.to(self._device) for name, tensor in inputs.items()}
                weights = self._weights(inputs, role).float().cpu().numpy()
                blocks.append(sp.csr_matrix(weights))
                order.append(rows)
                if progress:
                    progress(len(rows))
        n_columns = len(self.vocabulary)
        if not blocks:
            return SparseRepresentation(sp.csr_matrix((0, n_columns), dtype=np.float32), self.vocabulary)
        stacked = sp.vstack(blocks, format="csr")
        matrix = stacked[np.argsort(np.concatenate(order), kind="stable")].astype(np.float32)
        return SparseRepresentation(prune(matrix, pruning), self.vocabulary)

    def describe(self) -> dict[str, Any]:
        return {
            "weights": self.weights.to_dict(),
            "vocabulary": self.vocabulary.name,
            "columns": len(self.vocabulary),
            "view_columns": [view.__dict__ for view in self.vocabulary.blocks()],
            "max_query_length": self.max_length("query"),
            "max_document_length": self.max_length("document"),
            "query_pruning": self._query_pruning.label,
            "document_pruning": self._document_pruning.label,
            "device": self._device,
            **self.precision.describe(),
            "batch_size": self.settings.batch_size,
        }
