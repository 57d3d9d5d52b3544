"""Helpers shared by adapters: card parameter validation, devices, dtypes and reading weight files."""

from __future__ import annotations

import contextlib
import json
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from harness.catalog.cards import ModelCard, PrecisionMode
from harness.core.errors import InputError
from harness.encode import EncodeSettings

P = TypeVar("P", bound=BaseModel)


def card_parameters(card: ModelCard, model: type[P]) -> P:
    """The card's `parameters`, validated; a bad one names the card file and the key."""
    try:
        return model.model_validate(card.parameters)
    except ValidationError as error:
        raise InputError.from_validation(error, path=card.path, prefix="parameters") from None


def declared_architecture(folder: Path, card: ModelCard) -> str:
    """The model class a checkpoint's `config.json` declares (`architectures`, else `model_type`): read
    without importing transformers, so a result can name it when the weights never had to load."""
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"the checkpoint has no config.json (looked in {folder})", path=card.path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"unreadable config.json: {error}", path=path) from None
    if not isinstance(config, dict):
        raise InputError("config.json is not a JSON object", path=path)
    declared = config.get("architectures")
    if isinstance(declared, list) and declared and isinstance(declared[0], str):
        return declared[0]
    return str(config.get("model_type", "unknown"))


def resolve_device(requested: str) -> str:
    """`auto` means CUDA when torch sees a GPU, else CPU."""
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def applied_dtype(name: str, device: str) -> str:
    """float16 only where it is fast (GPU): CPU float16 matmuls are slow and lossy, so on CPU it is
    float32; bfloat16 applies on CPU and GPU alike. Named without importing torch."""
    return "float32" if device == "cpu" and name == "float16" else name


def torch_dtype(name: str, device: str) -> Any:
    """The torch dtype `applied_dtype` names."""
    import torch

    return getattr(torch, applied_dtype(name, device))


@dataclass(frozen=True)
class TorchPrecision:
    """How a model computes below float32. `cast` converts its weights to `dtype` (every layer, the
    norms and softmax too, then runs in `dtype`); `autocast` keeps float32 weights and runs each
    forward pass under `torch.autocast(dtype)`, which lowers matmuls only (how MILCO's authors
    encode). The two give different vectors, so results record which one ran."""

    dtype: str  # what is applied: float32, float16 or bfloat16
    mode: PrecisionMode
    device: str

    @property
    def weights(self) -> Any:
        """The dtype to load or cast the weights to."""
        import torch

        return torch.float32 if self.mode == "autocast" else getattr(torch, self.dtype)

    def context(self) -> AbstractContextManager[Any]:
        """Wrap each forward pass in this: autocast in `autocast` mode below float32, else nothing."""
        if self.mode != "autocast" or self.dtype == "float32":
            return contextlib.nullcontext()
        import torch

        return torch.autocast(device_type=self.device.split(":")[0], dtype=getattr(torch, self.dtype))

    def describe(self) -> dict[str, str]:
        return {"dtype": self.dtype, "precision": self.mode}


def torch_precision(settings: EncodeSettings, card: ModelCard, device: str) -> TorchPrecision:
    """`--precision`, else the card's `precision` (the mode its published numbers used), else `cast`;
    float32 is float32 in either mode, and float16 on CPU is float32 (see `applied_dtype`)."""
    applied = applied_dtype(settings.dtype, device)
    mode = settings.precision or card.precision or "cast"
    return TorchPrecision(applied, "cast" if applied == "float32" else mode, device)


def read_tensors(path: Path) -> dict[str, Any]:
    """A weights file's tensors on CPU: safetensors, or a torch file loaded with `weights_only`."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # a truncated or non-torch file; weights_only refuses pickled code too
        raise InputError(f"cannot read the checkpoint: {error}", path=path) from None


def load_linear_head(
    path: Path, hidden: int, dtype: Any, card: ModelCard, key: str, out_features: int | None = None
) -> Any:
    """A head saved as an nn.Linear state dict (weight [out, hidden], bias [out]), e.g. BGE-M3's
    `colbert_linear.pt` and `sparse_linear.pt`; a missing or misshapen file names the card key."""
    import torch

    if not path.is_file():
        raise InputError(f"BGE-M3 head not found: {path}", path=card.path, key=key)
    state = read_tensors(path)
    weight, bias = state.get("weight"), state.get("bias")
    if (
        weight is None
        or bias is None
        or weight.ndim != 2
        or weight.shape[1] != hidden
        or (out_features is not None and weight.shape[0] != out_features)
    ):
        shapes = {name: list(value.shape) for name, value in state.items()}
        rows = out_features if out_features is not None else "dim"
        raise InputError(
            f"expected an nn.Linear state dict (weight [{rows}, {hidden}], bias [{rows}]); found {shapes}", path=path
        )
    linear = torch.nn.Linear(hidden, weight.shape[0], dtype=dtype)
    linear.load_state_dict({"weight": weight.to(dtype), "bias": bias.to(dtype)})
    return linear
