"""BGE-M3's sparse (lexical) view: one weight per XLM-R token id from the `sparse_linear` head.

Per token: ReLU(sparse_linear(h)); a token id occurring several times keeps its largest weight;
the special tokens (<s>, </s>, <pad>, <unk>) are dropped, as FlagEmbedding does. The head is
`sparse_linear.pt` in the model folder: a torch state dict of nn.Linear(hidden, 1) with bias.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.encode import Role, Vocabulary
from harness.models.adapters.learned_sparse import LearnedSparseEncoder, check_state_dict, tokenizer_terms
from harness.models.common import read_tensors

HEAD_FILE = "sparse_linear.pt"


class BgeM3SparseEncoder(LearnedSparseEncoder):
    def _load(self, folder: Path) -> tuple[Any, Vocabulary]:
        import torch
        from transformers import AutoModel, AutoTokenizer

        head_path = folder / HEAD_FILE
        if not head_path.is_file():
            raise InputError(f"{HEAD_FILE} not found in {folder} (BGE-M3's sparse head)", path=self.card.path)
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=self.card.trust_remote_code)
            model = AutoModel.from_pretrained(folder, trust_remote_code=self.card.trust_remote_code, dtype=self._dtype)
        except (OSError, ValueError) as error:
            raise InputError(f"cannot load the checkpoint in {folder}: {error}", path=self.card.path) from None
        hidden = model.config.hidden_size
        state = read_tensors(head_path)
        check_state_dict(state, {"weight": (1, hidden), "bias": (1,)}, head_path)
        head = torch.nn.Linear(hidden, 1)
        head.load_state_dict(state)
        self.model = model.eval().to(self._device)
        self._head = head.to(self._device, self._dtype).eval()
        special = {tokenizer.cls_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.unk_token_id}
        self._special = torch.tensor(sorted(i for i in special if i is not None), device=self._device)
        size = model.config.vocab_size
        return tokenizer, Vocabulary(f"bge-m3-sparse:{size}", tokenizer_terms(tokenizer, size))

    def _networks(self) -> tuple[Any, ...]:
        return (self.model, self._head)

    def _weights(self, inputs: dict[str, Any], role: Role) -> Any:
        torch = self._torch
        hidden = self.model(**inputs).last_hidden_state
        token_weights = torch.relu(self._head(hidden).squeeze(-1)).float()
        ids = inputs["input_ids"]
        keep = inputs["attention_mask"].bool() & ~torch.isin(ids, self._special)
        token_weights = token_weights * keep
        weights = torch.zeros(ids.shape[0], len(self.vocabulary), device=ids.device)
        return weights.scatter_reduce(1, ids, token_weights, reduce="amax", include_self=True)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "architecture": type(self.model).__name__, "head": HEAD_FILE}


ADAPTER = BgeM3SparseEncoder
