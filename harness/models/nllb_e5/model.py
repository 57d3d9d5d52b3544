"""NLLB-E5 (Acharya et al., 2024): NLLB-200's encoder reads any of its 200 languages, a projection
maps its states into E5's input space, and E5 (with LoRA) turns them into one retrieval vector.

Per text: the NLLB tokenizer prefixes the FLORES-200 language code and appends `</s>` (at most
508 tokens); the frozen NLLB encoder gives one state per token (embeddings scaled by
sqrt(d_model), sinusoidal positions); the projection (d_nllb -> 4096 -> d_e5) maps each state;
E5 receives, through `inputs_embeds`, its own word embeddings of `[CLS] query:` (or
`[CLS] passage:`), the projected states, and its `[SEP]` embedding. E5 still adds its position
and token-type embeddings and LayerNorm. The language-code and `</s>` positions are masked out
of E5's attention and of the pooling (they keep their positions); the output is the mean over
unmasked positions, L2-normalised.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from harness.core.errors import HarnessError, InputError
from harness.models.nllb_e5.layout import LORA_DIR, PROJECTION_FILE, NllbE5Config, ProjectionConfig

Role = Literal["query", "passage"]
LORA_TARGETS = ["query", "key", "value"]
_ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh}


class Projection(nn.Module):
    """d_nllb -> hidden -> d_e5; tensors `up.*` and `down.*` in projection.safetensors."""

    def __init__(self, config: ProjectionConfig) -> None:
        super().__init__()
        self.up = nn.Linear(config.input_dim, config.hidden_dim)
        self.activation = _ACTIVATIONS[config.activation]()
        self.down = nn.Linear(config.hidden_dim, config.output_dim)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.down(self.activation(self.up(states)))


def load_projection(folder: Path, config: ProjectionConfig) -> Projection:
    """The projection from safetensors, every tensor's name and shape checked against the config."""
    from safetensors.torch import load_file

    path = folder / PROJECTION_FILE
    if not path.is_file():
        raise InputError(f"{PROJECTION_FILE} is missing", path=folder)
    projection = Projection(config)
    expected = {name: tuple(tensor.shape) for name, tensor in projection.state_dict().items()}
    state = load_file(str(path))
    if set(state) != set(expected):
        raise InputError(f"tensors {sorted(state)} found, expected {sorted(expected)}", path=path)
    for name, shape in expected.items():
        if tuple(state[name].shape) != shape:
            raise InputError(f"tensor {name} has shape {tuple(state[name].shape)}, expected {shape}", path=path)
    projection.load_state_dict(state)
    return projection


