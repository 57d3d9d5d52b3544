"""Train an NLLB-E5 by distillation, the paper's recipe: the student (frozen NLLB encoder ->
projection -> E5 with LoRA) learns to reproduce E5's own embedding of English text, by mean
squared error between the two L2-normalised vectors. The student reads the same English text, or
a translation of it in any NLLB-200 language (parallel data); only the projection and the LoRA
adapter are trained, so multilingual ability comes from NLLB's encoder, not multilingual labels.

Training data: JSON lines, one example per line:
`{"english": "...", "text": "...", "language": "hi", "role": "query"}` where `text` (default: the
English text itself), `language` (ISO 639, default `en`) and `role` (`query` or `passage`, the
E5 prefix; default `passage`) are optional.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError
from harness.data.formats import iter_jsonl, sha256_of_files
from harness.models.common import resolve_device
from harness.models.flores import require_flores_code
from harness.models.nllb_e5.layout import (
    E5_DEFAULT,
    LORA_DIR,
    NLLB_DEFAULT,
    PROJECTION_FILE,
    NllbE5Config,
    ProjectionConfig,
    write_folder,
)
from harness.models.nllb_e5.model import NllbE5, Projection, Role, load_base_models, with_new_lora
from harness.models.weights import ResolvedWeights, WeightsSpec, resolve_weights

RECIPE = "MSE(student(text in its language), E5 teacher(English text)), both L2-normalised"


@dataclass(frozen=True)
class DistillExample:
    english: str
    text: str
    language: str
    flores: str
    role: Role


def read_examples(path: Path, language_codes: Mapping[str, str] | None = None) -> list[DistillExample]:
    """Training pairs from JSON lines; a bad line is an error naming the file and line."""
    examples: list[DistillExample] = []
    for line, record in iter_jsonl(path):
        english = record.get("english")
        if not isinstance(english, str) or not english.strip():
            raise InputError("each example needs a non-empty `english` text", path=path, line=line)
        text = record.get("text", english)
        language = record.get("language", "en")
        role = record.get("role", "passage")
        if not isinstance(text, str) or not text.strip():
            raise InputError("`text` must be a non-empty string", path=path, line=line)
        if role not in ("query", "passage"):
            raise InputError(f"`role` must be query or passage, not {role!r}", path=path, line=line)
        try:
            flores = require_flores_code(str(language), language_codes)
        except InputError as error:
            raise InputError(error.reason, path=path, line=line) from None
        examples.append(DistillExample(english.strip(), text.strip(), str(language), flores, role))
    if not examples:
        raise InputError("no training examples", path=path)
    return examples


@dataclass(frozen=True)
class DistillSettings:
    data: Path
    output: Path
    nllb: WeightsSpec = field(default_factory=lambda: NLLB_DEFAULT)
    e5: WeightsSpec = field(default_factory=lambda: E5_DEFAULT)
    epochs: int = 1
    max_steps: int | None = None
    batch_size: int = 16
    learning_rate: float = 1e-4
    lora_rank: int = 32
    lora_alpha: int = 64
    lora_dropout: float = 0.1
    projection_hidden: int = 4096
    activation: str = "gelu"
    max_nllb_tokens: int = 508
    device: str = "auto"
    seed: int = 0
    overwrite: bool = False
    language_codes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DistillResult:
    output: Path
    losses: list[float]
    device: str


def _recorded(spec: WeightsSpec, resolved: ResolvedWeights) -> WeightsSpec:
    """What nllb_e5.json names: the hub id at the exact revision used, or the absolute local path."""
    if spec.path:
        return WeightsSpec(path=str(resolved.path))
    return WeightsSpec(hub_id=resolved.hub_id, revision=resolved.revision)


def _loss_curve(losses: list[float], points: int = 100) -> list[float]:
    """The mean loss over (at most) `points` equal spans of training, small enough to keep in the record."""
    span = max(1, math.ceil(len(losses) / points))
    return [sum(chunk) / len(chunk) for start in range(0, len(losses), span) if (chunk := losses[start : start + span])]


def distill(settings: DistillSettings, on_step: Callable[[int, int, float], None] | None = None) -> DistillResult:
    """Train projection + LoRA on `settings.data`, write the folder; `on_step(step, total, loss)` reports progress."""
    import torch

    examples = read_examples(settings.data, settings.language_codes)
    if settings.output.exists() and any(settings.output.iterdir()) and not settings.overwrite:
        raise InputError("output folder exists and is not empty (pass --overwrite to replace it)", path=settings.output)
    torch.manual_seed(settings.seed)
    device = resolve_device(settings.device)
    resolver = ModelCard(name="nllb-e5-distill", adapter="nllb-e5")
    nllb_weights = resolve_weights(settings.nllb, resolver)
    e5_weights = resolve_weights(settings.e5, resolver)
    nllb_encoder, nllb_tokenizer, e5, e5_tokenizer = load_base_models(nllb_weights.path, e5_weights.path, torch.float32)
    projection_config = ProjectionConfig(
        input_dim=int(nllb_encoder.config.d_model),
        hidden_dim=settings.projection_hidden,
        output_dim=int(e5.config.hidden_size),
        activation=settings.activation,  # type: ignore[arg-type]
    )
    config = NllbE5Config(
        nllb=_recorded(settings.nllb, nllb_weights),
        e5=_recorded(settings.e5, e5_weights),
        projection=projection_config,
        max_nllb_tokens=settings.max_nllb_tokens,
    )
    student_e5 = with_new_lora(e5, settings.lora_rank, settings.lora_alpha, settings.lora_dropout)
    model = NllbE5(nllb_encoder, nllb_tokenizer, student_e5, e5_tokenizer, Projection(projection_config), config)
    model.to(device)
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate)
    prefixes = {"query": config.query_prefix, "passage": config.document_prefix}

    def teacher(batch: list[DistillExample]) -> torch.Tensor:
        """E5 as published (adapter disabled, no dropout) on the English text with its prefix."""
        student_e5.eval()
        with torch.no_grad(), student_e5.disable_adapter():
            inputs = e5_tokenizer(
                [f"{prefixes[example.role]} {example.english}" for example in batch],
                padding=True,
                truncation=True,
                max_length=int(e5.config.max_position_embeddings),
                return_tensors="pt",
            ).to(device)
            hidden = student_e5(**inputs).last_hidden_state
            weights = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        student_e5.train()
        return torch.nn.functional.normalize(pooled, p=2, dim=-1)

    steps_per_epoch = math.ceil(len(examples) / settings.batch_size)
    total = steps_per_epoch * settings.epochs
    if settings.max_steps is not None:
        total = min(total, settings.max_steps)
    order_random = random.Random(settings.seed)
    losses: list[float] = []
    model.train()
    model.nllb_encoder.eval()
    step = 0
    while step < total:
        order = list(range(len(examples)))
        order_random.shuffle(order)
        for start in range(0, len(order), settings.batch_size):
            if step >= total:
                break
            batch = [examples[i] for i in order[start : start + settings.batch_size]]
            targets = teacher(batch)
            inputs = model.tokenize([e.text for e in batch], [e.flores for e in batch]).to(device)
            predicted = model(inputs["input_ids"], inputs["attention_mask"], [e.role for e in batch])
            loss = torch.nn.functional.mse_loss(predicted, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            losses.append(float(loss.detach()))
            step += 1
            if on_step:
                on_step(step, total, losses[-1])

    config.training = {
        "recipe": RECIPE,
        "data": str(settings.data.resolve()),
        "data_sha256": sha256_of_files([settings.data]),
        "examples": len(examples),
        "languages": dict(Counter(example.language for example in examples)),
        "steps": len(losses),
        "epochs": settings.epochs,
        "batch_size": settings.batch_size,
        "learning_rate": settings.learning_rate,
        "optimizer": "AdamW, gradient norm clipped at 1.0",
        "lora": {"r": settings.lora_rank, "alpha": settings.lora_alpha, "dropout": settings.lora_dropout},
        "first_loss": losses[0],
        "final_loss": losses[-1],
        "loss_curve": _loss_curve(losses),
        "device": device,
        "seed": settings.seed,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }

    def write_parts(folder: Path) -> None:
        from safetensors.torch import save_file

        state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.projection.state_dict().items()}
        save_file(state, str(folder / PROJECTION_FILE))
        student_e5.save_pretrained(folder / LORA_DIR)

    write_folder(settings.output, config, write_parts, overwrite=settings.overwrite)
    return DistillResult(output=settings.output, losses=losses, device=device)


def weights_spec(value: str, revision: str | None, default: WeightsSpec) -> WeightsSpec:
    """A local folder when `value` is one, else a hub id (the pinned default revision for the default id)."""
    folder = Path(value).expanduser()
    if folder.is_dir():
        return WeightsSpec(path=str(folder.resolve()))
    if revision is None and value == default.hub_id:
        revision = default.revision
    return WeightsSpec(hub_id=value, revision=revision)


__all__ = ["DistillResult", "DistillSettings", "distill", "read_examples", "weights_spec"]
