"""Environment variables in suite paths, so a bundled suite can point at data only the user has.

`${NAME}` must be set; `${NAME:-fallback}` uses the fallback (possibly empty) when it is not.
A suite such as `xquad` then reads `path: "${HARNESS_XQUAD_DIR}"` and the user runs
`HARNESS_XQUAD_DIR=/data/xquad harness run --suite xquad`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from harness.errors import InputError

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_environment(template: str, environment: Mapping[str, str] | None = None) -> str:
    """`template` with every `${NAME}` / `${NAME:-fallback}` replaced; an unset `${NAME}` is an error."""
    values = os.environ if environment is None else environment

    def replace(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        value = values.get(name)
        if value:
            return value
        if fallback is not None:
            return fallback
        raise InputError(
            f"the path {template!r} needs the environment variable {name}, which is not set: "
            f"set it to the folder holding the data (e.g. `{name}=/path/to/data harness run ...`)"
        )

    return _VARIABLE.sub(replace, template)
