"""SPLADE (naver/splade-v3): a BERT masked-language model read as a sparse encoder.

Weight of word piece j = max over the text's tokens of log(1 + ReLU(MLM logit j)); queries and
documents are encoded the same way. The checkpoint is a plain `BertForMaskedLM` folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.encode import Role, Vocabulary
from harness.models.adapters.learned_sparse import LearnedSparseEncoder, max_saturated_logits, tokenizer_terms


class SpladeEncoder(LearnedSparseEncoder):
    def _load(self, folder: Path) -> tuple[Any, Vocabulary]:
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=self.card.trust_remote_code)
            model = AutoModelForMaskedLM.from_pretrained(
                folder, trust_remote_code=self.card.trust_remote_code, dtype=self._dtype
            )
        except (OSError, ValueError) as error:
            message = f"cannot load the masked-LM checkpoint in {folder}: {error}"
            raise InputError(message, path=self.card.path) from None
        head = getattr(model, "cls", None) or getattr(model, "lm_head", None)
        if head is None:
            raise InputError(f"{type(model).__name__} has no MLM head (`cls` or `lm_head`)", path=self.card.path)
        self.model, self._head = model.eval().to(self._device), head
        size = model.config.vocab_size
        return tokenizer, Vocabulary(f"splade:{model.config.model_type}-{size}", tokenizer_terms(tokenizer, size))

    def _networks(self) -> tuple[Any, ...]:
        return (self.model,)

    def _weights(self, inputs: dict[str, Any], role: Role) -> Any:
        hidden = self.model.base_model(**inputs).last_hidden_state
        return max_saturated_logits(hidden, inputs["attention_mask"], self._head)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "architecture": type(self.model).__name__, "pooling": "max log(1+relu)"}


ADAPTER = SpladeEncoder
