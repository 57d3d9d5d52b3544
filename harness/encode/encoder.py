"""The one contract every model adapter implements: texts and their language in, a representation out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from harness.core.errors import InputError
from harness.encode.representations import (
    DenseRepresentation,
    HybridRepresentation,
    MultiVectorRepresentation,
    Representation,
    SparseRepresentation,
)

if TYPE_CHECKING:
    from harness.catalog.cards import ModelCard

ProgressCallback = Callable[[int], None]
"""Called with the number of texts just encoded, so a caller can drive a progress bar."""

Family = Literal["dense", "sparse", "multivector", "hybrid"]

_RUN_ONLY_DETAILS = frozenset({"device", "batch_size", "language_routing"})

Role = Literal["query", "document"]
"""Which side of retrieval a text is on; adapter hooks receive it so prefixes, lengths or heads can differ."""


@dataclass(frozen=True)
class ModelFacts:
    """What a leaderboard shows beside a model's scores, known without network and without loading the
    weights (a rerun whose encodings are all stored never loads them); None where it is not known."""

    parameters: int | None
    embedding_dimension: int | None  # columns of a sparse vector (its vocabulary), one vector's size otherwise
    max_tokens: int | None  # tokens per document input in effect, special tokens included
    license: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DocumentBudget:
    """How a document input is cut into passages (MaxP): the encoder's own tokenizer, whose offsets
    give token boundaries, and how many content tokens fit beside the markers the encoder adds."""

    tokenizer: Any
    content_tokens: int

    def __post_init__(self) -> None:
        if self.content_tokens < 1:
            raise ValueError("a document input must hold at least one content token")


def content_budget(tokenizer: Any, max_length: int, prefix: str = "", extra_tokens: int = 0) -> DocumentBudget:
    """The budget of an input of `max_length` tokens that holds the tokenizer's special tokens around
    `prefix` + text, plus `extra_tokens` the encoder inserts itself (markers, an appended token)."""
    reserved = len(tokenizer(prefix, add_special_tokens=True)["input_ids"]) + extra_tokens
    if max_length <= reserved:
        raise InputError(
            f"a document input of {max_length} tokens leaves no room for text beside the {reserved} the model adds",
            key="max_document_length",
        )
    return DocumentBudget(tokenizer, int(max_length) - reserved)


@dataclass(frozen=True)
class EncodeSettings:
    """Runtime knobs: where and how fast a model runs, and the ones that change its outputs (dtype,
    precision mode, max lengths), which the run key therefore includes.

    Max lengths here override the card's; `None` keeps the card's value.
    """

    batch_size: int = 32
    device: str = "auto"
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    max_query_length: int | None = None
    max_document_length: int | None = None
    # Below float32: `cast` the weights to `dtype`, or keep them float32 under `autocast`; None = the card's.
    precision: Literal["cast", "autocast"] | None = None


class Encoder(ABC):
    """Encodes queries and documents into one of the representation families.

    Adapters that need corpus statistics (BM25) compute them in `encode_documents`, so callers
    always encode the documents first.
    """

    family: Family
    """Set on the class; an adapter whose family depends on its card (translate) sets it per instance."""
    # Whether a text's vector depends on that text alone, so encodings can be stored in shards and reused.
    # BM25's document weights depend on the whole corpus (and its queries on that vocabulary): not storable.
    storable: ClassVar[bool] = True

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

    @classmethod
    def family_of(cls, card: ModelCard) -> Family:
        """The family `card` gives this adapter, read from the card alone: callers check it against an
        index before any weights load."""
        return cls.family

    @abstractmethod
    def document_budget(self, language: str) -> DocumentBudget | None:
        """The tokenizer and content-token budget of one document input in `language`, or None when the
        model reads documents whole (BM25): MaxP splits documents to exactly this budget."""

    def describe(self) -> dict[str, Any]:
        """What a reader needs to reproduce this encoder: resolved paths, revisions, analysis."""
        return {}

    def model_facts(self) -> ModelFacts:
        """Size, dimension, input length and license for the result. Only the card's license is known to every
        adapter; those reading a checkpoint add what its files say (`harness.models.facts`)."""
        return ModelFacts(parameters=None, embedding_dimension=None, max_tokens=None, license=self.card.license)

    def output_identity(self) -> dict[str, Any]:
        """What the vectors depend on besides the texts: `describe()` less where and how fast it ran.

        The embedding store keys stored encodings by it (with the card's hash and the texts' hash).
        """
        return {key: value for key, value in self.describe().items() if key not in _RUN_ONLY_DETAILS}

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


_REPRESENTATION_OF: dict[str, type] = {
    "dense": DenseRepresentation,
    "sparse": SparseRepresentation,
    "multivector": MultiVectorRepresentation,
    "hybrid": HybridRepresentation,
}


def _non_finite(representation: Representation) -> bool:
    if isinstance(representation, HybridRepresentation):
        parts: tuple[Representation, ...] = (representation.dense, representation.sparse, representation.multivector)
        return any(_non_finite(part) for part in parts)
    values = representation.matrix.data if isinstance(representation, SparseRepresentation) else representation.vectors
    return bool(values.size) and not bool(np.isfinite(values).all())


def encode_checked(
    encoder: Encoder, texts: Sequence[str], language: str, role: Role, progress: ProgressCallback | None = None
) -> Representation:
    """`texts` encoded by `encoder` for `role`, checked before anything is stored or scored: the
    representation of the encoder's family, one row per text, no NaN or infinity. An adapter from a
    plugin or a researcher's own object can break the contract; a wrong vector must never reach a score."""
    encode = encoder.encode_queries if role == "query" else encoder.encode_documents
    representation = encode(texts, language, progress)
    problem = _contract_problem(encoder, representation, len(texts))
    if problem:
        card = encoder.card
        origin = _class_origin(type(encoder))
        raise InputError(
            f"model {card.name!r} (adapter {card.adapter!r}, {origin}) broke the encode contract on {len(texts)} "
            f"{role} text{'s' if len(texts) != 1 else ''}: {problem}",
            path=card.path,
        )
    return representation


def _class_origin(kind: type) -> str:
    """`module:Class`, and the installed package that ships it when it is not harness (a plugin's)."""
    from importlib.metadata import packages_distributions

    top = kind.__module__.partition(".")[0]
    packages = [name for name in packages_distributions().get(top, []) if name != "harness"]
    shipped = f" from package {', '.join(sorted(set(packages)))}" if packages and top != "harness" else ""
    return f"{kind.__module__}:{kind.__qualname__}{shipped}"


def _contract_problem(encoder: Encoder, representation: object, count: int) -> str | None:
    expected = _REPRESENTATION_OF.get(encoder.family)
    if expected is None:
        return f"its family {encoder.family!r} is not one of {', '.join(_REPRESENTATION_OF)}"
    if not isinstance(representation, expected):
        return f"it returned {type(representation).__name__}, not the {expected.__name__} of a {encoder.family} model"
    if len(representation) != count:
        return f"it returned {len(representation)} rows"
    if _non_finite(representation):
        return "it returned NaN or infinite values"
    return None
