"""NLLB-E5: one dense vector per text from NLLB-200's encoder through E5 (see harness/nllb_e5).

The card's `path` is a trained NLLB-E5 folder (layout in docs/nllb-e5.md; `harness distill
nllb-e5` writes one). Its `nllb_e5.json` names the NLLB-200 and E5 checkpoints it was trained on;
the card may point them elsewhere (`nllb:` / `e5:`), e.g. at local copies. Each text's ISO
language selects NLLB's FLORES-200 source code; a language NLLB-200 lacks is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field

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
from harness.models.common import card_parameters, resolve_device, torch_precision
from harness.models.facts import module_parameters, readme_license
from harness.models.flores import require_flores_code
from harness.models.nllb_e5.layout import base_weights, read_config
from harness.models.nllb_e5.model import NllbE5, load_base_models, load_projection, with_trained_lora
from harness.models.nllb_e5.model import Role as E5Role
from harness.models.weights import ResolvedWeights, WeightsSpec, resolve_weights


class NllbE5Parameters(WeightsSpec):
    nllb: WeightsSpec | None = None
    e5: WeightsSpec | None = None
    max_query_length: int = Field(default=508, ge=3)
    max_document_length: int = Field(default=508, ge=3)
    language_codes: dict[str, str] = Field(default_factory=dict)


class NllbE5Encoder(Encoder):
    family = "dense"
    Parameters = NllbE5Parameters

    def __init__(self, card: ModelCard, settings: EncodeSettings) -> None:
        super().__init__(card, settings)
        import torch

        self.params = card_parameters(card, NllbE5Parameters)
        try:
            self.weights: ResolvedWeights = resolve_weights(self.params, card)
        except InputError as error:
            if error.key != "parameters.path":
                raise
            hint = f"{error.reason} (train one with `harness distill nllb-e5`; layout in docs/nllb-e5.md)"
            raise InputError(hint, path=card.path, key=error.key) from None
        self.config = read_config(self.weights.path)
        self.nllb_weights = resolve_weights(self.params.nllb or base_weights(self.config.nllb, self.weights.path), card)
        self.e5_weights = resolve_weights(self.params.e5 or base_weights(self.config.e5, self.weights.path), card)
        self._device = resolve_device(settings.device)
        self.precision = torch_precision(settings, card, self._device)
        dtype = self.precision.weights
        nllb_encoder, nllb_tokenizer, e5, e5_tokenizer = load_base_models(
            self.nllb_weights.path, self.e5_weights.path, dtype
        )
        try:
            self.model = NllbE5(
                nllb_encoder,
                nllb_tokenizer,
                with_trained_lora(e5, self.weights.path),
                e5_tokenizer,
                load_projection(self.weights.path, self.config.projection).to(dtype),
                self.config,
            )
        except InputError as error:
            raise InputError(error.reason, path=error.path or self.weights.path, key=error.key) from None
        self.model.eval().to(self._device)
        self._torch = torch

    @property
    def device(self) -> str:
        return self._device

    def max_length(self, role: Role) -> int:
        """NLLB tokens per input of `role` (language code and `</s>` included), at most what E5 can take."""
        requested = self.settings.max_query_length or self.params.max_query_length
        if role == "document":
            requested = self.settings.max_document_length or self.params.max_document_length
        return min(requested, self.model.max_nllb_tokens)

    def encode_queries(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> DenseRepresentation:
        return self._encode(texts, language, "query", progress)

    def encode_documents(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> DenseRepresentation:
        return self._encode(texts, language, "document", progress)

    def document_budget(self, language: str) -> DocumentBudget:
        """NLLB's tokenizer adds the language code and `</s>` around the text; E5's prefix is outside the budget."""
        return content_budget(self.model.nllb_tokenizer, self.max_length("document"))

    def _encode(
        self, texts: Sequence[str], language: str, role: Role, progress: ProgressCallback | None
    ) -> DenseRepresentation:
        code = require_flores_code(language, self.params.language_codes, where=f" (card {self.card.name})")
        max_tokens = self.max_length(role)
        e5_role: E5Role = "query" if role == "query" else "passage"
        output = np.empty((len(texts), self.model.config.projection.output_dim), dtype=np.float32)
        with self._torch.inference_mode(), self.precision.context():
            for rows in length_sorted_batches([len(text) for text in texts], self.settings.batch_size):
                batch = [texts[i] for i in rows]
                inputs = self.model.tokenize(batch, [code] * len(batch), max_tokens).to(self._device)
                vectors = self.model(inputs["input_ids"], inputs["attention_mask"], [e5_role] * len(batch))
                output[rows] = vectors.cpu().numpy()
                if progress:
                    progress(len(rows))
        return DenseRepresentation(output)

    def describe(self) -> dict[str, Any]:
        return {
            "weights": self.weights.to_dict(),
            "nllb": self.nllb_weights.to_dict(),
            "e5": self.e5_weights.to_dict(),
            "projection": self.config.projection.model_dump(),
            "max_nllb_tokens": self.model.max_nllb_tokens,
            "max_query_length": self.max_length("query"),
            "max_document_length": self.max_length("document"),
            "prefixes": {"query": self.config.query_prefix, "passage": self.config.document_prefix},
            "training": self.config.training,
            "device": self._device,
            **self.precision.describe(),
            "batch_size": self.settings.batch_size,
        }

    def model_facts(self) -> ModelFacts:
        """Counted on the composed model `__init__` builds: NLLB-200's checkpoint also holds a decoder this
        model never runs, so the checkpoints' own counts would overstate it."""
        return ModelFacts(
            parameters=module_parameters(self.model),
            embedding_dimension=self.model.config.projection.output_dim,
            max_tokens=self.max_length("document"),
            license=self.card.license or readme_license(self.weights.path),
        )


ADAPTER = NllbE5Encoder
