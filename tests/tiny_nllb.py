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
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import NllbTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    bpe.train_from_iterator(texts, trainer)
    trained = json.loads(bpe.to_str())["model"]
    tokenizer = NllbTokenizer(vocab=trained["vocab"], merges=[tuple(pair) for pair in trained["merges"]])
    tokenizer.save_pretrained(folder)
    return _write_tiny_translation_model(folder, tokenizer, len(tokenizer), d_model, seed)


def write_tiny_nllb_e5(folder: Path, nllb: Path, e5: Path, seed: int = 0) -> Path:
    """A trained-looking NLLB-E5 folder in the documented layout, written by hand (not by `distill`):
    nllb_e5.json naming the two base folders, projection.safetensors, and a PEFT LoRA adapter with
    non-zero B matrices (PEFT initialises B to zero, which would make the adapter a no-op)."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoConfig, AutoModel

    from harness.models.nllb_e5.layout import CONFIG_FILE, LORA_DIR, PROJECTION_FILE, NllbE5Config, ProjectionConfig
    from harness.models.nllb_e5.model import with_new_lora

    folder.mkdir(parents=True, exist_ok=True)
    nllb_dim = AutoConfig.from_pretrained(nllb).d_model
    e5_dim = AutoConfig.from_pretrained(e5).hidden_size
    projection = ProjectionConfig(input_dim=nllb_dim, hidden_dim=4 * e5_dim, output_dim=e5_dim, activation="gelu")
    generator = torch.Generator().manual_seed(seed)
    tensors = {
        "up.weight": torch.randn(projection.hidden_dim, nllb_dim, generator=generator) * 0.2,
        "up.bias": torch.zeros(projection.hidden_dim),
        "down.weight": torch.randn(e5_dim, projection.hidden_dim, generator=generator) * 0.2,
        "down.bias": torch.zeros(e5_dim),
    }
    save_file(tensors, str(folder / PROJECTION_FILE))
    lora = with_new_lora(AutoModel.from_pretrained(e5), rank=4, alpha=8, dropout=0.0)
    with torch.no_grad():
        for name, parameter in lora.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    lora.save_pretrained(folder / LORA_DIR)
    config = NllbE5Config(
        nllb={"path": str(nllb)}, e5={"path": str(e5)}, projection=projection, training={"recipe": "hand-written"}
    )
    (folder / CONFIG_FILE).write_text(config.model_dump_json(indent=2, exclude_none=True), encoding="utf-8")
    return folder


def write_tiny_m2m100(folder: Path, texts: Sequence[str] = TINY_TEXTS, d_model: int = 16, seed: int = 0) -> Path:
    """A tiny M2M-100 checkpoint: `M2M100Tokenizer` (a SentencePiece BPE model trained offline, its
    vocab.json, and the `__xx__` language tokens) and a random `M2M100ForConditionalGeneration`."""
    import io

    import sentencepiece
    from transformers import M2M100Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(list(texts) * 5), model_writer=model, vocab_size=120, model_type="bpe", minloglevel=2
    )
    pieces = sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for piece in (pieces.id_to_piece(i) for i in range(pieces.get_piece_size())):
        vocab.setdefault(piece, len(vocab))
    staging = folder / "staging"
    staging.mkdir()
    (staging / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    (staging / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tokenizer = M2M100Tokenizer(
        vocab_file=str(staging / "vocab.json"), spm_file=str(staging / "sentencepiece.bpe.model")
    )
    tokenizer.save_pretrained(folder)
    for path in staging.iterdir():
        path.unlink()
    staging.rmdir()
    vocab_size = max(tokenizer.lang_code_to_id.values()) + 1 + tokenizer.num_madeup_words
    return _write_tiny_translation_model(folder, tokenizer, vocab_size, d_model, seed)


def _write_tiny_translation_model(folder: Path, tokenizer, vocab_size: int, d_model: int, seed: int) -> Path:
    """A random 1+1-layer `M2M100ForConditionalGeneration` (NLLB-200's and M2M-100's class) beside its tokenizer."""
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration

    config = M2M100Config(
        vocab_size=vocab_size,
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