class NllbE5(nn.Module):
    def __init__(
        self,
        nllb_encoder: nn.Module,
        nllb_tokenizer: Any,
        e5: nn.Module,
        e5_tokenizer: Any,
        projection: Projection,
        config: NllbE5Config,
    ) -> None:
        super().__init__()
        self.nllb_encoder = nllb_encoder.requires_grad_(False)
        self.nllb_tokenizer = nllb_tokenizer
        self.nllb_tokenizer.padding_side = "right"  # forward() reads each text's states from position 0
        self.e5 = e5
        self.projection = projection
        self.config = config
        prefixes = {"query": config.query_prefix, "passage": config.document_prefix}
        self.prefix_ids = {
            role: [e5_tokenizer.cls_token_id, *e5_tokenizer(text, add_special_tokens=False)["input_ids"]]
            for role, text in prefixes.items()
        }
        self.sep_id = e5_tokenizer.sep_token_id
        longest_prefix = max(len(ids) for ids in self.prefix_ids.values())
        e5_positions = int(getattr(e5.config, "max_position_embeddings", 512))
        self.max_nllb_tokens = min(config.max_nllb_tokens, e5_positions - longest_prefix - 1)
        self.register_buffer(
            "masked_ids", torch.tensor(sorted(set(nllb_tokenizer.all_special_ids)), dtype=torch.long), persistent=False
        )
        nllb_dim = int(nllb_encoder.config.d_model)
        e5_dim = int(e5.config.hidden_size)
        if (config.projection.input_dim, config.projection.output_dim) != (nllb_dim, e5_dim):
            raise InputError(
                f"the projection maps {config.projection.input_dim} -> {config.projection.output_dim} dimensions, "
                f"but the NLLB encoder has {nllb_dim} and E5 {e5_dim}: the folder was trained on other checkpoints",
                key="projection",
            )

    def tokenize(self, texts: Sequence[str], flores_codes: Sequence[str], max_tokens: int | None = None) -> Any:
        """NLLB input ids for texts in possibly different languages, padded into one batch."""
        limit = min(max_tokens or self.max_nllb_tokens, self.max_nllb_tokens)
        rows: list[dict[str, list[int]]] = [{}] * len(texts)
        for code in dict.fromkeys(flores_codes):
            indices = [i for i, text_code in enumerate(flores_codes) if text_code == code]
            self.nllb_tokenizer.src_lang = code
            encoded = self.nllb_tokenizer([texts[i] for i in indices], truncation=True, max_length=limit)
            for position, i in enumerate(indices):
                rows[i] = {name: values[position] for name, values in encoded.items()}
        return self.nllb_tokenizer.pad(rows, padding=True, return_tensors="pt")

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, roles: Sequence[Role]) -> torch.Tensor:
        with torch.no_grad():
            states = self.nllb_encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        projected = self.projection(states.to(self.projection.up.weight.dtype))
        content = attention_mask.bool() & ~torch.isin(input_ids, self.masked_ids)
        embed = self.e5.get_input_embeddings()
        device = projected.device
        sequences, masks = [], []
        for row, role in enumerate(roles):
            length = int(attention_mask[row].sum())
            prefix = torch.tensor(self.prefix_ids[role], device=device)
            sep = torch.tensor([self.sep_id], device=device)
            sequences.append(torch.cat([embed(prefix), projected[row, :length], embed(sep)]))
            ones = torch.ones(len(prefix), dtype=torch.bool, device=device)
            masks.append(torch.cat([ones, content[row, :length], ones[:1]]))
        inputs = nn.utils.rnn.pad_sequence(sequences, batch_first=True)
        mask = nn.utils.rnn.pad_sequence(masks, batch_first=True).long()
        hidden = self.e5(inputs_embeds=inputs, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(pooled.float(), p=2, dim=-1)


def load_base_models(nllb_path: Path, e5_path: Path, dtype: torch.dtype) -> tuple[nn.Module, Any, nn.Module, Any]:
    """The frozen NLLB encoder (from a full NLLB-200 checkpoint) and E5, with their tokenizers."""
    from transformers import AutoModel, AutoTokenizer, M2M100Model

    try:
        nllb_tokenizer = AutoTokenizer.from_pretrained(nllb_path)
        nllb_encoder = M2M100Model.from_pretrained(nllb_path, dtype=dtype).get_encoder()
    except (OSError, ValueError) as error:
        raise InputError(f"cannot load the NLLB-200 checkpoint: {error}", path=nllb_path) from None
    if not hasattr(nllb_tokenizer, "src_lang"):
        raise InputError(f"tokenizer {type(nllb_tokenizer).__name__} is not NLLB's", path=nllb_path)
    try:
        e5_tokenizer = AutoTokenizer.from_pretrained(e5_path)
        e5 = AutoModel.from_pretrained(e5_path, dtype=dtype)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot load the E5 checkpoint: {error}", path=e5_path) from None
    return nllb_encoder, nllb_tokenizer, e5, e5_tokenizer


def _peft() -> Any:
    try:
        import peft
    except ImportError:
        raise HarnessError("NLLB-E5's LoRA adapter needs PEFT: pip install 'harness[nllb-e5]' (or peft)") from None
    return peft


def with_trained_lora(e5: nn.Module, folder: Path) -> nn.Module:
    """E5 with the folder's LoRA adapter merged into its weights (inference needs no PEFT wrapper)."""
    peft = _peft()

    lora = folder / LORA_DIR
    if not (lora / "adapter_config.json").is_file():
        raise InputError("the LoRA adapter (lora/adapter_config.json, PEFT format) is missing", path=folder)
    try:
        with _quiet_peft():
            return peft.PeftModel.from_pretrained(e5, lora).merge_and_unload()
    except (RuntimeError, ValueError, KeyError) as error:
        raise InputError(f"the LoRA adapter does not fit the E5 checkpoint: {error}", path=lora) from None


def with_new_lora(e5: nn.Module, rank: int, alpha: int, dropout: float) -> nn.Module:
    """E5 wrapped for training: LoRA on the attention's query, key and value; all else frozen."""
    peft = _peft()
    config = peft.LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=LORA_TARGETS, bias="none")
    with _quiet_peft():
        return peft.get_peft_model(e5, config)


@contextlib.contextmanager
def _quiet_peft() -> Iterator[None]:
    """PEFT calls a transformers method that transformers 5 deprecates; the warning is not the user's."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield
