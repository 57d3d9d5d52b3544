"""Machine translation for translate-then-retrieve pipelines, with an on-disk cache."""

from harness.models.translation.cache import TranslationCache, TranslationKey, default_cache_dir
from harness.models.translation.translator import GenerationSettings, TranslationStats, Translator, split_sentences

__all__ = [
    "GenerationSettings",
    "TranslationCache",
    "TranslationKey",
    "TranslationStats",
    "Translator",
    "default_cache_dir",
    "split_sentences",
]
