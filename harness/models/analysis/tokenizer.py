"""Text to raw terms: normalisation, clitic stripping, word tokens and bigrams for scripts without spaces.

Words follow Lucene's StandardTokenizer (Unicode UAX #29) closely enough for BM25: a word is a run of
letters, combining marks and digits, so Devanagari vowel signs and viramas stay inside their word
(Python's `re` `\\w` would cut them out). As in UAX #29, an apostrophe or full stop between two letters
("don't", "u.s") and a full stop, comma or apostrophe between two digits ("3.14", "1,000") keep the word
whole. Unlike Lucene, underscores separate words ("snake_case" -> "snake", "case").

Scripts written without spaces are segmented in every language's text, so that a Chinese name in an
English document or a Thai phrase in a multilingual collection still matches a query:
- Han, Hiragana, Katakana and Hangul runs become overlapping bigrams, as Lucene's CJKAnalyzer does
  (CJKBigramFilter); an isolated character is kept as a unigram. Lucene's English analyzer would
  instead index such characters as unigrams: bigrams are the better unit for CJK text and the
  difference cannot touch an English-only benchmark.
- Thai, Lao, Khmer and Myanmar (and Tai Tham, Tai Viet, New Tai Lue) runs become overlapping bigrams
  of grapheme clusters, so a tone mark or vowel sign is never separated from its consonant. Lucene's
  ThaiAnalyzer segments words with ICU's dictionary; reproducing it needs a dictionary segmenter
  this project does not depend on, and character bigrams are the standard dictionary-free
  substitute (they are what CJKAnalyzer does for Chinese, which is just as unsegmented).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from itertools import pairwise
from typing import Any

import regex

_CJK_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\u30fc"  # U+30FC: the katakana long-vowel mark
_SEA_SCRIPTS = r"\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tai_Tham}\p{Tai_Viet}\p{New_Tai_Lue}"
_SPACELESS = _CJK_SCRIPTS + _SEA_SCRIPTS
# The token grammar's character classes, in `regex` syntax (Unicode properties, set operations).
_CLASSES = {
    "start": rf"[[\p{{L}}\p{{N}}]--[{_SPACELESS}]]",  # a word never starts with a combining mark
    "word": rf"[[\p{{L}}\p{{M}}\p{{N}}]--[{_SPACELESS}]]",
    "letter": rf"[[\p{{L}}\p{{M}}]--[{_SPACELESS}]]",
    "digit": rf"[\p{{N}}--[{_SPACELESS}]]",
    "cjk": rf"[[{_CJK_SCRIPTS}]&&[\p{{L}}\p{{M}}\p{{N}}]]",
    "sea": rf"[[{_SEA_SCRIPTS}]&&[\p{{L}}\p{{M}}\p{{N}}]]",
}
_WORD = "{start}{word}*(?:(?<={letter})['’.](?={letter}){word}+|(?<={digit})[.,'’](?={digit}){word}+)*"
_TOKEN = f"(?P<word>{_WORD})|(?P<cjk>{{cjk}}+)|(?P<sea>{{sea}}+)"
_SPACELESS_CHAR = "{cjk}|{sea}"

_OUTSIDE_BMP = re.compile("[\U00010000-\U0010ffff]")
_NON_ASCII_DIGIT = regex.compile(r"(?![0-9])\p{Nd}")
_GRAPHEME = regex.compile(r"\X")
# Clitic rules need no exclusion of spaceless scripts: plain Unicode properties keep `regex` fast.
_WORD_CHAR = r"[\p{L}\p{M}\p{N}]"
_LETTER = r"[\p{L}\p{M}]"


@dataclass(frozen=True)
class _Grammar:
    words: re.Pattern[str] | regex.Pattern[str]
    tokens: re.Pattern[str] | regex.Pattern[str]
    spaceless: re.Pattern[str] | regex.Pattern[str]


@cache
def _grammar(outside_bmp: bool) -> _Grammar:
    """The token grammar compiled for text within the Basic Multilingual Plane or beyond it.

    The `regex` module evaluates Unicode set operations character by character and is several times
    slower than `re` on this grammar, so BMP text (nearly all text) uses `re` with each class spelt
    out as code-point ranges; `re` tests BMP ranges with a bitmap but scans ranges beyond the BMP one
    by one, so text with such characters (rare CJK ideographs, emoji) uses `regex` directly. Built on
    first use: spelling out the classes takes about 0.2 s."""
    if outside_bmp:
        return _compile(_CLASSES, partial(regex.compile, flags=regex.V1))
    return _compile({name: _bmp_ranges(expression) for name, expression in _CLASSES.items()}, re.compile)


def _compile(classes: dict[str, str], compile_: Callable[[str], Any]) -> _Grammar:
    return _Grammar(
        words=compile_(_WORD.format(**classes)),
        tokens=compile_(_TOKEN.format(**classes)),
        spaceless=compile_(_SPACELESS_CHAR.format(**classes)),
    )


def _bmp_ranges(expression: str) -> str:
    """A `re` character class listing the BMP code points that the `regex` class `expression` matches."""
    plane = "".join(map(chr, range(0x10000)))
    runs = regex.finditer(f"{expression}+", plane, regex.V1)
    return "[" + "".join(f"\\u{run.start():04x}-\\u{run.end() - 1:04x}" for run in runs) + "]"


def normalise(text: str, turkish: bool = False) -> str:
    """NFKC (full-width forms, ligatures, half-width katakana, like Lucene's CJKWidthFilter), case
    folding, and ASCII digits for every decimal digit (like Lucene's DecimalDigitFilter), so "२०२०"
    matches "2020". `turkish` lowercases I to ı and İ to i, as Lucene's TurkishLowerCaseFilter does."""
    text = unicodedata.normalize("NFKC", text)
    if turkish:
        text = text.replace("I", "ı").replace("İ", "i")
    text = text.casefold()
    return text if text.isascii() else _NON_ASCII_DIGIT.sub(_ascii_digit, text)


def _ascii_digit(match: regex.Match[str]) -> str:
    return str(unicodedata.decimal(match.group()))


@dataclass(frozen=True)
class CliticRule:
    """Removes, on normalised text, what a Lucene token filter strips from each token: the English
    possessive "'s", elided French/Italian/Catalan/Irish articles ("l'avion" -> "avion"), or Turkish
    suffixes after an apostrophe ("türkiye'de" -> "türkiye"). One regex pass per text is far cheaper
    than a filter over every token. The name identifies the rule."""

    name: str
    pattern: regex.Pattern[str] = field(compare=False)

    def strip(self, text: str) -> str:
        return self.pattern.sub("", text)


def _elision(name: str, articles: str) -> CliticRule:
    """Lucene's ElisionFilter: an article followed by an apostrophe at the start of a word."""
    alternatives = "|".join(articles.split())
    return CliticRule(name, regex.compile(rf"(?<!{_WORD_CHAR})(?:{alternatives})['’](?={_LETTER})"))


ENGLISH_POSSESSIVE = CliticRule("english-possessive", regex.compile(rf"(?<={_WORD_CHAR})['’]s(?!{_WORD_CHAR})"))
FRENCH_ELISION = _elision("french-elision", "l m t qu n s j d c jusqu quoiqu lorsqu puisqu")
ITALIAN_ELISION = _elision(
    "italian-elision", "c l all dall dell nell sull coll pell gl agl dagl degl negl sugl un m t s v d"
)
CATALAN_ELISION = _elision("catalan-elision", "d l m n s t")
IRISH_ELISION = _elision("irish-elision", "d m b")
TURKISH_APOSTROPHE = CliticRule("turkish-apostrophe", regex.compile(rf"(?<={_LETTER})['’]{_WORD_CHAR}*"))


def tokenize(text: str) -> list[str]:
    """Terms of normalised text in reading order, each CJK or Southeast Asian run replaced by its bigrams."""
    if text.isascii():
        return _grammar(outside_bmp=False).words.findall(text)
    grammar = _grammar(outside_bmp=_OUTSIDE_BMP.search(text) is not None)
    if grammar.spaceless.search(text) is None:
        return grammar.words.findall(text)
    tokens: list[str] = []
    for match in grammar.tokens.finditer(text):
        kind = match.lastgroup
        if kind == "word":
            tokens.append(match.group())
        elif kind == "cjk":
            tokens.extend(_bigrams(match.group()))
        else:
            tokens.extend(_bigrams(_GRAPHEME.findall(match.group())))
    return tokens


def _bigrams(units: str | list[str]) -> list[str]:
    """Overlapping pairs of characters (or grapheme clusters); a lone unit stays a unigram, as in
    Lucene's CJKBigramFilter."""
    if len(units) == 1:
        return [units[0]]
    return [first + second for first, second in pairwise(units)]
