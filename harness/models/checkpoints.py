"""A checkpoint as a model, no card needed: `-m hf:ORG/NAME[@REVISION]` or `-m PATH/TO/FOLDER`.

The card is read from the checkpoint's own files, the way the library that saved it would load it:
- a colbert-ai `artifact.metadata` -> the `colbert` adapter (its settings are read from that file);
- BGE-M3's `sparse_linear.pt` / `colbert_linear.pt` -> its heads (both: the hybrid of all three outputs);
- sentence-transformers' `modules.json` with `1_Pooling/config.json`, `sentence_bert_config.json` and
  `config_sentence_transformers.json` -> `dense` with its pooling, normalisation, max length and
  query/document prompts; a module the dense adapter does not apply (a `Dense` projection, max pooling)
  is refused rather than approximated;
- otherwise `config.json` alone -> `dense` with mean pooling, normalised, which is said in a note.

The card is the YAML text `harness card` prints; its hash is that text's, as for a card file, so saving
the printed card and running it is the same experiment (run key and embedding store). A hub card pins
the revision it was read at; a folder card carries the checksum of the folder's files, so weights
trained further in the same folder are a new experiment, never an old result.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.catalog.cards import ModelCard, card_paths, load_card
from harness.core.errors import InputError
from harness.core.json_files import load_json
from harness.models.facts import readme_license
from harness.models.weights import (
    CONFIG_AND_TOKENIZER_FILES,
    check_folder_checksum,
    folder_checksum,
    hub_snapshot,
    local_folder,
)

HUB_PREFIX = "hf:"
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
CHECKPOINT_FILES = (*CONFIG_AND_TOKENIZER_FILES, "artifact.metadata", "*_linear.pt", "README.md")
"""What reading a hub checkpoint's card needs: its configs, colbert-ai metadata, BGE-M3 heads, model card."""

# Folder names that say nothing about the model (a trainer's `checkpoint-500`, a package's `model`,
# a hub snapshot's commit): the card is named after the folder above as well.
_GENERIC_FOLDER = re.compile(r"^(model|models|weights|final|best|output|checkpoint(-\d+)?|[0-9a-f]{40})$", re.I)
_DEFAULT_MAX_LENGTH = 512
_LEGACY_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_POOLING = {"mean": "mean", "cls": "cls", "lasttoken": "last"}


@dataclass(frozen=True)
class ChosenModel:
    """A model as `-m` named it: its card, and what was assumed in reading a checkpoint (empty for a card)."""

    card: ModelCard
    notes: tuple[str, ...] = ()
    text: str | None = None  # the generated card's YAML, for a checkpoint


@dataclass(frozen=True)
class _Checkpoint:
    folder: Path  # where its files are read
    location: dict[str, str]  # the card's `path` (+ checksum) or `hub_id` + `revision`
    name: str
    shown: str  # how errors name it


def choose_model(spec: str, cards_dirs: Sequence[Path] = ()) -> ChosenModel:
    """What `-m` names: a card (name or file), a checkpoint folder, or `hf:ORG/NAME[@REVISION]`.

    A bare name is a card before a folder of the same name; a name with a slash is a path.
    """
    if spec.startswith(HUB_PREFIX):
        return checkpoint_model(_hub_checkpoint(spec[len(HUB_PREFIX) :]))
    candidate = Path(spec).expanduser()
    if candidate.suffix in {".yaml", ".yml"} or candidate.is_file():
        return ChosenModel(_card_with_its_files(load_card(spec, cards_dirs)))
    known = card_paths(cards_dirs)
    looks_like_path = "/" in spec or spec.startswith((".", "~"))
    if spec in known and not looks_like_path:
        return ChosenModel(_card_with_its_files(load_card(spec, cards_dirs)))
    if candidate.is_dir():
        return checkpoint_model(_folder_checkpoint(candidate))
    hint = f"; for the hub checkpoint, write hf:{spec}" if HUB_ID.match(spec) and not candidate.exists() else ""
    raise InputError(
        f"unknown model {spec!r}: not a card name, a card file, a checkpoint folder or hf:ORG/NAME{hint}; "
        f"known cards: {', '.join(sorted(known)) or 'none'}",
        key="--model",
    )


def _card_with_its_files(card: ModelCard) -> ModelCard:
    """A card made from a folder, checked against the folder's files before its run key is used: a rerun
    would otherwise keep results computed with other weights."""
    checksum, path = card.parameters.get("checksum"), card.parameters.get("path")
    if isinstance(checksum, str) and isinstance(path, str):
        check_folder_checksum(local_folder(path, card), checksum, card)
    return card


