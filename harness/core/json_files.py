"""Reading JSON files (checkpoint configs, results), with the line at fault when one is malformed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.core.errors import InputError


def load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(f"malformed JSON: {error.msg}", path=path, line=error.lineno) from None
