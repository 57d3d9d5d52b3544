"""Tiny checkpoints written in the exact layout transformers publishes, built inside the tests."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

WORDS = [
    "cats",
    "dogs",
    "are",
    "small",
    "domestic",
    "felines",
    "that",
    "purr",
    "and",
    "hunt",
    "mice",
    "loyal",
    "animals",
    "bark",
    "fetch",
    "sticks",
    "volcano",
    "erupts",
    "lava",
    "ash",
    "gas",
    "from",
    "the",
    "earth",
    "mantle",
    "rivers",
    "carry",
    "fresh",
    "water",
    "mountains",
    "down",
    "to",
    "sea",
    "bread",
    "is",
    "baked",
    "flour",
    "salt",
    "yeast",
    "in",
    "an",
    "oven",
    "lions",
    "tigers",
    "large",
    "wild",
    "at",
    "night",
    "which",
    "how",
    "query",
    "passage",
]


def write_tiny_bert(folder: Path, seed: int = 0, hidden_size: int = 16, max_position_embeddings: int = 64) -> Path:
    """A randomly initialised 1-layer BERT with a WordPiece tokenizer: config.json, model.safetensors,
    tokenizer files, as `save_pretrained` writes them."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]", "[unused1]", ":", "?", ".", ",", *WORDS]
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(vocab_file), do_lower_case=True)
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=max_position_embeddings,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder)
    return folder


def write_xlmr_tokenizer(folder: Path, extra_words: list[str], model_max_length: int | None = None) -> Any:
    """An XLM-R style tokenizer: sentencepiece-like unigram pieces (`▁word`), <s> X </s>, XLM-R's
    special ids (<s>=0, <pad>=1, </s>=2, <unk>=3, <mask> last); a lone "▁" and single punctuation
    pieces, so "." encodes as ["▁", "."] as in XLM-R."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import XLMRobertaTokenizer

    specials = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces = [("▁", -2.0), *((symbol, -3.0) for symbol in string.punctuation)]
    pieces += [("▁" + word, -1.0) for word in dict.fromkeys([*WORDS, *extra_words])]
    model = models.Unigram([*specials, *pieces, ("<mask>", 0.0)], unk_id=3, byte_fallback=False)
    backend = Tokenizer(model)
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    backend.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    limits = {"model_max_length": model_max_length} if model_max_length else {}
    tokenizer = XLMRobertaTokenizer(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        **limits,
    )
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder)
    return tokenizer
