"""The one contract every model adapter implements: texts and their language in, a representation out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from harness.encode.representations import Representation

if TYPE_CHECKING:
    from harness.cards import ModelCard

ProgressCallback = Callable[[int], None]
"""Called with the number of texts just encoded, so a caller can drive a progress bar."""

Family = Literal["dense", "sparse", "multivector", "hybrid"]


@dataclass(frozen=True)
class EncodeSettings:
    """Runtime knobs that do not change what a model computes, only where and how fast.

    Max lengths here override the card's; `None` keeps the card's value.
    """

    batch_size: int = 32
    device: str = "auto"
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    max_query_length: int | None = None
    max_document_length: int | None = None


class Encoder(ABC):
    """Encodes queries and documents into one of the representation families.

    Adapters that need corpus statistics (BM25) compute them in `encode_documents`, so callers
    always encode the documents first.
    """

    family: ClassVar[Family]

    def __init__(self, card: ModelCard, settings: EncodeSettings) -> None:
        self.card = card
        self.settings = settings

    @abstractmethod
    def encode_queries(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> Representation:
        """Encode queries written in `language` (ISO 639 code)."""

    @abstractmethod
    def encode_documents(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> Representation:
        """Encode documents written in `language` (ISO 639 code)."""

    def describe(self) -> dict[str, Any]:
        """What a reader needs to reproduce this encoder: resolved paths, revisions, analysis."""
        return {}

    @property
    def device(self) -> str:
        """The device the model runs on (`cpu`, `cuda`); `cpu` for models without one."""
        return "cpu"


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Indices in batches of similar length, longest first, so padding is small and OOM shows early."""
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]
