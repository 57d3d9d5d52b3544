"""What every late-interaction encoder shares: token ids in, one L2-normalised vector per kept token out.

Subclasses decide how texts become token ids (markers, [MASK] augmentation), which positions are kept
(punctuation, padding, [CLS]) and which projection maps hidden states to token vectors; this module
batches by length, runs the backbone (routing XMOD language adapters when it has them), projects,
normalises and returns a ragged `MultiVectorRepresentation` in the input order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError
from harness.encode import (
    Encoder,
    EncodeSettings,
    MultiVectorRepresentation,
    ProgressCallback,
    Role,
    length_sorted_batches,
)
from harness.models.adapters.xmod import XmodRouter, XmodRoutingParameters, is_xmod
from harness.models.common import resolve_device, torch_precision
from harness.models.weights import ResolvedWeights

TokenizedText = tuple[list[int], list[int]]
"""Token ids of one text and its attention mask, unpadded."""

KeepMask = Callable[[Any, Any], Any]
"""(padded ids, attention mask) -> boolean tensor of the positions whose vectors a text keeps."""


def load_tokenizer(path: Path, card: ModelCard) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=card.trust_remote_code)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot load the tokenizer in {path}: {error}", path=card.path) from None


class TokenVectorEncoder(Encoder):
    family = "multivector"
    # Set by subclasses while loading.
    weights: ResolvedWeights
    tokenizer: Any
    model: Any
    projection: Any  # torch.nn.Linear: hidden size -> token vector size

    def __init__(self, card: ModelCard, settings: EncodeSettings) -> None:
        super().__init__(card, settings)
        import torch

        self._torch = torch
        self._device = resolve_device(settings.device)
        self.precision = torch_precision(settings, card, self._device)
        self.router: XmodRouter | None = None

    @property
    def device(self) -> str:
        return self._device

    @property
    def dim(self) -> int:
        return int(self.projection.out_features)

    def _route_languages(self, params: XmodRoutingParameters) -> None:
        """Language routing when the backbone is XMOD; routing keys on any other backbone are a card error."""
        if is_xmod(self.model.config):
            self.router = XmodRouter(self.model.config.languages, params, self.card.path)
        elif params.language_codes or params.fallback_language:
            raise InputError(
                f"language routing needs an XMOD backbone; this checkpoint is {self.model.config.model_type!r}",
                path=self.card.path,
                key="parameters.language_codes" if params.language_codes else "parameters.fallback_language",
            )

    def _encode_tokenized(
        self,
        tokenized: Sequence[TokenizedText],
        language: str,
        role: Role,
        keep: KeepMask,
        progress: ProgressCallback | None,
    ) -> MultiVectorRepresentation:
        torch = self._torch
        if self.router is not None:
            self.router.adapter_code(language)  # refuse an unknown language before any work
        per_text: list[np.ndarray] = [np.zeros((0, self.dim), dtype=np.float32)] * len(tokenized)
        with torch.inference_mode(), self.precision.context():
            for rows in length_sorted_batches([len(ids) for ids, _ in tokenized], self.settings.batch_size):
                ids, attention = self._pad([tokenized[i] for i in rows])
                vectors = self._token_vectors(ids, attention, language, role)
                kept = keep(ids, attention).cpu().numpy()
                vectors = vectors.cpu().numpy()
                for position, row in enumerate(rows):
                    per_text[row] = vectors[position][kept[position]]
                if progress:
                    progress(len(rows))
        return MultiVectorRepresentation.from_list(per_text, self.dim, np.float32)

    def _pad(self, batch: Sequence[TokenizedText]) -> tuple[Any, Any]:
        torch = self._torch
        width = max(len(ids) for ids, _ in batch)
        pad_id = self.tokenizer.pad_token_id
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (token_ids, mask) in enumerate(batch):
            ids[row, : len(token_ids)] = torch.tensor(token_ids, dtype=torch.long)
            attention[row, : len(mask)] = torch.tensor(mask, dtype=torch.long)
        return ids.to(self._device), attention.to(self._device)

    def _token_vectors(self, ids: Any, attention: Any, language: str, role: Role) -> Any:
        """Backbone -> projection -> L2 normalisation, for every position (callers select the kept ones);
        `role` is there for subclasses whose query and document towers differ."""
        extra = {}
        if self.router is not None:
            extra["lang_ids"] = self.router.lang_ids(language, ids.shape[0], self._device)
        hidden = self.model(input_ids=ids, attention_mask=attention, **extra).last_hidden_state
        projected = self.projection(hidden).float()
        return self._torch.nn.functional.normalize(projected, p=2, dim=-1)

    def _describe_common(self) -> dict[str, Any]:
        return {
            "weights": self.weights.to_dict(),
            "architecture": type(self.model).__name__,
            "dim": self.dim,
            "language_routing": self.router.describe() if self.router else None,
            "device": self._device,
            **self.precision.describe(),
            "batch_size": self.settings.batch_size,
        }
