"""Language codes: the harness speaks ISO 639 (two-letter where one exists, else three-letter)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import langcodes
import pycountry

# Multilingual code that means "mixed or unspecified": accepted for collections that mix languages.
MULTILINGUAL = "mul"


@dataclass(frozen=True)
class Language:
    code: str
    name: str


@cache
def lookup_language(code: str) -> Language | None:
    """The language for an ISO 639-1 or 639-3 code, or None when the code is not a language."""
    normalised = code.strip().lower()
    if normalised == MULTILINGUAL:
        return Language(MULTILINGUAL, "Multiple languages")
    if len(normalised) == 2:
        entry = pycountry.languages.get(alpha_2=normalised)
    elif len(normalised) == 3:
        entry = pycountry.languages.get(alpha_3=normalised)
    else:
        entry = None
    if entry is None:
        return None
    name = str(entry.name).replace(" (macrolanguage)", "")
    return Language(getattr(entry, "alpha_2", None) or entry.alpha_3, name)


def is_known_language(code: str) -> bool:
    return lookup_language(code) is not None


def language_name(code: str) -> str:
    language = lookup_language(code)
    return language.name if language else code


@cache
def language_with_script(code: str) -> str:
    """`de` -> `deu-Latn`, `zh` -> `zho-Hans`, `sr` -> `srp-Cyrl`: the ISO 639-3 code and the ISO 15924 script the
    language is usually written in (CLDR's likely subtags), as MTEB names languages. `mul` (mixed) is `mul-Zyyy`,
    ISO 15924's code for text in several scripts."""
    if code.strip().lower() == MULTILINGUAL:
        return f"{MULTILINGUAL}-Zyyy"
    language = langcodes.Language.get(code)
    return f"{language.to_alpha3()}-{language.maximize().script or 'Zyyy'}"
