"""Dense single-vector encoders on Hugging Face transformers (MiniLM, mE5, BGE-M3 dense, Qwen3-Embedding).

One vector per text: the encoder's last hidden states pooled (mean, CLS or last token),
optionally L2-normalised, with per-role prefixes or instructions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError
from harness.encode import (
    DenseRepresentation,
    DocumentBudget,
    Encoder,
    EncodeSettings,
    ModelFacts,
    ProgressCallback,
    Role,
    content_budget,
    length_sorted_batches,
)
from harness.models.common import card_parameters, declared_architecture, resolve_device, torch_precision
from harness.models.facts import checkpoint_parameters, config_number, readme_license
from harness.models.weights import ResolvedWeights, WeightsSpec, resolve_weights

TOKENIZE_WINDOW_BATCHES = 64


class DenseParameters(WeightsSpec):
    pooling: Literal["mean", "cls", "last"] = "mean"
    normalize: bool = True
    query_prefix: str = ""
    document_prefix: str = ""
    max_query_length: int = 512
    max_document_length: int = 512
    # Qwen3-Embedding pools the last token, which must be this one: appended after truncation.
    append_token: str | None = None
    padding_side: Literal["left", "right"] | None = None


@dataclass(frozen=True)
class _Checkpoint:
    tokenizer: Any
    model: Any
    append_id: int | None  # the card's `append_token`, added after truncation


class DenseEncoder(Encoder):
    family = "dense"
    Parameters = DenseParameters

    def __init__(self, card: ModelCard, settings: EncodeSettings) -> None:
        super().__init__(card, settings)
        self.params = card_parameters(card, self.Parameters)
        self.weights: ResolvedWeights = resolve_weights(self.params, card)
        self._device = resolve_device(settings.device)
        self.precision = torch_precision(settings, card, self._device)
        self._architecture = declared_architecture(self.weights.path, card)
        self._checkpoint: _Checkpoint | None = None

    @property
    def tokenizer(self) -> Any:
        return self._loaded().tokenizer

    @property
    def model(self) -> Any:
        return self._loaded().model

    def _loaded(self) -> _Checkpoint:
        """Tokenizer and model, read on first use: a rerun whose encodings are all stored never loads them."""
        if self._checkpoint is None:
            self._checkpoint = self._load_checkpoint()
        return self._checkpoint

    def _load_checkpoint(self) -> _Checkpoint:
        from transformers import AutoModel, AutoTokenizer

        card = self.card
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.weights.path, trust_remote_code=card.trust_remote_code)
            model = AutoModel.from_pretrained(
                self.weights.path, trust_remote_code=card.trust_remote_code, dtype=self.precision.weights
            )
        except (OSError, ValueError) as error:
            raise InputError(f"cannot load the checkpoint in {self.weights.path}: {error}", path=card.path) from None
        if self.params.padding_side:
            tokenizer.padding_side = self.params.padding_side
        append_id: int | None = None
        if self.params.append_token is not None:
            token_id = tokenizer.convert_tokens_to_ids(self.params.append_token)
            if token_id is None or token_id == tokenizer.unk_token_id:
                raise InputError(
                    f"token {self.params.append_token!r} is not in the tokenizer's vocabulary",
                    path=card.path,
                    key="parameters.append_token",
                )
            append_id = int(token_id)
        return _Checkpoint(tokenizer, model.eval().to(self._device), append_id)

    @property
    def device(self) -> str:
        return self._device

    def max_length(self, role: Role) -> int:
        """Tokens per input of `role`, special and appended tokens included: --max-*-length, else the card's."""
        if role == "query":
            return self.settings.max_query_length or self.params.max_query_length
        return self.settings.max_document_length or self.params.max_document_length

    def prefix(self, role: Role) -> str:
        return self.params.query_prefix if role == "query" else self.params.document_prefix

    def encode_queries(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> DenseRepresentation:
        return self._encode(texts, language, "query", progress)

    def encode_documents(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> DenseRepresentation:
        return self._encode(texts, language, "document", progress)

    def document_budget(self, language: str) -> DocumentBudget:
        extra = 1 if self._loaded().append_id is not None else 0
        return content_budget(self.tokenizer, self.max_length("document"), self.prefix("document"), extra)

    def _tokenize(self, texts: list[str], max_length: int) -> dict[str, list[list[int]]]:
        """Token ids without padding, truncated; the card's `append_token` goes after truncation."""
        append_id = self._loaded().append_id
        if append_id is None:
            return dict(self.tokenizer(texts, truncation=True, max_length=max_length))
        encoded = dict(self.tokenizer(texts, truncation=True, max_length=max_length - 1))
        encoded["input_ids"] = [[*ids, append_id] for ids in encoded["input_ids"]]
        encoded["attention_mask"] = [[*mask, 1] for mask in encoded["attention_mask"]]
        if "token_type_ids" in encoded:
            encoded["token_type_ids"] = [types + types[-1:] for types in encoded["token_type_ids"]]
        return encoded

    def _pad(self, features: dict[str, list[list[int]]]) -> dict[str, Any]:
        """One batch as tensors, padded on the tokenizer's side to its longest sequence."""
        import torch

        longest = max(len(ids) for ids in features["input_ids"])
        fills = {"input_ids": self.tokenizer.pad_token_id or 0, "token_type_ids": self.tokenizer.pad_token_type_id}
        left = self.tokenizer.padding_side == "left"
        tensors = {}
        for name, rows in features.items():
            fill = fills.get(name, 0)
            padded = [
                [fill] * (longest - len(row)) + row if left else row + [fill] * (longest - len(row)) for row in rows
            ]
            tensors[name] = torch.tensor(padded, dtype=torch.long, device=self._device)
        return tensors

    def _pool(self, hidden: Any, mask: Any) -> Any:
        import torch

        if self.params.pooling == "cls":
            return hidden[:, 0]
        if self.params.pooling == "last":
            if self.tokenizer.padding_side == "left":
                return hidden[:, -1]
            last = mask.sum(dim=1) - 1
            return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)

    def _model_inputs(self, language: str, role: Role, batch_size: int) -> dict[str, Any]:
        """Extra forward arguments for `role` texts in `language`; none for most backbones."""
        return {}

    def _encode(
        self, texts: Sequence[str], language: str, role: Role, progress: ProgressCallback | None
    ) -> DenseRepresentation:
        import torch

        prefix, max_length = self.prefix(role), self.max_length(role)
        prefixed = [prefix + text for text in texts]
        output = np.empty((len(prefixed), self.model.config.hidden_size), dtype=np.float32)
        batch_size = self.settings.batch_size
        # Windows of similar character length are tokenized at once and batched by token count, so
        # batches carry almost no padding while memory stays bounded on corpora of millions of texts.
        windows = length_sorted_batches([len(t) for t in prefixed], batch_size * TOKENIZE_WINDOW_BATCHES)
        with torch.inference_mode(), self.precision.context():
            for window in windows:
                encoded = self._tokenize([prefixed[i] for i in window], max_length)
                for batch in length_sorted_batches([len(ids) for ids in encoded["input_ids"]], batch_size):
                    inputs = self._pad({name: [rows[i] for i in batch] for name, rows in encoded.items()})
                    hidden = self.model(**inputs, **self._model_inputs(language, role, len(batch))).last_hidden_state
                    pooled = self._pool(hidden, inputs["attention_mask"]).float()
                    if self.params.normalize:
                        pooled = torch.nn.functional.normalize(pooled, p=2, dim=-1)
                    output[window[batch]] = pooled.cpu().numpy()
                    if progress:
                        progress(len(batch))
        return DenseRepresentation(output)

    def describe(self) -> dict[str, Any]:
        return {
            "weights": self.weights.to_dict(),
            "architecture": self._architecture,
            "pooling": self.params.pooling,
            "normalize": self.params.normalize,
            "max_query_length": self.max_length("query"),
            "max_document_length": self.max_length("document"),
            "device": self._device,
            **self.precision.describe(),
            "batch_size": self.settings.batch_size,
        }

    def model_facts(self) -> ModelFacts:
        """Read from the checkpoint's files, never from the model: this encoder loads it only to encode.
        The vector is the pooled last hidden state, so its size is the config's hidden size."""
        folder = self.weights.path
        return ModelFacts(
            parameters=checkpoint_parameters(folder),
            embedding_dimension=config_number(folder, ("hidden_size", "d_model")),
            max_tokens=self.max_length("document"),
            license=self.card.license or readme_license(folder),
        )


ADAPTER = DenseEncoder
