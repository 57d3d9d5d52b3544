"""The on-disk layout of a trained NLLB-E5 (no public checkpoint exists; this is the harness's own).

```
<folder>/
  nllb_e5.json             format, base checkpoints, projection shape, prefixes, token cap, training record
  projection.safetensors   up.weight [hidden, nllb_dim], up.bias [hidden],
                           down.weight [e5_dim, hidden], down.bias [e5_dim]
  lora/                    the E5 LoRA adapter in PEFT's format:
    adapter_config.json      (peft_type LORA, r, lora_alpha, target_modules query/key/value)
    adapter_model.safetensors  base_model.model.encoder.layer.N.attention.self.{query,key,value}.lora_{A,B}.weight
```
The frozen base checkpoints are named, not copied: `nllb` and `e5` in `nllb_e5.json` are weight
specs (`hub_id` + `revision`, or a `path`, relative paths resolved against the folder), so a
folder may also carry them as `nllb/` and `e5/` subfolders. See docs/nllb-e5.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.core.errors import InputError
from harness.core.json_files import load_json
from harness.models.weights import WeightsSpec

CONFIG_FILE = "nllb_e5.json"
PROJECTION_FILE = "projection.safetensors"
LORA_DIR = "lora"
FORMAT = "harness-nllb-e5"

NLLB_DEFAULT = WeightsSpec(
    hub_id="facebook/nllb-200-distilled-600M", revision="f8d333a098d19b4fd9a8b18f94170487ad3f821d"
)
E5_DEFAULT = WeightsSpec(hub_id="intfloat/e5-large-v2", revision="f169b11e22de13617baa190a028a32f3493550b6")


class ProjectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_dim: int = Field(default=1024, ge=1)
    hidden_dim: int = Field(default=4096, ge=1)
    output_dim: int = Field(default=1024, ge=1)
    activation: Literal["gelu", "relu", "tanh"] = "gelu"


class NllbE5Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["harness-nllb-e5"] = FORMAT
    format_version: Literal[1] = 1
    nllb: WeightsSpec = NLLB_DEFAULT
    e5: WeightsSpec = E5_DEFAULT
    projection: ProjectionConfig = Field(default_factory=ProjectionConfig)
    max_nllb_tokens: int = Field(default=508, ge=3)
    query_prefix: str = "query:"
    document_prefix: str = "passage:"
    training: dict[str, Any] = Field(default_factory=dict)


def read_config(folder: Path) -> NllbE5Config:
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise InputError(f"not an NLLB-E5 folder: {CONFIG_FILE} is missing (see docs/nllb-e5.md)", path=folder)
    try:
        return NllbE5Config.model_validate(load_json(path))
    except ValidationError as error:
        raise InputError.from_validation(error, path=path) from None


def base_weights(spec: WeightsSpec, folder: Path) -> WeightsSpec:
    """A base checkpoint spec with a relative `path` made absolute against the NLLB-E5 folder."""
    if spec.path and not Path(spec.path).expanduser().is_absolute():
        return spec.model_copy(update={"path": str((folder / spec.path).resolve())})
    return spec


def write_folder(
    folder: Path,
    config: NllbE5Config,
    write_parts: Callable[[Path], None],
    overwrite: bool = False,
) -> Path:
    """Write a complete folder beside `folder`, then move it into place: never half a model on disk.

    `write_parts(temporary_folder)` writes the projection and the LoRA adapter.
    """
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise InputError("output folder exists and is not empty (pass --overwrite to replace it)", path=folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        write_parts(temporary)
        (temporary / CONFIG_FILE).write_text(config.model_dump_json(indent=2, exclude_none=True), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(temporary, folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return folder
