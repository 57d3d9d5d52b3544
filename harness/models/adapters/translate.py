"""Translate-then-retrieve: machine-translate the queries (and optionally the documents), then
hand the translations to any monolingual retriever named by its card (BM25, MiniLM, SPLADE...).

The retriever is built through the same card registry as any model, so every adapter composes.
Queries are translated into the documents' language (`target_language: auto`), or into a fixed
language, in which case `translate_documents: true` brings the documents there too.

Cost. Translation runs inside `encode_queries` / `encode_documents`, so its time is part of the
record's `query_encode_s` / `corpus_encode_s` (and end-to-end QPS), and its energy part of the
unit's energy reading. `describe()` breaks it out under `translation`: model and revision,
generation settings, and per side the texts, unique segments, cache hits and seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.catalog.cards import ModelCard, load_card
from harness.core.errors import InputError
from harness.core.languages import is_known_language
from harness.encode import (
    DocumentBudget,
    Encoder,
    EncodeSettings,
    Family,
    ModelFacts,
    ProgressCallback,
    Representation,
)
from harness.models.adapters import card_family, load_encoder
from harness.models.common import card_parameters
from harness.models.facts import module_parameters, readme_license
from harness.models.translation import (
    GenerationSettings,
    TranslationCache,
    TranslationStats,
    Translator,
    default_cache_dir,
)
from harness.models.weights import WeightsSpec, resolve_weights

COST_NOTE = (
    "translation runs inside query (and, when documents are translated, corpus) encoding: its time is part of "
    "efficiency.query_encode_s / corpus_encode_s and its energy part of this unit's energy reading"
)


class TranslateParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    translator: WeightsSpec
    # A card name (`bm25`) or a path, relative to this card's folder.
    retriever: str
    target_language: str = "auto"
    translate_documents: bool = False
    num_beams: int = Field(default=4, ge=1)
    max_new_tokens: int = Field(default=256, ge=1)
    max_input_tokens: int = Field(default=512, ge=4)
    cache: bool = True
    cache_dir: str | None = None
    # ISO code -> the translation model's own code, where the default mapping is not wanted.
    language_codes: dict[str, str] = Field(default_factory=dict)


class TranslateEncoder(Encoder):
    """A pipeline whose family is its retriever's: the runner indexes what the retriever produces."""

    family: Family
    storable = False  # queries are translated into the language of the documents encoded last
    Parameters = TranslateParameters

    @classmethod
    def family_of(cls, card: ModelCard) -> Family:
        """The retriever card's family, read without loading the translator or the retriever."""
        retriever = retriever_card(card, card_parameters(card, TranslateParameters))
        return card_family(retriever)

    def __init__(self, card: ModelCard, settings: EncodeSettings) -> None:
        super().__init__(card, settings)
        self.params = card_parameters(card, TranslateParameters)
        target = self.params.target_language
        if target != "auto" and not is_known_language(target):
            raise InputError(f"unknown language code {target!r}", path=card.path, key="parameters.target_language")
        if self.params.translate_documents and target == "auto":
            raise InputError(
                "translating the documents needs a fixed target language (e.g. `target_language: en`)",
                path=card.path,
                key="parameters.target_language",
            )
        self.retriever_card = retriever_card(card, self.params)
        self.retriever = load_encoder(self.retriever_card, settings)
        self.family = self.retriever.family
        cache = None
        if self.params.cache:
            directory = Path(self.params.cache_dir).expanduser() if self.params.cache_dir else default_cache_dir()
            if not directory.is_absolute() and card.path:
                directory = card.path.parent / directory
            cache = TranslationCache(directory)
        self.translator = Translator(
            resolve_weights(self.params.translator, card),
            GenerationSettings(
                num_beams=self.params.num_beams,
                max_new_tokens=self.params.max_new_tokens,
                max_input_tokens=self.params.max_input_tokens,
                batch_size=settings.batch_size,
            ),
            device=settings.device,
            dtype=settings.dtype,
            language_codes=self.params.language_codes,
            cache=cache,
            trust_remote_code=card.trust_remote_code,
        )
        self._document_language: str | None = None
        self._costs: dict[str, TranslationStats] = {}

    @property
    def device(self) -> str:
        return self.retriever.device

    def document_budget(self, language: str) -> DocumentBudget | None:
        """The retriever's, when it reads the documents as they are; documents to translate are cut into
        sentences for the translator, and their translations differ in length, so MaxP has no budget there."""
        if self.params.translate_documents and language != self.params.target_language:
            return None
        return self.retriever.document_budget(language)

    def encode_documents(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> Representation:
        self._costs = {}  # documents come first in every unit: a new unit's accounting starts here
        target = self.params.target_language
        if not self.params.translate_documents or language == target:
            self._document_language = language
            return self.retriever.encode_documents(texts, language, progress)
        translated, self._costs["documents"] = self.translator.translate(
            texts, language, target, progress, by_sentence=True
        )
        self._document_language = target
        return self.retriever.encode_documents(translated, target)

    def encode_queries(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> Representation:
        target = self.params.target_language
        if target == "auto":
            if self._document_language is None:
                raise RuntimeError("the target language is the documents': encode the documents before the queries")
            target = self._document_language
        if language == target:
            return self.retriever.encode_queries(texts, language, progress)
        translated, self._costs["queries"] = self.translator.translate(texts, language, target, progress)
        return self.retriever.encode_queries(translated, target)

    def model_facts(self) -> ModelFacts:
        """The retriever's dimension and input length (the index holds its vectors); parameters of the
        translator and the retriever together, the retriever adding none when it has no count (BM25); the
        card's license, else each part's distinct license joined with " + " (both sets of terms apply)."""
        retriever = self.retriever.model_facts()
        parameters = (module_parameters(self.translator.model) or 0) + (retriever.parameters or 0)
        licenses = [readme_license(self.translator.weights.path), retriever.license]
        license_text = " + ".join(dict.fromkeys(name for name in licenses if name)) or None
        return ModelFacts(
            parameters=parameters,
            embedding_dimension=retriever.embedding_dimension,
            max_tokens=retriever.max_tokens,
            license=self.card.license or license_text,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "retriever": {
                "card": self.retriever_card.name,
                "adapter": self.retriever_card.adapter,
                "card_sha256": self.retriever_card.sha256,
                "family": self.retriever.family,
                "details": self.retriever.describe(),
            },
            "translation": {
                "model": self.translator.describe(),
                "target_language": self.params.target_language,
                "translate_documents": self.params.translate_documents,
                "cache": str(self.translator.cache.path) if self.translator.cache is not None else None,
                **{side: cost.to_dict() for side, cost in self._costs.items()},
                "cost_accounting": COST_NOTE,
            },
        }


def retriever_card(card: ModelCard, params: TranslateParameters) -> ModelCard:
    """The card of the retriever the translations go to (a name, or a path beside the translate card)."""
    folder = [card.path.parent] if card.path else []
    name = params.retriever
    if folder and Path(name).suffix in {".yaml", ".yml"} and not Path(name).expanduser().is_absolute():
        name = str(folder[0] / name)
    retriever = load_card(name, folder)
    if retriever.adapter == card.adapter:
        raise InputError("the retriever of a translate card cannot itself translate", path=card.path)
    return retriever


ADAPTER = TranslateEncoder
