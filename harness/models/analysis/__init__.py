"""Per-language text analysis for BM25: text -> terms, as close to Pyserini's Lucene analyzers as
practical without Java.

Every analyzer normalises (NFKC, case folding, ASCII digits), tokenises Unicode words and segments
CJK and Southeast Asian scripts into bigrams (see `harness.models.analysis.tokenizer`), then applies what its
language adds, in Lucene's order: clitic stripping, stopwords (before stemming), stemming.
- English: Anserini's default (Lucene EnglishAnalyzer): possessive "'s" removal, Lucene's 33 stopwords,
  the original Porter stemmer (not Snowball's "english").
- Languages with a Snowball stemmer in PyStemmer: that stemmer and, where bm25s ships one, a stopword
  list; elided articles are stripped for French, Italian, Catalan and Irish, and Turkish gets its
  dotted/dotless i and loses suffixes after an apostrophe, as in Lucene. Lucene's analyzers for
  German, French, Spanish, Portuguese, Italian, Hindi, Arabic and Indonesian use their own light
  stemmers and extra normalisation filters instead, and Lucene has stopword lists for more
  languages (Hindi, Arabic, Persian, Finnish, ...): terms differ somewhat from Pyserini's.
- Chinese, Japanese, Korean: CJK bigrams with Lucene's CJKAnalyzer stopwords (no stemming).
- Thai, Lao, Khmer, Myanmar: grapheme bigrams (Lucene's ThaiAnalyzer uses a dictionary instead).
- Anything else (Swahili, Yoruba, Bengali, Telugu, ...): the plain analyzer, words lowercased and
  nothing more. Pyserini uses whitespace tokens for Swahili and Yoruba; its Bengali and Telugu
  stemmers have no PyStemmer counterpart.

Analyzers are immutable values built by `analyzer_for`; each compiles its own stemmer on first use.
PyStemmer stemmers are not thread-safe: give each thread its own analyzer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from itertools import chain
from typing import Any

import Stemmer

from harness.core.errors import InputError
from harness.core.languages import lookup_language
from harness.models.analysis.stopwords import Stopwords, load_stopwords
from harness.models.analysis.tokenizer import (
    CATALAN_ELISION,
    ENGLISH_POSSESSIVE,
    FRENCH_ELISION,
    IRISH_ELISION,
    ITALIAN_ELISION,
    TURKISH_APOSTROPHE,
    CliticRule,
    normalise,
    tokenize,
)

__all__ = ["Analyzer", "analyzer_for", "analyzer_names"]

PLAIN = "plain"
SEGMENTATION = "cjk-bigram+sea-grapheme-bigram"

# ISO 639-1 code -> PyStemmer algorithm. Dutch uses the Porter-style Snowball stemmer that Lucene's
# DutchAnalyzer ships; PyStemmer's "dutch" is Snowball 3's newer algorithm.
_SNOWBALL = {
    "ar": "arabic", "ca": "catalan", "cs": "czech", "da": "danish", "de": "german", "el": "greek",
    "eo": "esperanto", "es": "spanish", "et": "estonian", "eu": "basque", "fa": "persian",
    "fi": "finnish", "fr": "french", "ga": "irish", "hi": "hindi", "hu": "hungarian", "hy": "armenian",
    "id": "indonesian", "it": "italian", "lt": "lithuanian", "nb": "norwegian", "ne": "nepali",
    "nl": "dutch_porter", "nn": "norwegian", "no": "norwegian", "pl": "polish", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "st": "sesotho", "sv": "swedish", "ta": "tamil",
    "tr": "turkish", "yi": "yiddish",
}  # fmt: skip
_STOPWORDS = {
    "en": "lucene-english", "da": "bm25s-danish", "de": "bm25s-german", "es": "bm25s-spanish",
    "fr": "bm25s-french", "it": "bm25s-italian", "nb": "bm25s-norwegian", "nl": "bm25s-dutch",
    "nn": "bm25s-norwegian", "no": "bm25s-norwegian", "pt": "bm25s-portuguese", "ru": "bm25s-russian",
    "sv": "bm25s-swedish", "tr": "bm25s-turkish",
    "ja": "lucene-cjk", "ko": "lucene-cjk", "zh": "lucene-cjk",
}  # fmt: skip
_CLITICS = {
    "ca": CATALAN_ELISION, "en": ENGLISH_POSSESSIVE, "fr": FRENCH_ELISION, "ga": IRISH_ELISION,
    "it": ITALIAN_ELISION, "tr": TURKISH_APOSTROPHE,
}  # fmt: skip
_CJK = ("ja", "ko", "zh")
_SOUTHEAST_ASIAN = ("km", "lo", "my", "th")


def _analyzer_name(code: str) -> str:
    if code == "en":
        return "lucene-english"
    if code in _CJK:
        return "lucene-cjk"
    if code in _SOUTHEAST_ASIAN:
        return "grapheme-bigram"
    if code in _SNOWBALL:
        return f"snowball-{_SNOWBALL[code]}"
    return PLAIN


@dataclass(frozen=True)
class Analyzer:
    """Turns text in one language into BM25 terms; `describe()` is what a result records about it."""

    language: str
    name: str = PLAIN
    stemmer: str | None = None  # a PyStemmer algorithm
    stopwords: Stopwords | None = None
    clitics: CliticRule | None = None
    turkish_case: bool = False

    def analyze(self, text: str) -> list[str]:
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[list[str]]:
        """Terms of each text. Stopwords are dropped and stems computed once per distinct token of
        the batch (one PyStemmer call), then looked up: several times faster than stemming every
        occurrence."""
        token_lists = [tokenize(self._prepare(text)) for text in texts]
        if self.stemmer is None and self.stopwords is None:
            return token_lists
        vocabulary = set(chain.from_iterable(token_lists))
        if self.stopwords is not None:
            vocabulary -= self.stopwords.words
        kept = list(vocabulary)
        terms = dict(zip(kept, self._stemmer.stemWords(kept) if self.stemmer else kept, strict=True))
        return [[term for term in map(terms.get, tokens) if term is not None] for tokens in token_lists]

    def describe(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "name": self.name,
            "tokenizer": "unicode-word",
            "normalization": "NFKC",
            "lowercase": "turkish" if self.turkish_case else "casefold",
            "digits": "ascii",
            "segmentation": SEGMENTATION,
            "clitics": self.clitics.name if self.clitics else None,
            "stemmer": _stemmer_label(self.stemmer),
            "stopwords": self.stopwords.describe() if self.stopwords else None,
        }

    def _prepare(self, text: str) -> str:
        text = normalise(text, turkish=self.turkish_case)
        return self.clitics.strip(text) if self.clitics else text

    @cached_property
    def _stemmer(self) -> Stemmer.Stemmer:
        return Stemmer.Stemmer(self.stemmer)

    def __getstate__(self) -> dict[str, Any]:
        """Pickles without the compiled stemmer (not picklable), so analyzers can go to worker
        processes; the copy compiles its own."""
        return {key: value for key, value in self.__dict__.items() if key != "_stemmer"}


def _stemmer_label(algorithm: str | None) -> str | None:
    if algorithm is None or algorithm == "porter":
        return algorithm
    return f"snowball-{algorithm}"


def analyzer_for(language: str) -> Analyzer:
    """The analyzer for an ISO 639-1 or 639-3 code (or "mul"); a language without a dedicated
    analyzer gets the plain one, recorded as such. Raises InputError for a code that is no language."""
    found = lookup_language(language)
    if found is None:
        raise InputError(f"{language!r} is not an ISO 639 language code", key="language")
    code = found.code
    turkish = code == "tr"
    source = _STOPWORDS.get(code)
    return Analyzer(
        language=code,
        name=_analyzer_name(code),
        stemmer="porter" if code == "en" else _SNOWBALL.get(code),
        stopwords=load_stopwords(source, partial(normalise, turkish=turkish)) if source else None,
        clitics=_CLITICS.get(code),
        turkish_case=turkish,
    )


def analyzer_names() -> dict[str, str]:
    """Language code -> analyzer name for every language with a dedicated analyzer; any other
    language gets "plain"."""
    codes = sorted({"en", *_CJK, *_SOUTHEAST_ASIAN, *_SNOWBALL})
    return {code: _analyzer_name(code) for code in codes}
