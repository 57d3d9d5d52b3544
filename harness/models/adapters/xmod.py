"""Language routing for XMOD backbones (ColBERT-XM, DPR-XM): one adapter per language in every layer.

XMOD names its adapters with codes such as `en_XX`, `fr_XX`, `de_DE`, `zh_CN` (`config.languages`);
the harness speaks ISO 639. Each call to `encode_*` carries the language of its texts, which picks
the adapter: the ISO code maps to the checkpoint code with the same prefix, unless the card maps it
(`language_codes`), and a language without an adapter is refused unless the card names a fallback.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from harness.core.errors import InputError
from harness.core.languages import lookup_language


class XmodRoutingParameters(BaseModel):
    """Card keys that steer routing; mixed into the parameters of adapters with an XMOD backbone."""

    # ISO code -> checkpoint code, for ambiguous or unusual ones (`zh: zh_CN`, `nb: no_XX`).
    language_codes: dict[str, str] = Field(default_factory=dict)
    # Adapter used for languages the checkpoint lacks (ISO or checkpoint code); unset: refuse them.
    fallback_language: str | None = None


class XmodRouter:
    """Maps the language of a batch of texts to the index of its XMOD adapter (`lang_ids`)."""

    def __init__(self, languages: Sequence[str], params: XmodRoutingParameters, card_path: Path | None) -> None:
        self.languages = [str(code) for code in languages]
        self._card_path = card_path
        self._overrides: dict[str, str] = {}
        for iso, code in params.language_codes.items():
            if code not in self.languages:
                raise InputError(
                    f"the checkpoint has no adapter {code!r}; its adapters: {', '.join(self.languages)}",
                    path=card_path,
                    key=f"parameters.language_codes.{iso}",
                )
            self._overrides[_iso(iso)] = code
        self._fallback: str | None = None
        if params.fallback_language is not None:
            self._fallback = self._resolve(params.fallback_language, key="parameters.fallback_language")
        self.routed: dict[str, dict[str, str]] = {}

    def adapter_code(self, language: str) -> str:
        """The checkpoint's adapter for texts in `language` (ISO 639); refuses languages it lacks."""
        iso = _iso(language)
        if iso in self._overrides:
            return self._record(iso, self._overrides[iso], "card")
        candidates = [code for code in self.languages if code.split("_")[0].lower() == iso]
        if len(candidates) == 1:
            return self._record(iso, candidates[0], "iso prefix")
        if len(candidates) > 1:
            raise InputError(
                f"language {language!r} matches several adapters ({', '.join(candidates)}); "
                f"choose one with `language_codes: {{{iso}: {candidates[0]}}}`",
                path=self._card_path,
                key="parameters.language_codes",
            )
        if self._fallback is not None:
            return self._record(iso, self._fallback, "fallback")
        raise InputError(
            f"the checkpoint has no language adapter for {language!r}; it has {', '.join(self.languages)}. "
            "Set `fallback_language` in the card to encode it with another language's adapter",
            path=self._card_path,
            key="parameters.fallback_language",
        )

    def lang_ids(self, language: str, batch_size: int, device: str) -> Any:
        """XMOD's `lang_ids` argument: the adapter's position in `config.languages`, once per text."""
        import torch

        index = self.languages.index(self.adapter_code(language))
        return torch.full((batch_size,), index, dtype=torch.long, device=device)

    def describe(self) -> dict[str, Any]:
        return {
            "adapters": len(self.languages),
            "routed": dict(self.routed),
            "fallback_language": self._fallback,
        }

    def _resolve(self, code: str, key: str) -> str:
        if code in self.languages:
            return code
        matches = [c for c in self.languages if c.split("_")[0].lower() == _iso(code)]
        if len(matches) != 1:
            raise InputError(
                f"{code!r} names no single adapter of the checkpoint; its adapters: {', '.join(self.languages)}",
                path=self._card_path,
                key=key,
            )
        return matches[0]

    def _record(self, iso: str, code: str, how: str) -> str:
        self.routed[iso] = {"adapter": code, "by": how}
        return code


def is_xmod(config: Any) -> bool:
    return getattr(config, "model_type", None) == "xmod"


def _iso(code: str) -> str:
    """Two-letter ISO 639-1 where one exists (`deu` -> `de`), else the code lower-cased."""
    language = lookup_language(code)
    return language.code if language else code.strip().lower()
