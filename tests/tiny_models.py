"""Tiny checkpoints written in the exact layout transformers publishes, built inside the tests."""

from __future__ import annotations

from pathlib import Path

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


def write_tiny_bert(folder: Path, seed: int = 0, hidden_size: int = 16) -> Path:
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
        max_position_embeddings=64,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder)
    return folder
