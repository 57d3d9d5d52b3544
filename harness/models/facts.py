"""What a checkpoint's files say about the model without loading it: parameter count, config values, license.

A rerun whose encodings are all stored never loads the weights, yet its result must still say how big the
model is and under which license it was published. So the parameter count is read from the safetensors
header(s) (an 8-byte little-endian length, then a JSON table of each tensor's dtype and shape; no tensor
is read), from a zip-format torch file memory-mapped (its tensors are never copied), or from modules an
adapter has loaded anyway. What cannot be read cheaply is unknown (None), never guessed.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
"""Where transformers looks for a checkpoint's weights, in the order it prefers them."""

# Only floating-point tensors are parameters: integer ones in a checkpoint are buffers such as
# BERT's `embeddings.position_ids`, which `nn.Module.parameters()` does not count either.
FLOATING_DTYPES = frozenset({"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"})

MAX_HEADER_BYTES = 100_000_000
"""The safetensors format's own limit on a header: a larger length means the file is not safetensors."""


def safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file: tensor name -> {dtype, shape, data_offsets}, plus `__metadata__`."""
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) != 8:
            raise ValueError(f"{path} is too short to be a safetensors file")
        (length,) = struct.unpack("<Q", prefix)
        if length > MAX_HEADER_BYTES:
            raise ValueError(f"{path} declares a {length}-byte header: not a safetensors file")
        header = json.loads(handle.read(length))
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the safetensors header is not a JSON object")
    return header


def safetensors_parameters(path: Path) -> int:
    """Elements of the floating-point tensors one safetensors file holds, read from its header alone.

    safetensors stores a tensor shared by several names once, so nothing is counted twice."""
    tensors = (entry for name, entry in safetensors_header(path).items() if name != "__metadata__")
    return sum(math.prod(entry["shape"]) for entry in tensors if entry["dtype"] in FLOATING_DTYPES)


def torch_file_parameters(path: Path) -> int | None:
    """Elements of the floating-point tensors of a torch state dict, memory-mapped so no tensor data is read;
    tied tensors (two names, one storage) count once. None for what cannot be mapped: the pre-1.6 format,
    a pickle `weights_only` refuses, or a file that is not a flat state dict."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # legacy (non-zip) files cannot be mapped; reading them whole is not cheap
        return None
    if not isinstance(state, dict):
        return None
    seen: set[tuple[int, int, tuple[int, ...]]] = set()
    total = 0
    for tensor in state.values():
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            continue
        identity = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if identity not in seen:
            seen.add(identity)
            total += tensor.numel()
    return total


def weights_file_parameters(path: Path) -> int | None:
    """The parameters in one weights file, safetensors or torch; None when unreadable."""
    if path.suffix == ".safetensors":
        try:
            return safetensors_parameters(path)
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return torch_file_parameters(path)


def checkpoint_parameters(folder: Path) -> int | None:
    """The parameter count of the checkpoint in `folder` (the first of `WEIGHT_FILES` present; a sharded
    one through its index's `weight_map`); None when there are no weights or a file cannot be read."""
    for name in WEIGHT_FILES:
        path = folder / name
        if not path.is_file():
            continue
        if not name.endswith(".index.json"):
            return weights_file_parameters(path)
        return _sharded_parameters(folder, _index_shards(path))
    return None


def _sharded_parameters(folder: Path, shards: list[str]) -> int | None:
    """The sum over a sharded checkpoint's files; unknown when there are none or one cannot be read."""
    total = 0
    for shard in shards:
        count = weights_file_parameters(folder / shard)
        if count is None:
            return None
        total += count
    return total if shards else None


def _index_shards(path: Path) -> list[str]:
    """The shard files a sharded checkpoint's index names (empty when the index is unreadable)."""
    try:
        weight_map = json.loads(path.read_text(encoding="utf-8")).get("weight_map", {})
    except (OSError, ValueError, AttributeError):
        return []
    return sorted({str(shard) for shard in weight_map.values()}) if isinstance(weight_map, dict) else []


def module_parameters(*modules: Any) -> int | None:
    """Parameters of loaded torch modules, each tensor once even when tied or shared between modules;
    None for no modules (an adapter that does not know what it runs)."""
    if not modules:
        return None
    unique = {id(parameter): parameter for module in modules for parameter in module.parameters()}
    return sum(parameter.numel() for parameter in unique.values())


def config_number(folder: Path, keys: Iterable[str]) -> int | None:
    """The first of `keys` that the checkpoint's `config.json` sets to an integer (`hidden_size`, `d_model`)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    values = (config.get(key) for key in keys)
    return next((value for value in values if isinstance(value, int) and not isinstance(value, bool)), None)


def readme_license(folder: Path) -> str | None:
    """The `license:` of a checkpoint's README.md YAML front matter (the hub's model card); `license_name`
    where the license is `other`, since that names the actual terms. None without a README or the key."""
    front = _front_matter(folder / "README.md")
    license_id = front.get("license")
    if license_id == "other" and isinstance(front.get("license_name"), str):
        return str(front["license_name"])
    return license_id if isinstance(license_id, str) and license_id else None


def _front_matter(path: Path) -> dict[str, Any]:
    """The YAML block between a leading `---` line and the next one; empty when absent or not YAML."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    if not lines or lines[0].strip() != "---":
        return {}
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        return {}
    try:
        front = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError:
        return {}
    return front if isinstance(front, dict) else {}
