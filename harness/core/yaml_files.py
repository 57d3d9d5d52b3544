"""Reading the project's YAML files (cards, suites, references, expectations) safely, with the line at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.core.errors import InputError

# libyaml's safe loader when PyYAML was built with it: the same documents, ten times faster (reports
# read suite and reference files often).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_bytes(path: Path) -> tuple[Any, bytes]:
    """The parsed document and the exact bytes read (for hashing); bad YAML names the file and line."""
    raw = path.read_bytes()
    try:
        return yaml.load(raw, Loader=_SAFE_LOADER), raw
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"invalid YAML: {getattr(error, 'problem', None) or error}", path=path, line=line) from None


def load_yaml(path: Path) -> Any:
    return load_yaml_bytes(path)[0]
