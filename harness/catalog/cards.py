"""Model cards: one YAML file per model, naming its adapter and the adapter's parameters.

A card is looked up by name in `model_cards/` (or any `--cards-dir`), or read from a path.
Each adapter validates its own `parameters` with its own pydantic model, so a typo in a card
fails with the card's file and the key at fault.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.core.errors import InputError
from harness.core.resources import bundled_dir
from harness.core.yaml_files import load_yaml_bytes


class ReferenceScore(BaseModel):
    """A published number for this model, so reports can show the delta to it."""

    model_config = ConfigDict(extra="forbid")

    suite: str
    dataset: str
    language: str
    metric: str
    value: float
    source: str


PrecisionMode = Literal["cast", "autocast"]
"""How a model runs in bfloat16/float16: weights cast, or float32 weights under autocast."""


class ModelCard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
    adapter: str
    description: str = ""
    # The checkpoint's license (an SPDX id or the hub's name for it); results record it beside the scores.
    license: str | None = None
    # Executing code shipped with a checkpoint is opt-in, per card.
    trust_remote_code: bool = False
    # The precision mode the card's published numbers used; the default of `--precision`.
    precision: PrecisionMode | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    index: dict[str, Any] = Field(default_factory=dict)
    references: list[ReferenceScore] = Field(default_factory=list)

    # Set by the loader, not by the YAML.
    path: Path | None = Field(default=None, exclude=True)
    sha256: str = Field(default="", exclude=True)


def default_cards_dir() -> Path:
    return bundled_dir("model_cards")


def load_card_file(path: Path) -> ModelCard:
    if not path.is_file():
        raise InputError("model card not found", path=path)
    data, raw = load_yaml_bytes(path)
    if not isinstance(data, dict):
        raise InputError("a model card must be a YAML mapping", path=path)
    try:
        card = ModelCard.model_validate(data)
    except ValidationError as error:
        raise InputError.from_validation(error, path=path) from None
    card.path = path.resolve()
    card.sha256 = "sha256:" + hashlib.sha256(raw).hexdigest()
    return card


def card_paths(cards_dirs: Sequence[Path] = ()) -> dict[str, Path]:
    """Card name -> file, the first directory in `cards_dirs` winning over the bundled cards."""
    found: dict[str, Path] = {}
    for directory in [*cards_dirs, default_cards_dir()]:
        if directory.is_dir():
            for path in sorted(directory.glob("*.y*ml")):
                found.setdefault(path.stem, path)
    return found


def load_card(name_or_path: str, cards_dirs: Sequence[Path] = ()) -> ModelCard:
    """A card by name (`bm25`) or by path (`cards/my-model.yaml`)."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in {".yaml", ".yml"} or candidate.is_file():
        return load_card_file(candidate)
    known = card_paths(cards_dirs)
    if name_or_path not in known:
        hint = ", ".join(sorted(known)) or "none"
        raise InputError(f"unknown model card {name_or_path!r}; known cards: {hint}", key="--model")
    return load_card_file(known[name_or_path])
