"""Tiny NLLB-200 checkpoints built inside the tests, in the layout `from_pretrained` reads.

The tokenizer is transformers' `NllbTokenizer` (a BPE over the given texts, trained offline with
`tokenizers`, plus NLLB's 202 FLORES-200 language-code tokens); the model is a randomly
initialised `M2M100ForConditionalGeneration`, the class the published NLLB-200 checkpoints use
(its encoder weights under `model.encoder.`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

TINY_TEXTS = [
    "Cats are small domestic felines that purr and hunt mice.",
    "Dogs are loyal domestic animals that bark and fetch sticks.",
    "A volcano erupts lava, ash and gas from the Earth's mantle.",
    "Bread is baked from flour, water, salt and yeast in an oven.",
    "Katzen sind kleine Hauskatzen, die schnurren und Mäuse jagen.",
    "Wie wird Brot gebacken?",
    "Welche Tiere schnurren und jagen Mäuse?",
    "Lava und Asche bei einem Ausbruch.",
]


def write_tiny_nllb(folder: Path, texts: Sequence[str] = TINY_TEXTS, d_model: int = 16, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    bpe.train_from_iterator(texts, trainer)
    trained = json.loads(bpe.to_str())["model"]
    tokenizer = NllbTokenizer(vocab=trained["vocab"], merges=[tuple(pair) for pair in trained["merges"]])
    tokenizer.save_pretrained(folder)
    config = M2M100Config(
        vocab_size=len(tokenizer),
        d_model=d_model,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=2 * d_model,
        decoder_ffn_dim=2 * d_model,
        max_position_embeddings=128,
        scale_embedding=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    M2M100ForConditionalGeneration(config).save_pretrained(folder)
    return folder
