"""Machine translation with NLLB-200 / M2M-100 checkpoints through transformers' `generate`.

The source language is set on the tokenizer (it prefixes the language code); the target
language is forced as the first generated token (`forced_bos_token_id`). NLLB names languages
by FLORES-200 codes (`deu_Latn`), M2M-100 by ISO codes (`__de__`). Documents are translated
sentence by sentence (the models are trained on sentences and truncate long inputs).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.encode import ProgressCallback, length_sorted_batches
from harness.models.common import resolve_device, torch_dtype
from harness.models.flores import FLORES_200, require_flores_code
from harness.models.translation.cache import TranslationCache, TranslationKey
from harness.models.weights import ResolvedWeights

_SENTENCE_END = re.compile(r"(?<=[.!?;।])\s+|(?<=[。！？；])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage, split after final punctuation (Latin, CJK, Devanagari danda)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def folder_fingerprint(folder: Path) -> str:
    """A revision for a local checkpoint without one: its config and the names and sizes of its weights."""
    digest = hashlib.sha256()
    config = folder / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    for path in sorted(folder.iterdir()):
        if path.suffix in {".safetensors", ".bin"}:
            digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return "local-sha256:" + digest.hexdigest()[:16]


@dataclass
class TranslationStats:
    """What one `translate` call cost: texts asked for, segments sent, cache hits, time."""

    texts: int = 0
    segments: int = 0
    unique_segments: int = 0
    cache_hits: int = 0
    generated: int = 0
    seconds: float = 0.0
    source_language: str = ""
    target_language: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GenerationSettings:
    num_beams: int = 4
    max_new_tokens: int = 256
    max_input_tokens: int = 512
    batch_size: int = 16


class Translator:
    def __init__(
        self,
        weights: ResolvedWeights,
        generation: GenerationSettings,
        *,
        device: str = "auto",
        dtype: str = "float32",
        language_codes: Mapping[str, str] | None = None,
        cache: TranslationCache | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.weights = weights
        self.generation = generation
        self.language_codes = dict(language_codes or {})
        self.cache = cache
        self._device = resolve_device(device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(weights.path, trust_remote_code=trust_remote_code)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(
                weights.path, trust_remote_code=trust_remote_code, dtype=torch_dtype(dtype, self._device)
            )
        except (OSError, ValueError) as error:
            raise InputError(f"cannot load the translation model in {weights.path}: {error}") from None
        if not hasattr(self.tokenizer, "src_lang"):
            raise InputError(
                f"{weights.path}: tokenizer {type(self.tokenizer).__name__} has no source language; "
                "translation needs an NLLB-200 or M2M-100 checkpoint"
            )
        self.model.eval().to(self._device)
        self._torch = torch
        self._language_ids = self._language_token_ids()
        self.revision = weights.revision or folder_fingerprint(weights.path)
        self.name = weights.hub_id or str(weights.path)

    @property
    def device(self) -> str:
        return self._device

    def _codes(self, language: str) -> tuple[str, str]:
        """(the value `tokenizer.src_lang` takes, the language token) for an ISO code."""
        if hasattr(self.tokenizer, "get_lang_token"):  # M2M-100: ISO codes, tokens `__de__`
            code = self.language_codes.get(language, language)
            known = getattr(self.tokenizer, "lang_code_to_id", {})
            token = self.tokenizer.get_lang_token(code) if code in known else ""
        else:  # NLLB-200: FLORES-200 codes, which are also the tokens
            code = token = require_flores_code(language, self.language_codes, where=f" (translator {self.name})")
        token_id = self.tokenizer.convert_tokens_to_ids(token) if token else None
        if token_id is None or token_id == self.tokenizer.unk_token_id:
            raise InputError(f"translation model {self.name} has no language token for {language!r} ({code})")
        return code, token

    def _language_token_ids(self) -> set[int]:
        """Ids of every language token, dropped from outputs (M2M-100's are not marked special)."""
        if hasattr(self.tokenizer, "lang_token_to_id"):
            return set(self.tokenizer.lang_token_to_id.values())
        ids = self.tokenizer.convert_tokens_to_ids(sorted(FLORES_200))
        return {token_id for token_id in ids if token_id != self.tokenizer.unk_token_id}

    def settings(self) -> dict[str, Any]:
        return {
            "num_beams": self.generation.num_beams,
            "max_new_tokens": self.generation.max_new_tokens,
            "max_input_tokens": self.generation.max_input_tokens,
            "dtype": str(next(self.model.parameters()).dtype).replace("torch.", ""),
        }

    def translate(
        self,
        texts: Sequence[str],
        source: str,
        target: str,
        progress: ProgressCallback | None = None,
        by_sentence: bool = False,
    ) -> tuple[list[str], TranslationStats]:
        """Each text in `target`; cached segments are not translated again."""
        started = time.perf_counter()
        source_code, _ = self._codes(source)
        _, target_token = self._codes(target)
        segments_of = [split_sentences(text) if by_sentence else [text.strip()] for text in texts]
        segments = [segment for parts in segments_of for segment in parts if segment]
        unique = list(dict.fromkeys(segments))
        key = TranslationKey(self.name, self.revision, self.settings(), source, target)
        known = self.cache.get_many(key, unique) if self.cache is not None else {}
        missing = [segment for segment in unique if segment not in known]
        stats = TranslationStats(
            texts=len(texts),
            segments=len(segments),
            unique_segments=len(unique),
            cache_hits=len(unique) - len(missing),
            generated=len(missing),
            source_language=source,
            target_language=target,
        )
        reporter = _ProportionalProgress(progress, len(texts), len(missing))
        reporter.advance(0)
        self.tokenizer.src_lang = source_code
        forced = self.tokenizer.convert_tokens_to_ids(target_token)
        for rows in length_sorted_batches([len(segment) for segment in missing], self.generation.batch_size):
            batch = [missing[i] for i in rows]
            translated = self._generate(batch, forced)
            if self.cache is not None:
                self.cache.put_many(key, batch, translated)
            known.update(zip(batch, translated, strict=True))
            reporter.advance(len(batch))
        outputs = [" ".join(known[segment] for segment in parts if segment) for parts in segments_of]
        reporter.finish()
        stats.seconds = time.perf_counter() - started
        return outputs, stats

    def _generate(self, batch: list[str], forced_bos_token_id: int) -> list[str]:
        inputs = self.tokenizer(
            batch, return_tensors="pt", padding=True, truncation=True, max_length=self.generation.max_input_tokens
        ).to(self._device)
        with self._torch.inference_mode():
            generated = self.model.generate(
                **inputs,
                forced_bos_token_id=forced_bos_token_id,
                num_beams=self.generation.num_beams,
                max_new_tokens=self.generation.max_new_tokens,
            )
        kept = [[token for token in row if token not in self._language_ids] for row in generated.tolist()]
        return [text.strip() for text in self.tokenizer.batch_decode(kept, skip_special_tokens=True)]

    def describe(self) -> dict[str, Any]:
        return {
            "weights": self.weights.to_dict(),
            "revision": self.revision,
            "architecture": type(self.model).__name__,
            "device": self._device,
            "batch_size": self.generation.batch_size,
            **self.settings(),
        }


class _ProportionalProgress:
    """Progress in texts while the work is done in unique segments: advance in proportion."""

    def __init__(self, callback: ProgressCallback | None, total_texts: int, total_work: int) -> None:
        self.callback = callback
        self.total_texts = total_texts
        self.total_work = total_work
        self.done_work = 0
        self.reported = 0

    def advance(self, work: int) -> None:
        self.done_work += work
        reach = self.total_texts if self.total_work == 0 else self.total_texts * self.done_work // self.total_work
        if self.callback and reach > self.reported:
            self.callback(reach - self.reported)
        self.reported = max(self.reported, reach)

    def finish(self) -> None:
        if self.callback and self.reported < self.total_texts:
            self.callback(self.total_texts - self.reported)
        self.reported = self.total_texts
