"""BGE-M3's multi-vector view: its XLM-R encoder plus the `colbert_linear.pt` head, scored by mean MaxSim.

As FlagEmbedding computes it: token vectors = `colbert_linear`(last hidden states without [CLS]) for
every non-padding position (the final `</s>` included), L2-normalised; score = sum over query vectors
of the best document vector, divided by the number of query vectors.

That division lives here: each query vector is scaled by 1/len(query), so the plain MaxSim sum any
multivector index computes (`maxsim-exact`, `plaid`) is exactly BGE-M3's score. Per query the ranking
is unchanged; the recorded scores, and any fusion with the dense and sparse views, are BGE-M3's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError
from harness.encode import (
    DocumentBudget,
    EncodeSettings,
    ModelFacts,
    MultiVectorRepresentation,
    ProgressCallback,
    Role,
    content_budget,
)
from harness.models.adapters.multivector import TokenizedText, TokenVectorEncoder, load_tokenizer
from harness.models.common import card_parameters, load_linear_head
from harness.models.facts import module_parameters, readme_license
from harness.models.weights import WeightsSpec, resolve_weights


class BgeM3MultivectorParameters(WeightsSpec):
    max_query_length: int = Field(512, ge=2)
    max_document_length: int = Field(8192, ge=2)
    head_file: str = "colbert_linear.pt"
    # FlagEmbedding's colbert_score divides by the query's vector count; false gives the plain sum.
    normalize_by_query_length: bool = True


class BgeM3MultivectorEncoder(TokenVectorEncoder):
    Parameters = BgeM3MultivectorParameters

    def __init__(self, card: ModelCard, settings: EncodeSettings) -> None:
        super().__init__(card, settings)
        from transformers import AutoModel

        self.params = card_parameters(card, BgeM3MultivectorParameters)
        self.weights = resolve_weights(self.params, card)
        folder = self.weights.path
        dtype = self.precision.weights
        self.tokenizer = load_tokenizer(folder, card)
        try:
            self.model = AutoModel.from_pretrained(folder, trust_remote_code=card.trust_remote_code, dtype=dtype)
        except (OSError, ValueError) as error:
            raise InputError(f"cannot load the checkpoint in {folder}: {error}", path=card.path) from None
        self.projection = self._head(dtype)
        self.model.eval().to(self._device)
        self.projection.eval().to(self._device)

    def _head(self, dtype: Any) -> Any:
        path = self.weights.path / self.params.head_file
        hidden = self.model.config.hidden_size
        return load_linear_head(path, hidden, dtype, self.card, "parameters.head_file")

    def _tokenize(self, texts: Sequence[str], max_length: int) -> list[TokenizedText]:
        encoded = self.tokenizer(list(texts), truncation=True, max_length=max_length)
        return list(zip(encoded["input_ids"], encoded["attention_mask"], strict=True))

    def max_length(self, role: Role) -> int:
        if role == "query":
            return self.settings.max_query_length or self.params.max_query_length
        return self.settings.max_document_length or self.params.max_document_length

    def _encode(
        self, texts: Sequence[str], language: str, role: Role, progress: ProgressCallback | None
    ) -> MultiVectorRepresentation:
        def after_cls(ids: Any, attention: Any) -> Any:
            kept = attention.bool().clone()
            kept[:, 0] = False
            return kept

        tokenized = self._tokenize(texts, self.max_length(role))
        return self._encode_tokenized(tokenized, language, role, after_cls, progress)

    def encode_queries(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> MultiVectorRepresentation:
        queries = self._encode(texts, language, "query", progress)
        if not self.params.normalize_by_query_length:
            return queries
        counts = np.maximum(queries.lengths(), 1).astype(np.float32)
        scale = np.repeat(1.0 / counts, queries.lengths())[:, None]
        return MultiVectorRepresentation(vectors=queries.vectors * scale, offsets=queries.offsets)

    def encode_documents(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> MultiVectorRepresentation:
        return self._encode(texts, language, "document", progress)

    def document_budget(self, language: str) -> DocumentBudget:
        return content_budget(self.tokenizer, self.max_length("document"))

    def describe(self) -> dict[str, Any]:
        return {
            **self._describe_common(),
            "head_file": self.params.head_file,
            "max_query_length": self.max_length("query"),
            "max_document_length": self.max_length("document"),
            "score": (
                "maxsim / number of query vectors (query vectors scaled by 1/length)"
                if self.params.normalize_by_query_length
                else "maxsim (sum over query vectors)"
            ),
        }

    def model_facts(self) -> ModelFacts:
        """Counted on the loaded encoder and `colbert_linear` head, which `__init__` builds anyway."""
        return ModelFacts(
            parameters=module_parameters(self.model, self.projection),
            embedding_dimension=self.dim,
            max_tokens=self.max_length("document"),
            license=self.card.license or readme_license(self.weights.path),
        )


ADAPTER = BgeM3MultivectorEncoder
