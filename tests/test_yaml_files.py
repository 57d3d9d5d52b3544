"""The project's YAML reader: libyaml's safe loader where available, read exactly as PyYAML's pure-Python one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.core.errors import InputError
from harness.core.resources import bundled_dir
from harness.core.yaml_files import load_yaml


def test_every_bundled_yaml_file_reads_as_the_pure_python_safe_loader_reads_it() -> None:
    paths = sorted(p for name in ("suites", "model_cards") for p in bundled_dir(name).rglob("*.y*ml"))
    assert len(paths) > 20
    for path in paths:
        assert load_yaml(path) == yaml.safe_load(path.read_bytes()), path


def test_a_python_object_tag_is_refused_not_constructed(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("value: !!python/object/apply:os.system ['echo unsafe']\n")
    with pytest.raises(InputError, match=r"bad.yaml:1"):
        load_yaml(path)


def test_bad_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("a: 1\nb: [unclosed\n")
    with pytest.raises(InputError, match=r"broken.yaml:\d+: invalid YAML"):
        load_yaml(path)
