"""Named stopword sets; the name and size are recorded with every result that used them.

The lists come from bm25s (already a dependency), imported only when an analyzer needs one because
importing bm25s takes most of a second. bm25s's English list is exactly Lucene's 33-word
EnglishAnalyzer set; its other lists derive from the Snowball project's lists, which Lucene's
language analyzers also ship, but are not byte-identical to Lucene's copies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# Source name -> bm25s.stopwords attribute.
_BM25S_LISTS = {
    "lucene-english": "STOPWORDS_EN",
    "bm25s-danish": "STOPWORDS_DANISH",
    "bm25s-dutch": "STOPWORDS_DUTCH",
    "bm25s-french": "STOPWORDS_FRENCH",
    "bm25s-german": "STOPWORDS_GERMAN",
    "bm25s-italian": "STOPWORDS_ITALIAN",
    "bm25s-norwegian": "STOPWORDS_NORWEGIAN",
    "bm25s-portuguese": "STOPWORDS_PORTUGUESE",
    "bm25s-russian": "STOPWORDS_RUSSIAN",
    "bm25s-spanish": "STOPWORDS_SPANISH",
    "bm25s-swedish": "STOPWORDS_SWEDISH",
    "bm25s-turkish": "STOPWORDS_TURKISH",
}
# Lucene's CJKAnalyzer default set: English words (its list has no "an") plus "s", "t" and "www".
# bm25s's Chinese and Korean lists are whole words, which never equal a bigram in the way Lucene's
# analyzers intend, so CJK analyzers use Lucene's set instead.
_CJK_REMOVED = frozenset({"an"})
_CJK_ADDED = frozenset({"s", "t", "www"})

SOURCES = (*_BM25S_LISTS, "lucene-cjk")


@dataclass(frozen=True)
class Stopwords:
    source: str
    words: frozenset[str]

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, "count": len(self.words)}


def load_stopwords(source: str, normalise: Callable[[str], str]) -> Stopwords:
    """The set called `source`, each word passed through the analyzer's own normalisation so that
    the words compare equal to its tokens (German "daß" and "dass" both become "dass")."""
    from bm25s import stopwords as bm25s_stopwords

    words: Iterable[str]
    if source == "lucene-cjk":
        words = (set(bm25s_stopwords.STOPWORDS_EN) - _CJK_REMOVED) | _CJK_ADDED
    elif source in _BM25S_LISTS:
        words = getattr(bm25s_stopwords, _BM25S_LISTS[source])
    else:
        raise ValueError(f"unknown stopword list {source!r}; known: {', '.join(SOURCES)}")
    return Stopwords(source, frozenset(normalise(word) for word in words))