def checkpoint_model(checkpoint: _Checkpoint) -> ChosenModel:
    """The card a checkpoint's files describe, as YAML text and as a card whose hash is that text's."""
    adapter, parameters, index, description, notes = _read_layout(checkpoint)
    license_name = readme_license(checkpoint.folder)
    description += "; card read from the checkpoint's files"
    document: dict[str, Any] = {"name": checkpoint.name, "adapter": adapter, "description": description}
    if license_name:
        document["license"] = license_name
    document["parameters"] = {**checkpoint.location, **parameters}
    if index:
        document["index"] = index
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110)
    try:
        card = ModelCard.model_validate(document)
    except ValidationError as error:
        raise InputError.from_validation(error, path=checkpoint.shown) from None
    card.sha256 = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    return ChosenModel(card, tuple(notes), text)


def _card_name(parts: Sequence[str]) -> str:
    """A card name from the last meaningful path parts: the allowed characters, the rest as `-`."""
    name = "-".join(parts)
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", name).strip("-._+") or "checkpoint"


def _folder_checkpoint(folder: Path) -> _Checkpoint:
    folder = folder.resolve()
    if not (folder / "config.json").is_file():
        raise InputError(
            "not a checkpoint folder: it has no config.json (a Hugging Face or sentence-transformers "
            "checkpoint has one)",
            path=folder,
        )
    parts = [folder.parent.name, folder.name] if _GENERIC_FOLDER.match(folder.name) else [folder.name]
    location = {"path": str(folder), "checksum": folder_checksum(folder)}
    return _Checkpoint(folder, location, _card_name(parts), str(folder))


def _hub_checkpoint(reference: str) -> _Checkpoint:
    hub_id, _, revision = reference.partition("@")
    if not HUB_ID.match(hub_id):
        raise InputError(f"expected hf:ORG/NAME or hf:ORG/NAME@REVISION, got hf:{reference}", key="--model")
    folder, _ = hub_snapshot(hub_id, revision or None, CHECKPOINT_FILES)
    if not (folder / "config.json").is_file():
        raise InputError(f"hub checkpoint {hub_id} has no config.json: not a transformers checkpoint", key="--model")
    location = {"hub_id": hub_id, "revision": folder.name}  # the snapshot folder is named after its commit
    return _Checkpoint(folder, location, _card_name(hub_id.split("/")), f"hf:{hub_id}")


def _read_layout(
    checkpoint: _Checkpoint,
) -> tuple[str, dict[str, Any], dict[str, Any], str, list[str]]:
    """adapter, its parameters, the index, a description and the notes, from the checkpoint's files."""
    folder, shown = checkpoint.folder, checkpoint.shown
    if (folder / "artifact.metadata").is_file():
        return "colbert", {}, {}, "colbert-ai checkpoint (settings from artifact.metadata)", []
    heads = [name for name in ("sparse_linear.pt", "colbert_linear.pt") if (folder / name).is_file()]
    if heads:
        return _bge_m3_layout(shown, heads)
    if (folder / "modules.json").is_file():
        return _sentence_transformers_layout(checkpoint)
    max_length = _tokenizer_max_length(folder)
    parameters = {"pooling": "mean", "normalize": True, "max_query_length": max_length}
    parameters["max_document_length"] = max_length
    note = (
        f"{shown} has no sentence-transformers configuration (modules.json): assuming mean pooling, "
        f"normalised vectors (cosine) and {max_length} tokens; save the card with `harness card` to change them"
    )
    return "dense", parameters, {}, "transformers checkpoint, mean pooling and normalised (assumed)", [note]


def _bge_m3_layout(shown: str, heads: list[str]) -> tuple[str, dict[str, Any], dict[str, Any], str, list[str]]:
    if len(heads) == 2:
        note = (
            f"{shown} has BGE-M3's sparse and multi-vector heads: running its hybrid of dense, sparse and "
            "multi-vector scores; for one output, save the card (harness card) and set adapter to "
            "bge-m3-sparse or bge-m3-multivector"
        )
        description = "BGE-M3 layout, all three outputs (hybrid)"
        return "bge-m3-hybrid", {}, {"kind": "hybrid-rerank"}, description, [note]
    adapter = "bge-m3-sparse" if heads == ["sparse_linear.pt"] else "bge-m3-multivector"
    return adapter, {}, {}, f"BGE-M3 layout ({heads[0]})", []


def _json_object(path: Path) -> dict[str, Any]:
    value = load_json(path) if path.is_file() else {}
    if not isinstance(value, dict):
        raise InputError("expected a JSON object", path=path)
    return value


