"""Dense single-vector encoders on Hugging Face transformers (MiniLM, mE5, BGE-M3 dense, Qwen3-Embedding).

One vector per text: the encoder's last hidden states pooled (mean, CLS or last token),
optionally L2-normalised, with per-role prefixes or instructions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from harness.adapters.common import card_parameters, resolve_device, torch_dtype
from harness.adapters.weights import ResolvedWeights, WeightsSpec, resolve_weights
from harness.cards import ModelCard
from harness.encode import (
    DenseRepresentation,
    Encoder,
    EncodeSettings,
    ProgressCallback,
    length_sorted_batches,
)
from harness.errors import InputError


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


class DenseEncoder(Encoder):
    family = "dense"
    Parameters = DenseParameters

    def __init__(self, card: ModelCard, settings: EncodeSettings) -> None:
        super().__init__(card, settings)
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.params = card_parameters(card, self.Parameters)
        self.weights: ResolvedWeights = resolve_weights(self.params, card)
        self._device = resolve_device(settings.device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.weights.path, trust_remote_code=card.trust_remote_code)
            self.model = AutoModel.from_pretrained(
                self.weights.path,
                trust_remote_code=card.trust_remote_code,
                dtype=torch_dtype(settings.dtype, self._device),
            )
        except (OSError, ValueError) as error:
            raise InputError(f"cannot load the checkpoint in {self.weights.path}: {error}", path=card.path) from None
        if self.params.padding_side:
            self.tokenizer.padding_side = self.params.padding_side
        self._append_id: int | None = None
        if self.params.append_token is not None:
            token_id = self.tokenizer.convert_tokens_to_ids(self.params.append_token)
            if token_id is None or token_id == self.tokenizer.unk_token_id:
                raise InputError(
                    f"token {self.params.append_token!r} is not in the tokenizer's vocabulary",
                    path=card.path,
                    key="parameters.append_token",
                )
            self._append_id = int(token_id)
        self.model.eval().to(self._device)
        self._torch = torch

    @property
    def device(self) -> str:
        return self._device

    def encode_queries(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> DenseRepresentation:
        length = self.settings.max_query_length or self.params.max_query_length
        return self._encode(texts, language, self.params.query_prefix, length, progress)

    def encode_documents(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> DenseRepresentation:
        length = self.settings.max_document_length or self.params.max_document_length
        return self._encode(texts, language, self.params.document_prefix, length, progress)

    def _tokenize(self, batch: list[str], max_length: int) -> dict[str, Any]:
        if self._append_id is None:
            return self.tokenizer(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        encoded = self.tokenizer(batch, padding=False, truncation=True, max_length=max_length - 1)
        encoded["input_ids"] = [[*ids, self._append_id] for ids in encoded["input_ids"]]
        encoded["attention_mask"] = [[*mask, 1] for mask in encoded["attention_mask"]]
        if "token_type_ids" in encoded:
            encoded["token_type_ids"] = [types + types[-1:] for types in encoded["token_type_ids"]]
        return self.tokenizer.pad(encoded, padding=True, return_tensors="pt")

    def _pool(self, hidden: Any, mask: Any) -> Any:
        torch = self._torch
        if self.params.pooling == "cls":
            return hidden[:, 0]
        if self.params.pooling == "last":
            if self.tokenizer.padding_side == "left":
                return hidden[:, -1]
            last = mask.sum(dim=1) - 1
            return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)

    def _model_inputs(self, language: str, batch_size: int) -> dict[str, Any]:
        """Extra forward arguments for texts in `language`; none for most backbones."""
        return {}

    def _encode(
        self, texts: Sequence[str], language: str, prefix: str, max_length: int, progress: ProgressCallback | None
    ) -> DenseRepresentation:
        torch = self._torch
        prefixed = [prefix + text for text in texts]
        output = np.empty((len(prefixed), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for rows in length_sorted_batches([len(t) for t in prefixed], self.settings.batch_size):
                inputs = self._tokenize([prefixed[i] for i in rows], max_length)
                inputs = {name: tensor.to(self._device) for name, tensor in inputs.items()}
                hidden = self.model(**inputs, **self._model_inputs(language, len(rows))).last_hidden_state
                pooled = self._pool(hidden, inputs["attention_mask"]).float()
                if self.params.normalize:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=-1)
                output[rows] = pooled.cpu().numpy()
                if progress:
                    progress(len(rows))
        return DenseRepresentation(output)

    def describe(self) -> dict[str, Any]:
        return {
            "weights": self.weights.to_dict(),
            "architecture": type(self.model).__name__,
            "pooling": self.params.pooling,
            "normalize": self.params.normalize,
            "max_query_length": self.settings.max_query_length or self.params.max_query_length,
            "max_document_length": self.settings.max_document_length or self.params.max_document_length,
            "device": self._device,
            "dtype": str(next(self.model.parameters()).dtype).replace("torch.", ""),
            "batch_size": self.settings.batch_size,
        }


ADAPTER = DenseEncoder
