"""BGE-M3's "All" mode: dense, sparse and multi-vector outputs of one forward pass, scored as FlagEmbedding does.

One pass of the XLM-R encoder per batch gives, as FlagEmbedding's `M3Embedder` computes them:
dense = the L2-normalised [CLS] state; sparse = ReLU(`sparse_linear`(h)) per token, the largest
weight per token id, special tokens dropped; multi-vector = `colbert_linear`(h without [CLS]) for
every non-padding position, L2-normalised.

Score, `compute_score`'s "colbert+sparse+dense": (w_d * dense + w_s * sparse + w_c * colbert) /
(w_d + w_s + w_c), where dense is the inner product, sparse the lexical matching score (dot product
of the term weights) and colbert the MaxSim sum divided by the number of query vectors. The
weights, each divided by their sum, and the 1/len(query) are folded into the query parts here,
so the `hybrid-rerank` index's plain sum of the three scores is exactly that score. FlagEmbedding's
README uses weights [0.4, 0.2, 0.4]; the paper's [1, 0.3, 1] ranks the same as [0.43, 0.13, 0.43].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError
from harness.encode import (
    DenseRepresentation,
    DocumentBudget,
    EncodeSettings,
    HybridRepresentation,
    ModelFacts,
    MultiVectorRepresentation,
    ProgressCallback,
    SparseRepresentation,
    Vocabulary,
    content_budget,
    length_sorted_batches,
)
from harness.models.adapters.learned_sparse import tokenizer_terms
from harness.models.adapters.multivector import TokenVectorEncoder, load_tokenizer
from harness.models.common import card_parameters, load_linear_head, torch_dtype
from harness.models.facts import module_parameters, readme_license
from harness.models.weights import WeightsSpec, resolve_weights


class ModeWeights(BaseModel):
    """`weights_for_different_modes` of FlagEmbedding's compute_score, in its order: dense, sparse, colbert."""

    model_config = ConfigDict(extra="forbid")

    # Candidates come from the dense part, so its weight must be positive.
    dense: float = Field(0.4, gt=0)
    sparse: float = Field(0.2, ge=0)
    colbert: float = Field(0.4, ge=0)

    @property
    def total(self) -> float:
        return self.dense + self.sparse + self.colbert


class BgeM3HybridParameters(WeightsSpec):
    max_query_length: int = Field(512, ge=2)
    max_document_length: int = Field(8192, ge=2)
    sparse_head_file: str = "sparse_linear.pt"
    colbert_head_file: str = "colbert_linear.pt"
    weights: ModeWeights = ModeWeights()


