"""A researcher's own Python object as a dense model: anything with `encode(texts, **kwargs) -> array`.

Called the way sentence-transformers and MTEB call models: `encode_queries(texts)` / `encode_documents(texts)`
when the object has them; else `encode(texts, prompt_name=...)` when it has `prompts` naming a query or
document prompt (sentence-transformers applies the prompt itself); else `encode(texts)`. `batch_size` is
passed when `encode` accepts it. Whatever comes back (numpy, torch, lists) becomes float32 vectors,
checked like every adapter's output (one row per text, no NaN).

The object is not in the card: its card (`adapter: python`) names it, and its `revision`, so the run key
and the embedding store see the same model again when the name, revision and settings are the same.
Change the revision when the weights change. A card file with `adapter: python` cannot be run from the
command line: there is no object to call.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError
from harness.encode import (
    DenseRepresentation,
    DocumentBudget,
    Encoder,
    EncodeSettings,
    ModelFacts,
    ProgressCallback,
    Role,
)
from harness.models.common import card_parameters

# Texts handed to the object per call: its own batching (and length sorting) works inside a call, and
# progress advances between calls.
TEXTS_PER_CALL_BATCHES = 16
_DOCUMENT_PROMPTS = ("document", "passage", "corpus")


class PythonParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object: str  # `module:QualifiedName` of the object's class, for the reader
    revision: str | None = None  # the caller's version of the weights: a new one is a new experiment
    calls: Literal["encode_queries/encode_documents", "encode with prompt_name", "encode"] = "encode"


def python_card(model: object, name: str, revision: str | None) -> ModelCard:
    """The card of a Python object: its name, class and revision, and how it is called."""
    kind = type(model)
    parameters = PythonParameters(
        object=f"{kind.__module__}:{kind.__qualname__}", revision=revision, calls=_calls(model)
    )
    try:
        card = ModelCard(
            name=name,
            adapter="python",
            description=f"a Python object of class {parameters.object}",
            parameters=parameters.model_dump(exclude_none=True),
        )
    except ValidationError:  # the card's own name pattern
        raise InputError(f"{name!r} cannot name a model: use letters, digits and . _ + -", key="name") from None
    card.sha256 = "sha256:" + card_text_digest(card)
    return card


def card_text_digest(card: ModelCard) -> str:
    """sha256 of the card's fields as canonical JSON: the hash of a card that has no file."""
    canonical = json.dumps(card.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _calls(model: object) -> str:
    if callable(getattr(model, "encode_queries", None)) and callable(getattr(model, "encode_documents", None)):
        return "encode_queries/encode_documents"
    if not callable(getattr(model, "encode", None)):
        raise InputError(
            f"a {type(model).__name__} cannot encode: a model needs an `encode(texts)` method (or "
            "`encode_queries` and `encode_documents`), a card name, a checkpoint folder or hf:ORG/NAME",
            key="model",
        )
    prompts = getattr(model, "prompts", None)
    if isinstance(prompts, dict) and any(name in prompts for name in ("query", *_DOCUMENT_PROMPTS)):
        return "encode with prompt_name"
    return "encode"


def _accepts(function: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def as_vectors(output: Any, count: int, where: str) -> np.ndarray:
    """An object's output as a float32 (count, dim) array; a 1-D or ragged output names the caller."""
    if hasattr(output, "detach"):  # a torch tensor, on any device and dtype
        output = output.detach().float().cpu().numpy()
    try:
        vectors = np.asarray(output, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise InputError(f"{where} returned something that is not an array of numbers: {error}") from None
    if vectors.ndim != 2:
        raise InputError(f"{where} returned an array of shape {vectors.shape} for {count} texts; expected (texts, dim)")
    return vectors


class PythonEncoder(Encoder):
    """Wraps the object `harness.evaluate` was given; only built by `PythonEncoder.wrap`."""

    family = "dense"
    Parameters = PythonParameters

    def __init__(self, card: ModelCard, settings: EncodeSettings, model: object | None = None) -> None:
        if model is None:
            raise InputError(
                "a card with `adapter: python` describes a Python object; run it from Python: "
                "harness.evaluate(your_model, ...)",
                path=card.path,
                key="adapter",
            )
        super().__init__(card, settings)
        self.params = card_parameters(card, PythonParameters)
        self.model = model

    @classmethod
    def wrap(
        cls, model: object, name: str, revision: str | None = None, settings: EncodeSettings | None = None
    ) -> PythonEncoder:
        return cls(python_card(model, name, revision), settings or EncodeSettings(), model)

    def encode_queries(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> DenseRepresentation:
        return self._encode(texts, "query", progress)

    def encode_documents(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> DenseRepresentation:
        return self._encode(texts, "document", progress)

    def document_budget(self, language: str) -> DocumentBudget | None:
        return None  # no tokenizer to split documents with: the object reads each document as it is

    def _method(self, role: Role) -> tuple[Callable[..., Any], dict[str, Any], str]:
        """The object's method for `role`, its keyword arguments, and how messages name the call."""
        if self.params.calls == "encode_queries/encode_documents":
            name = "encode_queries" if role == "query" else "encode_documents"
            return getattr(self.model, name), {}, name
        kwargs: dict[str, Any] = {}
        if self.params.calls == "encode with prompt_name":
            prompts = self.model.prompts  # type: ignore[attr-defined]
            wanted = ("query",) if role == "query" else _DOCUMENT_PROMPTS
            chosen = next((prompt for prompt in wanted if prompt in prompts), None)
            if chosen is not None:
                kwargs["prompt_name"] = chosen
        method = self.model.encode  # type: ignore[attr-defined]
        return method, kwargs, "encode"

    def _encode(self, texts: Sequence[str], role: Role, progress: ProgressCallback | None) -> DenseRepresentation:
        method, kwargs, name = self._method(role)
        if _accepts(method, "batch_size"):
            kwargs["batch_size"] = self.settings.batch_size
        where = f"{type(self.model).__name__}.{name}"
        step = self.settings.batch_size * TEXTS_PER_CALL_BATCHES
        parts = []
        for start in range(0, len(texts), step):
            chunk = list(texts[start : start + step])
            vectors = as_vectors(method(chunk, **kwargs), len(chunk), where)
            if len(vectors) != len(chunk):
                raise InputError(f"{where} returned {len(vectors)} rows for {len(chunk)} texts")
            parts.append(vectors)
            if progress:
                progress(len(chunk))
        if not parts:
            return DenseRepresentation(np.zeros((0, 0), dtype=np.float32))
        dims = {part.shape[1] for part in parts}
        if len(dims) != 1:
            raise InputError(f"{where} returned vectors of different sizes: {sorted(dims)}")
        return DenseRepresentation(np.concatenate(parts, axis=0))

    def describe(self) -> dict[str, Any]:
        return {"object": self.params.object, "revision": self.params.revision, "calls": self.params.calls}

    def model_facts(self) -> ModelFacts:
        """Parameters of the torch modules the object is or holds; its `max_seq_length` when it states one."""
        import torch

        from harness.models.facts import module_parameters

        holds = [self.model, *vars(self.model).values()] if hasattr(self.model, "__dict__") else [self.model]
        modules = [part for part in holds if isinstance(part, torch.nn.Module)]
        max_tokens = getattr(self.model, "max_seq_length", None)
        return ModelFacts(
            parameters=module_parameters(*modules[:1] if isinstance(self.model, torch.nn.Module) else modules),
            embedding_dimension=None,
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            license=self.card.license,
        )


ADAPTER = PythonEncoder
