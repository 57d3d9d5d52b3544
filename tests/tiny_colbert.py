"""Tiny late-interaction checkpoints in their published layouts, built inside the tests.

- colbert-ai (`HF_ColBERT.save_pretrained`): backbone under its base-model prefix (`roberta.` for XMOD
  and XLM-R, `bert.` for BERT) plus `linear.weight` in the same weights file, `config.json` with
  `architectures: ["HF_ColBERT"]`, and `artifact.metadata` (a JSON ColBERTConfig).
- DPR-XM (sentence-transformers): the XMOD model at the root, `modules.json`, `1_Pooling/config.json`.
- BGE-M3: an XLM-R model at the root plus `colbert_linear.pt` / `sparse_linear.pt` (nn.Linear state dicts).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.tiny_models import write_tiny_bert, write_xlmr_tokenizer

EXTRA_WORDS = ["chats", "chiens", "katzen", "hunde", "le", "die", "und", "et"]
XMOD_LANGUAGES = ("en_XX", "fr_XX", "de_DE")
HIDDEN = 16


def write_tiny_xlmr_tokenizer(folder: Path) -> Any:
    return write_xlmr_tokenizer(folder, EXTRA_WORDS)


def _backbone(kind: str, vocab_size: int, seed: int, languages: tuple[str, ...]) -> Any:
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel, XmodConfig, XmodModel

    shape = {
        "vocab_size": vocab_size,
        "hidden_size": HIDDEN,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 2 * HIDDEN,
        "max_position_embeddings": 80,
    }
    torch.manual_seed(seed)
    if kind == "bert":
        return BertModel(BertConfig(**shape))
    roberta_ids = {"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}
    if kind == "xlm-roberta":
        return XLMRobertaModel(XLMRobertaConfig(**shape, **roberta_ids))
    return XmodModel(XmodConfig(**shape, **roberta_ids, languages=list(languages)))


COLBERT_METADATA = {
    "query_token_id": "[unused0]",
    "doc_token_id": "[unused1]",
    "query_token": "[Q]",
    "doc_token": "[D]",
    "query_maxlen": 8,
    "doc_maxlen": 12,
    "dim": 8,
    "attend_to_mask_tokens": False,
    "mask_punctuation": True,
    "similarity": "cosine",
    "interaction": "colbert",
    "nbits": 2,
    "checkpoint": "tiny",
    "meta": {"version": "colbert-v0.4"},
}


def write_tiny_colbert(
    folder: Path,
    backbone: str = "xmod",
    metadata: dict[str, Any] | None = None,
    weights_format: str = "safetensors",
    seed: int = 0,
    languages: tuple[str, ...] = XMOD_LANGUAGES,
    linear_shape: tuple[int, int] | None = None,
) -> Path:
    """A colbert-ai checkpoint folder; `metadata=None` writes `COLBERT_METADATA`, `{}` writes none."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    if backbone == "bert":
        write_tiny_bert(folder, hidden_size=HIDDEN)
        for stale in ("model.safetensors", "config.json"):
            (folder / stale).unlink()
        from transformers import AutoTokenizer

        vocab_size = len(AutoTokenizer.from_pretrained(folder))
    else:
        vocab_size = len(write_tiny_xlmr_tokenizer(folder))
    model = _backbone(backbone, vocab_size, seed, languages)
    state = {f"{model.base_model_prefix}.{key}": value for key, value in model.state_dict().items()}
    metadata = COLBERT_METADATA if metadata is None else metadata
    generator = torch.Generator().manual_seed(seed + 1)
    state["linear.weight"] = torch.randn(linear_shape or (metadata.get("dim", 8), HIDDEN), generator=generator)
    state = {key: value.contiguous() for key, value in state.items()}
    if weights_format == "safetensors":
        save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    else:
        torch.save(state, folder / "pytorch_model.bin")
    config = model.config.to_dict()
    config["architectures"] = ["HF_ColBERT"]
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    if metadata:
        (folder / "artifact.metadata").write_text(json.dumps(metadata, indent=4) + "\n", encoding="utf-8")
    return folder


def write_tiny_dpr_xm(folder: Path, seed: int = 0) -> Path:
    """A sentence-transformers XMOD bi-encoder: mean pooling, 128 tokens."""
    vocab_size = len(write_tiny_xlmr_tokenizer(folder))
    model = _backbone("xmod", vocab_size, seed, XMOD_LANGUAGES)
    model.save_pretrained(folder)
    (folder / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            ]
        )
    )
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": HIDDEN, "pooling_mode_mean_tokens": True})
    )
    return folder


def write_tiny_bge_m3(folder: Path, seed: int = 0, colbert_dim: int = HIDDEN) -> Path:
    """XLM-R at the root and BGE-M3's heads as torch state dicts of nn.Linear (with bias)."""
    import torch

    vocab_size = len(write_tiny_xlmr_tokenizer(folder))
    model = _backbone("xlm-roberta", vocab_size, seed, ())
    model.save_pretrained(folder)
    torch.manual_seed(seed + 7)
    torch.save(torch.nn.Linear(HIDDEN, colbert_dim).state_dict(), folder / "colbert_linear.pt")
    torch.save(torch.nn.Linear(HIDDEN, 1).state_dict(), folder / "sparse_linear.pt")
    return folder
