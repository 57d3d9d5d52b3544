"""Files of Hugging Face dataset repositories: pinned, cached, or read from a local copy.

A file is named by its path in the repository (a glob for sharded corpora), or by a config
declared in the repository's README (`configs: [{config_name, data_files}]`, the layout MTEB's
datasets use). Resolution order: a local folder given by the user, the Hugging Face cache, the
hub. The hub is only contacted after a few-second reachability probe, so an air-gapped machine
gets an actionable error at once instead of a retry loop.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from harness.core.errors import InputError, SourceUnavailableError
from harness.core.net import hf_offline, hub_reachable
from harness.data.sources.base import expand_template

README = "README.md"


class HubFile(BaseModel):
    """One file (or glob, or README config) of a dataset repository; `repo`/`revision` default to the source's.

    `file` may list alternatives, first present wins (repositories that changed a file's format).
    """

    model_config = ConfigDict(extra="forbid")

    file: str | list[str] | None = None
    config: str | None = None
    split: str | None = None
    repo: str | None = None
    revision: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"file": value} if isinstance(value, str | list) else value

    @model_validator(mode="after")
    def _one_location(self) -> HubFile:
        if (self.file is None) == (self.config is None):
            raise ValueError("name exactly one of `file` (a path in the repository) or `config` (a README config)")
        return self


@dataclass(frozen=True)
class ResolvedFiles:
    paths: list[Path]
    repo: str | None
    revision: str | None  # the commit read, when it came from the hub or its cache
    origin: str  # "local", "hub-cache" or "hub"
    root: Path

    @property
    def location(self) -> str:
        if self.origin == "local":
            return str(self.root)
        return f"hf://datasets/{self.repo}@{self.revision}"


def _glob(root: Path, patterns: Sequence[str]) -> list[Path]:
    """The files of the first pattern that matches any (patterns are alternatives)."""
    for pattern in patterns:
        found = sorted(root / p for p in glob.glob(pattern, root_dir=root) if (root / p).is_file())
        if found:
            return found
    return []


def readme_data_files(readme: Path, config: str, split: str | None) -> list[str]:
    """The file patterns a README's `configs:` section declares for one config (and split)."""
    text = readme.read_text(encoding="utf-8")
    parts = text.split("---", 2)
    if not text.startswith("---") or len(parts) < 3:
        raise InputError("the dataset card has no YAML header declaring `configs`", path=readme)
    try:
        header = yaml.safe_load(parts[1]) or {}
    except yaml.YAMLError as error:
        raise InputError(f"invalid YAML header: {error}", path=readme) from None
    configs = {entry.get("config_name"): entry for entry in header.get("configs") or [] if isinstance(entry, dict)}
    if config not in configs:
        raise InputError(f"no config {config!r}; the card declares {', '.join(sorted(map(str, configs)))}", path=readme)
    data_files = configs[config].get("data_files")
    if isinstance(data_files, str | list) and data_files and not isinstance(data_files[0], dict):
        return [data_files] if isinstance(data_files, str) else list(data_files)
    splits = {entry.get("split"): entry.get("path") for entry in data_files or [] if isinstance(entry, dict)}
    if split is None and len(splits) == 1:
        split = next(iter(splits))
    if split not in splits:
        raise InputError(f"config {config!r} has no split {split!r}; it has {', '.join(map(str, splits))}", path=readme)
    paths = splits[split]
    return [paths] if isinstance(paths, str) else list(paths)


class HubClient:
    """Resolves `HubFile`s for one source: its default repo/revision, an optional local copy, a cache dir."""

    def __init__(
        self,
        repo: str | None,
        revision: str | None,
        local_path: Path | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.repo = repo
        self.revision = revision
        self.local_path = local_path
        self.cache_dir = cache_dir

    def _repo_of(self, spec: HubFile) -> tuple[str, str | None]:
        repo = spec.repo or self.repo
        if not repo:
            raise InputError("name the Hugging Face dataset with `repo`", key="source.repo")
        return repo, spec.revision or self.revision

    def resolve(self, spec: HubFile, values: Mapping[str, str], download: bool = True) -> ResolvedFiles:
        """The local paths behind one spec, downloading them when allowed and needed."""
        spec = _expand(spec, values)
        if self.local_path is not None:
            return self._resolve_local(spec)
        repo, revision = self._repo_of(spec)
        patterns = self._patterns(spec, repo, revision, download)
        cached = self._from_cache(repo, revision, patterns)
        if cached is not None:
            return cached
        if not download:
            raise SourceUnavailableError(f"{repo} is not in the local Hugging Face cache")
        self._check_reachable(repo, revision)
        from huggingface_hub import snapshot_download

        try:
            folder = Path(
                snapshot_download(
                    repo, repo_type="dataset", revision=revision, allow_patterns=patterns, cache_dir=self.cache_dir
                )
            )
        except Exception as error:  # HTTP and hub errors: say which repository and revision failed
            raise SourceUnavailableError(f"downloading {repo}@{revision or 'main'} failed: {error}") from None
        paths = _glob(folder, patterns)
        if not paths:
            raise InputError(f"{repo}@{revision or 'main'} has no file matching {', '.join(patterns)}")
        return ResolvedFiles(paths, repo, folder.name, "hub", folder)

    def is_cached(self, spec: HubFile, values: Mapping[str, str]) -> bool:
        try:
            self.resolve(spec, values, download=False)
        except (InputError, SourceUnavailableError):
            return False
        return True

    def _resolve_local(self, spec: HubFile) -> ResolvedFiles:
        root = self.local_path
        assert root is not None
        if not root.is_dir():
            raise InputError("local dataset folder not found", path=root)
        patterns = _file_patterns(spec) or readme_data_files(root / README, spec.config or "", spec.split)
        paths = _glob(root, patterns)
        if not paths:
            raise InputError(
                f"no file matching {', '.join(patterns)} (the repository's layout is expected here)", path=root
            )
        return ResolvedFiles(paths, spec.repo or self.repo, spec.revision or self.revision, "local", root)

    def _patterns(self, spec: HubFile, repo: str, revision: str | None, download: bool) -> list[str]:
        if spec.file:
            return _file_patterns(spec)
        readme = self.resolve(HubFile(file=README, repo=repo, revision=revision), {}, download)
        return readme_data_files(readme.paths[0], spec.config or "", spec.split)

    def _from_cache(self, repo: str, revision: str | None, patterns: list[str]) -> ResolvedFiles | None:
        from huggingface_hub import snapshot_download

        try:
            folder = Path(
                snapshot_download(
                    repo,
                    repo_type="dataset",
                    revision=revision,
                    allow_patterns=patterns,
                    cache_dir=self.cache_dir,
                    local_files_only=True,
                )
            )
        except Exception:  # huggingface_hub raises several kinds of "not cached"
            return None
        paths = _glob(folder, patterns)
        return ResolvedFiles(paths, repo, folder.name, "hub-cache", folder) if paths else None

    def _check_reachable(self, repo: str, revision: str | None) -> None:
        where = f"{repo}{'@' + revision if revision else ''}"
        cache = f"the Hugging Face cache{' ' + str(self.cache_dir) if self.cache_dir else ' (HF_HOME)'}"
        if hf_offline():
            raise SourceUnavailableError(f"{where} is not in {cache} and HF_HUB_OFFLINE is set")
        if not hub_reachable():
            raise SourceUnavailableError(f"the Hugging Face hub is unreachable and {where} is not in {cache}")


def _file_patterns(spec: HubFile) -> list[str]:
    if spec.file is None:
        return []
    return [spec.file] if isinstance(spec.file, str) else list(spec.file)


def hub_client(
    base_dir: Path, path: str | None, cache_dir: str | None, repo: str | None = None, revision: str | None = None
) -> HubClient:
    """A client for a source's parameters; a relative local `path` is relative to the suite file."""
    local = Path(path).expanduser() if path else None
    if local is not None and not local.is_absolute():
        local = base_dir / local
    return HubClient(repo, revision, local, Path(cache_dir).expanduser() if cache_dir else None)


def _expand(spec: HubFile, values: Mapping[str, str]) -> HubFile:
    def expand(text: str | None) -> str | None:
        return None if text is None else expand_template(text, values)

    file = [expand_template(f, values) for f in spec.file] if isinstance(spec.file, list) else expand(spec.file)
    return spec.model_copy(update={"file": file, "config": expand(spec.config), "split": expand(spec.split)})
