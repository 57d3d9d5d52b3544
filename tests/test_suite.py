"""Suite files are validated up front, with the file and key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.catalog.suites import load_suite, load_suite_file, local_suite
from harness.core.errors import InputError


def write_suite(tmp_path: Path, **overrides: object) -> Path:
    data = {
        "name": "s",
        "metrics": ["nDCG@10", "R@100"],
        "primary_metric": "ndcg@10",
        "datasets": [{"name": "d", "source": {"kind": "beir", "path": "{language}"}, "languages": ["en", "de-en"]}],
    }
    data.update(overrides)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_metrics_are_canonicalised(tmp_path: Path) -> None:
    assert load_suite_file(write_suite(tmp_path)).spec.metrics == ["ndcg@10", "recall@100"]


def test_unknown_language_names_the_key(tmp_path: Path) -> None:
    datasets = [{"name": "d", "source": {"kind": "beir"}, "languages": ["en", "qq"]}]
    with pytest.raises(InputError) as caught:
        load_suite_file(write_suite(tmp_path, datasets=datasets))
    assert caught.value.key == "datasets.0.languages.1" and "unknown language code 'qq'" in str(caught.value)


def test_unknown_metric_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="metrics"):
        load_suite_file(write_suite(tmp_path, metrics=["ndcg@10", "bleu"]))


def test_unknown_source_kind_is_refused_naming_the_suite_file(tmp_path: Path) -> None:
    datasets = [{"name": "d", "source": {"kind": "ftp"}, "languages": ["en"]}]
    with pytest.raises(InputError, match=r"s\.yaml \[datasets\.0\.source\.kind\]: unknown source kind 'ftp'"):
        load_suite_file(write_suite(tmp_path, datasets=datasets))


def test_language_selection_keeps_pairs_by_query_language(tmp_path: Path) -> None:
    suite = load_suite_file(write_suite(tmp_path))
    assert [u.languages.label for u in suite.units(languages=["de"])] == ["de-en"]
    assert [u.languages.label for u in suite.units(languages=["en"])] == ["en"]
    with pytest.raises(InputError, match="none of the languages"):
        suite.units(languages=["fr"])


def test_unknown_dataset_selection_lists_the_datasets(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="has no dataset 'x'; it has d"):
        load_suite_file(write_suite(tmp_path)).units(datasets=["x"])


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: s\nmetrics: [ndcg@10\n")
    with pytest.raises(InputError) as caught:
        load_suite_file(path)
    assert caught.value.path == path and caught.value.line is not None


def test_bundled_demo_suite_has_seven_languages_and_three_pairs() -> None:
    suite = load_suite("demo")
    labels = [unit.languages.label for unit in suite.units()]
    assert labels == ["en", "de", "es", "fr", "zh", "hi", "ja", "de-en", "zh-en", "hi-en"]
    task = suite.units(languages=["zh-en"])[0].load()
    assert task.languages.document == "en" and len(task.corpus) == 45 and len(task.queries) == 6


def test_local_suite_picks_the_split_from_the_qrels_folder(shared_data: Path) -> None:
    suite = local_suite(shared_data / "xquad" / "zh", "zh")
    [unit] = suite.units()
    assert unit.split == "validation" and unit.dataset.name == "zh"
