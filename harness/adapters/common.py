"""Helpers shared by adapters: card parameter validation, devices, dtypes and reading weight files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from harness.cards import ModelCard
from harness.errors import InputError

P = TypeVar("P", bound=BaseModel)


def card_parameters(card: ModelCard, model: type[P]) -> P:
    """The card's `parameters`, validated; a bad one names the card file and the key."""
    try:
        return model.model_validate(card.parameters)
    except ValidationError as error:
        raise InputError.from_validation(error, path=card.path, prefix="parameters") from None


def resolve_device(requested: str) -> str:
    """`auto` means CUDA when torch sees a GPU, else CPU."""
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def torch_dtype(name: str, device: str):
    """Half precision only where it is fast (GPU); CPU half matmuls are slow and lossy."""
    import torch

    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]
    if device == "cpu" and dtype is torch.float16:
        return torch.float32
    return dtype


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
