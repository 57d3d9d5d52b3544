"""MILCO (Nguyen et al., ICLR 2026): multilingual learned-sparse retrieval through an English pivot, with LexEcho.

The checkpoint folder holds the authors' `config.json` (`model_type: milco`) and the whole model's
state dict in `pytorch_model.bin`:

- `m_model.*`   the multilingual XLM-R encoder (BGE-M3-unsupervised),
- `projector.*` Linear(m_hidden -> en_hidden), followed by GELU (the connector),
- `mlm_head.*`  SPLADE-v3's BERT MLM head (`predictions.transform.dense`, `.LayerNorm`, `.decoder`, `.bias`),
- `echo.*`, `scale`  the LexEcho head, Linear(m_hidden -> 1) and a scalar, when `config.echo` is true;
- `en_lsr.*`    the English teacher of alignment-stage checkpoints, ignored.

The encoder's and the head's configurations and tokenizers come from the card's `encoder` /
`english` entries, else from the two checkpoints the config names (`multilingual_encoder_checkpoint`,
`lsr_encoder_checkpoint`): found beside the checkpoint when copied there (`<path>/encoder/` and
`<path>/english/`, or folders named after the hub ids' last part, see `sub_model_folders`), else
from the hub, config and tokenizer files only. The sub-models are built from those configs, and
the state dict is checked key by key and shape by shape before loading.

Output: one vector over the English vocabulary (pivot view, columns 0..en_vocab-1) followed by the
source vocabulary (echo view, columns offset by en_vocab, 30,522 for the published model).
Relevance is the dot product; `alpha` weights the views on the query side as
2 * ((1 - alpha) * pivot + alpha * source), so the default 0.5 is the authors' plain sum.
`views: pivot` keeps the English view only (the paper's MLM-en ablation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from harness.core.errors import InputError
from harness.core.json_files import load_json
from harness.encode import Role, Vocabulary, VocabularyView
from harness.models.adapters.learned_sparse import (
    LearnedSparseEncoder,
    LearnedSparseParameters,
    check_state_dict,
    expected_shapes,
    load_state_dict_file,
    max_saturated_logits,
    take_prefix,
    tokenizer_terms,
)
from harness.models.weights import WeightsSpec

CHECKPOINT_FILES = ("pytorch_model.bin", "model.safetensors")
SOURCE_PREFIX = "m_"  # the authors' label for source-vocabulary terms (English terms are shown bare)


def _ignored(key: str) -> bool:
    """The alignment teacher, and buffers older transformers versions saved."""
    return key.startswith("en_lsr.") or key.endswith(("embeddings.position_ids", "embeddings.token_type_ids"))


class MilcoParameters(LearnedSparseParameters):
    encoder: WeightsSpec | None = None  # multilingual encoder's config + tokenizer (default: from config.json)
    english: WeightsSpec | None = None  # English LSR model's config + tokenizer (default: from config.json)
    views: Literal["both", "pivot"] = "both"
    alpha: float = Field(0.5, ge=0.0, le=1.0)


class MilcoEncoder(LearnedSparseEncoder):
    Parameters = MilcoParameters
    params: MilcoParameters

    def _load(self, folder: Path) -> tuple[Any, Vocabulary]:
        import torch
        from transformers import AutoConfig, AutoModel, AutoTokenizer, BertConfig
        from transformers.models.bert.modeling_bert import BertOnlyMLMHead

        config = self._read_config(folder)
        named = config.get("multilingual_encoder_checkpoint"), config.get("lsr_encoder_checkpoint")
        encoder = self.resolve_sub_weights(self.params.encoder, named[0], "encoder", folder)
        english = self.resolve_sub_weights(self.params.english, named[1], "english", folder)
        self.sub_weights = {"encoder": encoder.to_dict(), "english": english.to_dict()}
        try:
            encoder_config = AutoConfig.from_pretrained(encoder.path)
            english_config = BertConfig.from_pretrained(english.path)
            tokenizer = AutoTokenizer.from_pretrained(encoder.path)
            english_tokenizer = AutoTokenizer.from_pretrained(english.path)
        except (OSError, ValueError) as error:
            raise InputError(f"cannot read a MILCO sub-model: {error}", path=self.card.path) from None

        en_size = int(config.get("en_vocab_size") or english_config.vocab_size)
        m_size = int(config.get("m_vocab_size") or encoder_config.vocab_size)
        m_hidden = int(config.get("m_hidden_size") or encoder_config.hidden_size)
        en_hidden = int(config.get("en_hidden_size") or english_config.hidden_size)
        english_config.vocab_size, english_config.hidden_size = en_size, en_hidden
        encoder_config.vocab_size, encoder_config.hidden_size = m_size, m_hidden
        has_echo = bool(config.get("echo", False))
        if self.params.views == "both" and not has_echo:
            raise InputError(
                "this MILCO checkpoint has no LexEcho head (config.echo is false); set `views: pivot`",
                path=self.card.path,
                key="parameters.views",
            )

        m_model = AutoModel.from_config(encoder_config)
        head = BertOnlyMLMHead(english_config)
        projector = torch.nn.Linear(m_hidden, en_hidden)
        expected = {
            **expected_shapes(m_model, "m_model."),
            **expected_shapes(projector, "projector."),
            **expected_shapes(head, "mlm_head."),
        }
        if has_echo:
            expected.update({"echo.weight": (1, m_hidden), "echo.bias": (1,), "scale": (1,)})
        state, state_path = load_state_dict_file(folder, CHECKPOINT_FILES)
        # Optional: the pooler and position-id buffers (unused), and one of the two tied MLM biases.
        optional = [key for key in expected if key.startswith("m_model.pooler.") or key.endswith("position_ids")]
        optional += ["mlm_head.predictions.decoder.bias", "mlm_head.predictions.bias"]
        check_state_dict(state, expected, state_path, optional=optional, ignored=_ignored)
        if "mlm_head.predictions.bias" not in state and "mlm_head.predictions.decoder.bias" not in state:
            raise InputError("checkpoint has no MLM output bias (mlm_head.predictions.bias)", path=state_path)
        head_state = take_prefix(state, "mlm_head.")
        head_state.setdefault("predictions.bias", head_state.get("predictions.decoder.bias"))
        head_state.setdefault("predictions.decoder.bias", head_state["predictions.bias"])
        m_model.load_state_dict(take_prefix(state, "m_model."), strict=False)
        head.load_state_dict(head_state)
        # One output bias, as BertForMaskedLM ties them: forward adds `decoder.bias`; the other is never used.
        head.predictions.bias = head.predictions.decoder.bias
        projector.load_state_dict(take_prefix(state, "projector."))
        modules = {"m_model": m_model, "projector": projector, "mlm_head": head}
        if has_echo and self.params.views == "both":
            echo = torch.nn.Linear(m_hidden, 1)
            echo.load_state_dict(take_prefix(state, "echo."))
            modules["echo"] = echo
            self._scale = state["scale"].float().to(self._device)
        self.network = torch.nn.ModuleDict(modules).to(self._device, self._dtype).eval()
        del state

        terms = tokenizer_terms(english_tokenizer, en_size)
        views = [VocabularyView("pivot (English)", 0, en_size)]
        name = f"milco:en{en_size}"
        if "echo" in self.network:
            terms += tokenizer_terms(tokenizer, m_size, prefix=SOURCE_PREFIX)
            views.append(VocabularyView("source (echo)", en_size, en_size + m_size))
            name += f"+src{m_size}"
        self._en_size = en_size
        self.config = config
        return tokenizer, Vocabulary(name, terms, tuple(views))

    def _read_config(self, folder: Path) -> dict[str, Any]:
        path = folder / "config.json"
        try:
            config = load_json(path)
        except FileNotFoundError:
            raise InputError("MILCO checkpoint has no config.json", path=folder) from None
        if config.get("model_type") != "milco":
            raise InputError(f"not a MILCO config (model_type {config.get('model_type')!r})", path=path)
        return config

    def _networks(self) -> tuple[Any, ...]:
        return (self.network,)

    def _weights(self, inputs: dict[str, Any], role: Role) -> Any:
        torch = self._torch
        mask = inputs["attention_mask"]
        hidden = self.network["m_model"](input_ids=inputs["input_ids"], attention_mask=mask).last_hidden_state
        connected = torch.nn.functional.gelu(self.network["projector"](hidden))
        pivot = max_saturated_logits(connected, mask, self.network["mlm_head"])
        if "echo" not in self.network:
            return pivot
        token_weights = torch.relu(self.network["echo"](hidden).squeeze(-1)).float() * mask * self._scale
        source = torch.zeros(mask.shape[0], len(self.vocabulary) - self._en_size, device=mask.device)
        source = source.scatter_add(1, inputs["input_ids"], token_weights)  # a repeated token's weights add up
        if role == "query":
            pivot = pivot * (2 * (1 - self.params.alpha))
            source = source * (2 * self.params.alpha)
        return torch.cat([pivot, source], dim=1)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "sub_models": self.sub_weights,
            "views": self.params.views,
            "alpha": self.params.alpha,
            "echo_scale": float(self._scale.item()) if "echo" in self.network else None,
        }


ADAPTER = MilcoEncoder
