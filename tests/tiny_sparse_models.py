"""Tiny learned-sparse checkpoints in the published layouts, built inside the tests.

- SPLADE-v3: a `BertForMaskedLM` folder (config.json, model.safetensors, vocab.txt tokenizer).
- BGE-M3: an `XLMRobertaModel` folder with a SentencePiece-style (Unigram) tokenizer.json and
  `sparse_linear.pt`, a torch state dict of nn.Linear(hidden, 1).
- MILCO: the authors' `config.json` (`model_type: milco`) and `pytorch_model.bin` holding the
  whole model's state dict (`m_model.*`, `projector.*`, `mlm_head.*`, `echo.*`, `scale`, and
  the alignment teacher `en_lsr.*`), beside the two sub-model folders its config names.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.tiny_models import write_tiny_bert, write_xlmr_tokenizer

SOURCE_WORDS = ["巴尔的摩", "美国", "城市", "Katzen", "Hunde", "chats", "chiens", "बिल्ली"]


def xlmr_config(vocab_size: int, hidden_size: int = 16):
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=80,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )


def write_tiny_xlmr(folder: Path, seed: int = 0, hidden_size: int = 16) -> Path:
    import torch
    from transformers import AutoTokenizer, XLMRobertaModel

    folder.mkdir(parents=True, exist_ok=True)
    write_xlmr_tokenizer(folder, SOURCE_WORDS, model_max_length=64)
    torch.manual_seed(seed)
    XLMRobertaModel(xlmr_config(len(AutoTokenizer.from_pretrained(folder)), hidden_size)).save_pretrained(folder)
    return folder


def write_tiny_bge_m3(folder: Path, seed: int = 0) -> Path:
    import torch

    write_tiny_xlmr(folder, seed)
    torch.manual_seed(seed + 1)
    head = torch.nn.Linear(16, 1)
    with torch.no_grad():
        head.bias.fill_(0.5)  # most tokens get a positive weight
    torch.save(head.state_dict(), folder / "sparse_linear.pt")
    return folder


def write_tiny_bert_mlm(folder: Path, seed: int = 0) -> Path:
    """SPLADE-v3's layout: the tiny BERT folder with a `BertForMaskedLM` in place of the bare encoder,
    its output bias positive so that most terms get a weight, as in a trained SPLADE."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    write_tiny_bert(folder, seed=seed, hidden_size=12)
    torch.manual_seed(seed)
    model = BertForMaskedLM(BertConfig.from_pretrained(folder))
    with torch.no_grad():
        model.cls.predictions.bias.fill_(0.2)
    model.save_pretrained(folder)
    return folder


def milco_state_dict(encoder: Path, english: Path, echo: bool = True, seed: int = 0) -> dict:
    """The state dict `MILCOModel.save_pretrained` writes, built from the two sub-model folders."""
    import torch
    from transformers import AutoModel, BertForMaskedLM

    torch.manual_seed(seed)
    m_model = AutoModel.from_pretrained(encoder)  # with its pooler, as the authors' AutoModel has
    lsr = BertForMaskedLM.from_pretrained(english)
    projector = torch.nn.Linear(m_model.config.hidden_size, lsr.config.hidden_size)
    state = {f"m_model.{k}": v for k, v in m_model.state_dict().items()}
    state.update({f"projector.{k}": v for k, v in projector.state_dict().items()})
    state.update({f"mlm_head.{k}": v for k, v in lsr.cls.state_dict().items()})
    state.update({f"en_lsr.{k}": v for k, v in lsr.state_dict().items()})  # alignment-stage teacher
    if echo:
        head = torch.nn.Linear(m_model.config.hidden_size, 1)
        with torch.no_grad():  # weights small beside the bias: every token echoes a positive weight
            head.weight.mul_(0.1)
            head.bias.fill_(0.3)
        state.update({"echo.weight": head.weight, "echo.bias": head.bias, "scale": torch.tensor([1.5])})
    return {key: value.detach().clone() for key, value in state.items()}


def write_tiny_milco(root: Path, echo: bool = True, state: dict | None = None) -> Path:
    """root/{bge-m3-unsupervised, splade-v3, milco}; returns the MILCO folder."""
    import torch

    encoder = write_tiny_xlmr(root / "bge-m3-unsupervised", seed=1)
    english = write_tiny_bert_mlm(root / "splade-v3", seed=2)
    folder = root / "milco"
    folder.mkdir(parents=True, exist_ok=True)
    state = milco_state_dict(encoder, english, echo) if state is None else state
    en_config = json.loads((english / "config.json").read_text())
    m_config = json.loads((encoder / "config.json").read_text())
    config = {
        "architectures": ["ContrastiveMILCOModel"],
        "model_type": "milco",
        "lsr_encoder_checkpoint": str(english),
        "multilingual_encoder_checkpoint": str(encoder),
        "model_variant": "bert",
        "en_vocab_size": en_config["vocab_size"],
        "en_hidden_size": en_config["hidden_size"],
        "m_vocab_size": m_config["vocab_size"],
        "m_hidden_size": m_config["hidden_size"],
        "echo": echo,
        "lambda_q": 0.0,
        "lambda_d": 0.0,
        "sparse_reg": "l1",
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    torch.save(state, folder / "pytorch_model.bin")
    return folder