class BgeM3HybridEncoder(TokenVectorEncoder):
    family = "hybrid"  # type: ignore[assignment]
    storable = False  # three representations per text; the embedding store keeps one family per entry
    Parameters = BgeM3HybridParameters

    def __init__(self, card: ModelCard, settings: EncodeSettings) -> None:
        super().__init__(card, settings)
        from transformers import AutoModel

        self.params = card_parameters(card, BgeM3HybridParameters)
        self.weights = resolve_weights(self.params, card)
        folder = self.weights.path
        dtype = torch_dtype(settings.dtype, self._device)
        self.tokenizer = load_tokenizer(folder, card)
        try:
            self.model = AutoModel.from_pretrained(folder, trust_remote_code=card.trust_remote_code, dtype=dtype)
        except (OSError, ValueError) as error:
            raise InputError(f"cannot load the checkpoint in {folder}: {error}", path=card.path) from None
        hidden = self.model.config.hidden_size
        self.projection = load_linear_head(
            folder / self.params.colbert_head_file, hidden, dtype, card, "parameters.colbert_head_file"
        )
        self.sparse_head = load_linear_head(
            folder / self.params.sparse_head_file, hidden, dtype, card, "parameters.sparse_head_file", out_features=1
        )
        for module in (self.model, self.projection, self.sparse_head):
            module.eval().to(self._device)
        tokenizer = self.tokenizer
        special = {tokenizer.cls_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.unk_token_id}
        self._special = self._torch.tensor(sorted(i for i in special if i is not None), device=self._device)
        size = self.model.config.vocab_size
        self.vocabulary = Vocabulary(f"bge-m3-sparse:{size}", tokenizer_terms(tokenizer, size))

    def _encode(self, texts: Sequence[str], max_length: int, progress: ProgressCallback | None) -> HybridRepresentation:
        torch = self._torch
        encoded = self.tokenizer(list(texts), truncation=True, max_length=max_length)
        tokenized = list(zip(encoded["input_ids"], encoded["attention_mask"], strict=True))
        dense = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        token_vectors: list[np.ndarray] = [np.zeros((0, self.dim), dtype=np.float32)] * len(texts)
        blocks: list[sp.csr_matrix] = []
        order: list[np.ndarray] = []
        with torch.inference_mode():
            for rows in length_sorted_batches([len(ids) for ids, _ in tokenized], self.settings.batch_size):
                ids, attention = self._pad([tokenized[i] for i in rows])
                hidden = self.model(input_ids=ids, attention_mask=attention).last_hidden_state  # the one pass
                dense[rows] = torch.nn.functional.normalize(hidden[:, 0].float(), dim=-1).cpu().numpy()
                blocks.append(sp.csr_matrix(self._term_weights(hidden, ids, attention).cpu().numpy()))
                order.append(rows)
                vectors = torch.nn.functional.normalize(self.projection(hidden[:, 1:]).float(), dim=-1).cpu().numpy()
                kept = attention[:, 1:].bool().cpu().numpy()
                for position, row in enumerate(rows):
                    token_vectors[row] = vectors[position][kept[position]]
                if progress:
                    progress(len(rows))
        if blocks:
            stacked = sp.vstack(blocks, format="csr")
            matrix = stacked[np.argsort(np.concatenate(order), kind="stable")].astype(np.float32)
        else:
            matrix = sp.csr_matrix((0, len(self.vocabulary)), dtype=np.float32)
        return HybridRepresentation(
            DenseRepresentation(dense),
            SparseRepresentation(matrix, self.vocabulary),
            MultiVectorRepresentation.from_list(token_vectors, self.dim, np.float32),
        )

    def _term_weights(self, hidden: Any, ids: Any, attention: Any) -> Any:
        """(batch, vocabulary) lexical weights: the largest ReLU(sparse_linear(h)) per token id, specials dropped."""
        torch = self._torch
        weights = torch.relu(self.sparse_head(hidden).squeeze(-1)).float()
        weights = weights * (attention.bool() & ~torch.isin(ids, self._special))
        table = torch.zeros(ids.shape[0], len(self.vocabulary), device=ids.device)
        return table.scatter_reduce(1, ids, weights, reduce="amax", include_self=True)

    def encode_queries(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> HybridRepresentation:
        length = self.settings.max_query_length or self.params.max_query_length
        queries = self._encode(texts, length, progress)
        weights = self.params.weights
        colbert = queries.multivector
        per_vector = np.repeat(1.0 / np.maximum(colbert.lengths(), 1), colbert.lengths()).astype(np.float32)
        return HybridRepresentation(
            DenseRepresentation(queries.dense.vectors * np.float32(weights.dense / weights.total)),
            SparseRepresentation(queries.sparse.matrix * np.float32(weights.sparse / weights.total), self.vocabulary),
            MultiVectorRepresentation(
                colbert.vectors * (per_vector * np.float32(weights.colbert / weights.total))[:, None], colbert.offsets
            ),
        )

    def encode_documents(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> HybridRepresentation:
        length = self.settings.max_document_length or self.params.max_document_length
        return self._encode(texts, length, progress)

    def document_budget(self, language: str) -> DocumentBudget:
        return content_budget(self.tokenizer, self.settings.max_document_length or self.params.max_document_length)

    def describe(self) -> dict[str, Any]:
        weights = self.params.weights
        return {
            **self._describe_common(),
            "heads": {"sparse": self.params.sparse_head_file, "colbert": self.params.colbert_head_file},
            "vocabulary": self.vocabulary.name,
            "mode_weights": weights.model_dump(),
            "score": (
                "(w_dense * dense + w_sparse * sparse + w_colbert * colbert / len(query)) / (w_dense + w_sparse "
                "+ w_colbert), FlagEmbedding compute_score 'colbert+sparse+dense'; weights folded into the queries"
            ),
            "max_query_length": self.settings.max_query_length or self.params.max_query_length,
            "max_document_length": self.settings.max_document_length or self.params.max_document_length,
        }

    def model_facts(self) -> ModelFacts:
        """The encoder and both heads, loaded in `__init__` anyway. No embedding dimension: a text becomes
        three representations (a dense vector, vocabulary weights, token vectors), not one space."""
        return ModelFacts(
            parameters=module_parameters(self.model, self.projection, self.sparse_head),
            embedding_dimension=None,
            max_tokens=self.settings.max_document_length or self.params.max_document_length,
            license=self.card.license or readme_license(self.weights.path),
        )


ADAPTER = BgeM3HybridEncoder
