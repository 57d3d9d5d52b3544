"""The command line starts without the pipeline: `harness --help` and option parsing import no model,
array or report library; each command imports what it needs when it runs."""

from __future__ import annotations

import json
import subprocess
import sys

from harness.cli.options import DEFAULT_COUNTRY
from harness.record.energy import DEFAULT_COUNTRY as ENERGY_DEFAULT_COUNTRY

HEAVY = ("numpy", "scipy", "torch", "transformers", "pydantic", "jinja2", "ranx", "codecarbon", "harness.run.runner")


def test_building_the_cli_imports_no_heavy_library() -> None:
    script = (
        "import json, sys; from typer.main import get_command; from harness.cli import app; get_command(app); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, check=True).stdout))
    assert [name for name in HEAVY if name in loaded] == []


def test_the_cli_default_grid_country_is_the_energy_meters() -> None:
    assert DEFAULT_COUNTRY == ENERGY_DEFAULT_COUNTRY
