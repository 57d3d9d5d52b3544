"""Model adapters, found by convention: card `adapter: foo-bar` -> `harness/models/adapters/foo_bar.py`.

Each adapter module exposes `ADAPTER`, an `Encoder` subclass with a pydantic `Parameters` model
that validates the card's `parameters`. A new model family is one module plus a card.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError
from harness.encode import Encoder, EncodeSettings, Family

_NOT_ADAPTERS = {"learned_sparse", "multivector", "xmod"}


def adapter_names() -> list[str]:
    return sorted(
        module.name.replace("_", "-")
        for module in pkgutil.iter_modules([str(Path(__file__).parent)])
        if module.name not in _NOT_ADAPTERS
    )


def adapter_class(name: str) -> type[Encoder]:
    if name not in adapter_names():
        raise InputError(f"unknown adapter {name!r}; known: {', '.join(adapter_names())}", key="adapter")
    return importlib.import_module(f"harness.models.adapters.{name.replace('-', '_')}").ADAPTER


def card_adapter(card: ModelCard) -> type[Encoder]:
    """The adapter a card names; an unknown one is reported with the card's file and key."""
    try:
        return adapter_class(card.adapter)
    except InputError as error:
        raise InputError(error.reason, path=card.path, key="adapter") from None


def card_family(card: ModelCard) -> Family:
    """The family of the model a card describes, from the card alone (no weights are loaded)."""
    return card_adapter(card).family_of(card)


def load_encoder(card: ModelCard, settings: EncodeSettings | None = None) -> Encoder:
    """Build the encoder a card describes; errors name the card file and the key at fault."""
    return card_adapter(card)(card, settings or EncodeSettings())


__all__ = ["adapter_class", "adapter_names", "card_adapter", "card_family", "load_encoder"]