def _sentence_transformers_layout(
    checkpoint: _Checkpoint,
) -> tuple[str, dict[str, Any], dict[str, Any], str, list[str]]:
    folder, shown = checkpoint.folder, checkpoint.shown
    modules_path = folder / "modules.json"
    modules = load_json(modules_path)
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise InputError("expected a JSON list of modules", path=modules_path)
    kinds = [(str(module.get("type", "")).rpartition(".")[2], str(module.get("path", ""))) for module in modules]
    supported = {"Transformer", "Pooling", "Normalize"}
    for kind, path in kinds:
        if kind not in supported:
            raise InputError(
                f"module {kind or '?'} ({path or 'no path'}) is not applied by the dense adapter, which runs "
                "Transformer, Pooling and Normalize only; write a card with an adapter that applies it",
                path=modules_path,
            )
    transformer = next((path for kind, path in kinds if kind == "Transformer"), None)
    pooling_path = next((path for kind, path in kinds if kind == "Pooling"), None)
    if transformer is None or pooling_path is None:
        raise InputError("expected a Transformer and a Pooling module", path=modules_path)
    if transformer:
        raise InputError(
            f"the Transformer module sits in {transformer}/ (an old sentence-transformers layout): give that "
            "folder, or a card whose path points at it",
            path=modules_path,
        )
    pooling = _pooling(folder / pooling_path / "config.json")
    settings = _json_object(folder / "config_sentence_transformers.json")
    normalize = any(kind == "Normalize" for kind, _ in kinds)
    notes: list[str] = []
    similarity = settings.get("similarity_fn_name") or "cosine"
    if similarity == "cosine" and not normalize:
        normalize = True
        notes.append(f"{shown} scores by cosine similarity: its vectors are normalised")
    elif similarity not in ("cosine", "dot"):
        raise InputError(
            f"similarity {similarity!r} is not an inner product; the dense index scores by dot product",
            path=folder / "config_sentence_transformers.json",
            key="similarity_fn_name",
        )
    max_length = _st_max_length(folder)
    parameters: dict[str, Any] = {"pooling": pooling, "normalize": normalize}
    parameters.update(_prompts(settings, folder / "config_sentence_transformers.json"))
    parameters.update({"max_query_length": max_length, "max_document_length": max_length})
    description = f"sentence-transformers checkpoint, {pooling} pooling" + (", normalised" if normalize else "")
    return "dense", parameters, {}, description, notes


def _pooling(path: Path) -> str:
    """The dense adapter's pooling for a sentence-transformers Pooling config (new `pooling_mode` or the
    legacy `pooling_mode_*` flags); modes it does not compute are refused."""
    config = _json_object(path)
    if not config:
        raise InputError("the Pooling module has no config.json", path=path)
    mode = config.get("pooling_mode")
    if mode is None:
        mode = [name for key, name in _LEGACY_POOLING.items() if config.get(key)]
    modes = [mode] if isinstance(mode, str) else list(mode)
    if len(modes) != 1 or modes[0] not in _POOLING:
        raise InputError(
            f"pooling {'+'.join(map(str, modes)) or 'none'} is not one the dense adapter computes (mean, cls, "
            "lasttoken)",
            path=path,
        )
    if config.get("include_prompt") is False:
        raise InputError(
            "pooling that leaves out the prompt tokens (include_prompt: false) is not supported", path=path
        )
    return _POOLING[modes[0]]


def _prompts(settings: dict[str, Any], path: Path) -> dict[str, str]:
    """Query and document prefixes from the checkpoint's prompts (sentence-transformers prepends a prompt to
    the text); a role without its own prompt takes the default prompt, if one is named."""
    prompts = settings.get("prompts") or {}
    if not isinstance(prompts, dict):
        raise InputError("expected a mapping of prompt names to prompts", path=path, key="prompts")
    default = prompts.get(settings.get("default_prompt_name") or "", "")
    query = prompts.get("query", default)
    document = next((prompts[name] for name in ("document", "passage", "corpus") if name in prompts), default)
    found = {"query_prefix": query, "document_prefix": document}
    return {key: str(value) for key, value in found.items() if value}


def _st_max_length(folder: Path) -> int:
    value = _json_object(folder / "sentence_bert_config.json").get("max_seq_length")
    return int(value) if isinstance(value, int) and value > 0 else _tokenizer_max_length(folder)


def _tokenizer_max_length(folder: Path) -> int:
    """The tokenizer's `model_max_length` when it states a real one (tokenizers without a limit store
    a huge sentinel), else 512."""
    value = _json_object(folder / "tokenizer_config.json").get("model_max_length")
    return int(value) if isinstance(value, int | float) and 0 < value <= 1_000_000 else _DEFAULT_MAX_LENGTH
