"""Adapters from installed packages. Each wheel here is written by hand (a zip with its `.dist-info`), so no
build backend or network is needed; pip installs them into a folder of their own, and the CLI runs in a
subprocess with that folder on PYTHONPATH, so this test's environment never changes."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, TINY_CORPUS, TINY_QRELS, TINY_QUERIES, result_path

TINY_ENCODERS = '''
"""A real, small dense encoder: each word is counted in the column its CRC-32 picks and the vector is
L2-normalised, so two texts score the cosine of their word counts (when no two words share a column)."""

import re
import zlib

import numpy as np
from pydantic import BaseModel, ConfigDict

from harness.encode import DenseRepresentation, Encoder


class TinyParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dimension: int = 16384


class TinyEncoder(Encoder):
    family = "dense"
    Parameters = TinyParameters

    def __init__(self, card, settings):
        super().__init__(card, settings)
        self.dimension = TinyParameters.model_validate(card.parameters).dimension

    def _encode(self, texts, progress):
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                vectors[row, zlib.crc32(word.encode()) % self.dimension] += 1.0
        if progress:
            progress(len(texts))
        return DenseRepresentation(vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12))

    def encode_queries(self, texts, language, progress=None):
        return self._encode(texts, progress)

    def encode_documents(self, texts, language, progress=None):
        return self._encode(texts, progress)

    def document_budget(self, language):
        return None

    def describe(self):
        return {"dimension": self.dimension}
'''

BROKEN_SHAPES = '''
import numpy as np

from harness.encode import DenseRepresentation, Encoder


class Square:
    """Not an encoder at all."""


class HalfEncoder(Encoder):
    """Forgets the document side."""

    family = "dense"

    def encode_queries(self, texts, language, progress=None):
        raise AssertionError("never called")

    def document_budget(self, language):
        return None


class ShortRows(Encoder):
    """Loses the last text of every batch."""

    family = "dense"

    def encode_queries(self, texts, language, progress=None):
        return DenseRepresentation(np.ones((len(texts) - 1, 4), dtype=np.float32))

    encode_documents = encode_queries

    def document_budget(self, language):
        return None


class NotANumber(ShortRows):
    def encode_queries(self, texts, language, progress=None):
        return DenseRepresentation(np.full((len(texts), 4), np.nan, dtype=np.float32))

    encode_documents = encode_queries


class BareArray(ShortRows):
    def encode_queries(self, texts, language, progress=None):
        return np.ones((len(texts), 4), dtype=np.float32)

    encode_documents = encode_queries
'''

BROKEN_ON_IMPORT = 'raise RuntimeError("the weights server is down\\nsecond line")\n'

# tiny-plugin also declares `dense` (a built-in name) and `twin` (which twin-plugin declares too).
TINY_POINTS = {
    "tiny": "tiny_plugin.encoders:TinyEncoder",
    "dense": "tiny_plugin.encoders:TinyEncoder",
    "twin": "tiny_plugin.encoders:TinyEncoder",
}
BROKEN_POINTS = {
    "not-an-encoder": "broken_plugin.shapes:Square",
    "half": "broken_plugin.shapes:HalfEncoder",
    "boom": "broken_plugin.boom:Anything",
    "short-rows": "broken_plugin.shapes:ShortRows",
    "not-a-number": "broken_plugin.shapes:NotANumber",
    "bare-array": "broken_plugin.shapes:BareArray",
}
TINY_ORIGIN = "package tiny-plugin 0.1 (entry point harness.adapters: tiny = tiny_plugin.encoders:TinyEncoder)"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def write_wheel(folder: Path, distribution: str, files: dict[str, str], points: dict[str, str]) -> Path:
    """A pure-Python wheel (PEP 427) declaring `points` in the group `harness.adapters`."""
    stem = distribution.replace("-", "_")
    info = f"{stem}-0.1.dist-info"
    contents = {
        **files,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": "[harness.adapters]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()),
    }
    record = [_record_line(name, text.encode()) for name, text in contents.items()] + [f"{info}/RECORD,,"]
    path = folder / f"{stem}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in contents.items():
            wheel.writestr(name, text)
        wheel.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny-plugin, twin-plugin and broken-plugin, pip-installed into one folder outside this environment."""
    wheels = tmp_path_factory.mktemp("wheels")
    target = tmp_path_factory.mktemp("site")
    built = [
        write_wheel(
            wheels,
            "tiny-plugin",
            {"tiny_plugin/__init__.py": "", "tiny_plugin/encoders.py": TINY_ENCODERS},
            TINY_POINTS,
        ),
        write_wheel(wheels, "twin-plugin", {"twin_plugin/__init__.py": ""}, {"twin": "twin_plugin:Twin"}),
        write_wheel(
            wheels,
            "broken-plugin",
            {
                "broken_plugin/__init__.py": "",
                "broken_plugin/shapes.py": BROKEN_SHAPES,
                "broken_plugin/boom.py": BROKEN_ON_IMPORT,
            },
            BROKEN_POINTS,
        ),
    ]
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(target)]
    subprocess.run([*install, *map(str, built)], check=True, capture_output=True, timeout=300)
    return target


def harness(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m harness ARGS` with the plugins' folder on the path (and this checkout's harness after it)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], env=env, capture_output=True, text=True, timeout=600, cwd=REPO
    )


def write_card(folder: Path, adapter: str, **parameters: object) -> Path:
    name = re.sub(r"[^A-Za-z0-9._+-]", "-", adapter) + "-words"
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "adapter": adapter, "parameters": parameters}))
    return path


def run_card(site: Path, data: Path, card: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    return harness(
        site,
        "run",
        "--data",
        str(data),
        "--language",
        "en",
        "-m",
        str(card),
        "--results-dir",
        str(folder / "results"),
        "--report-dir",
        str(folder / "reports"),
        "--cache-dir",
        str(folder / "cache"),
        "--no-energy",
        "--quiet",  # stderr is not a terminal here: without it, progress lines come before an error
    )


def results_written(folder: Path) -> list[Path]:
    return sorted((folder / "results").rglob("*.json")) if (folder / "results").exists() else []


def error_line(outcome: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command prints, with no traceback before it (`harness run` ends it with what
    it kept)."""
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome.stderr
    return lines[0]


def _words(text: str) -> Counter[str]:
    return Counter(re.findall(r"[a-z0-9]+", text.lower()))


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(count * b[word] for word, count in a.items())
    return dot / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))


def word_cosines() -> dict[str, dict[str, float]]:
    """Query -> document -> score, from exact word counts (no hashing) of the texts as the harness joins them
    (`title text`)."""
    documents = {d["_id"]: _words(f"{d['title']} {d['text']}") for d in TINY_CORPUS}
    return {
        q["_id"]: {doc: _cosine(_words(q["text"]), words) for doc, words in documents.items()} for q in TINY_QUERIES
    }


def expected_ndcg_at_10(scores: dict[str, dict[str, float]]) -> dict[str, float]:
    """nDCG@10 per judged query with trec_eval's linear gains."""
    grades: dict[str, dict[str, int]] = {}
    for query, document, grade in TINY_QRELS:
        grades.setdefault(query, {})[document] = grade
    ndcg = {}
    for query, judged in grades.items():
        ranking = sorted(scores[query], key=lambda doc: -scores[query][doc])[:10]
        dcg = sum(judged.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking))
        ideal = sum(g / math.log2(rank + 2) for rank, g in enumerate(sorted(judged.values(), reverse=True)))
        ndcg[query] = dcg / ideal
    return ndcg


def run_scores(result: Path, record: dict) -> dict[str, dict[str, float]]:
    scores: dict[str, dict[str, float]] = {}
    with gzip.open(result.with_name(record["run_file"]), "rt") as handle:
        for line in handle:
            query, _, doc, _, score, _ = line.split()
            scores.setdefault(query, {})[doc] = float(score)
    return scores


def test_a_card_naming_a_declared_adapter_runs_it_and_scores_what_the_word_counts_predict(
    site: Path, tiny_beir: Path, tmp_path: Path
) -> None:
    outcome = run_card(site, tiny_beir, write_card(tmp_path, "tiny", dimension=16384), tmp_path)
    assert outcome.returncode == 0, outcome.stderr
    path = result_path(tmp_path / "results" / "local" / "tiny-words", "tiny.en.test")
    record = json.loads(path.read_text())
    cosines = word_cosines()
    scores = run_scores(path, record)
    assert set(scores) >= {"q1", "q2", "q3"}
    for query, documents in scores.items():
        assert documents == pytest.approx({doc: cosines[query][doc] for doc in documents}, abs=1e-5)
    expected = expected_ndcg_at_10(cosines)
    assert expected["q1"] == pytest.approx((2 + 1 / math.log2(4)) / (2 + 1 / math.log2(3)))  # d6 ranks third
    assert record["per_query"]["ndcg@10"] == pytest.approx(expected, abs=1e-4)
    assert record["metrics"]["ndcg@10"] == pytest.approx(sum(expected.values()) / len(expected), abs=1e-4)
    assert record["model"]["adapter"] == "tiny"
    assert record["model"]["details"]["dimension"] == 16384


def test_a_plugins_parameters_are_checked_against_the_card_before_any_work(
    site: Path, tiny_beir: Path, tmp_path: Path
) -> None:
    card = write_card(tmp_path, "tiny", dimensions=8)
    outcome = run_card(site, tiny_beir, card, tmp_path)
    assert outcome.returncode == 2
    assert f"{card} [parameters.dimensions]: Extra inputs are not permitted" in error_line(outcome)
    assert results_written(tmp_path) == []


@pytest.mark.parametrize(
    ("adapter", "problem"),
    [
        ("not-an-encoder", "broken_plugin.shapes:Square) is not a subclass of harness.encode.Encoder"),
        ("half", "broken_plugin.shapes:HalfEncoder) does not define encode_documents (it is abstract)"),
        (
            "boom",
            "broken_plugin.boom:Anything) fails on import: RuntimeError: the weights server is down second line",
        ),
    ],
)
def test_a_broken_plugin_is_refused_in_one_line_naming_the_package_and_entry_point(
    site: Path, tiny_beir: Path, tmp_path: Path, adapter: str, problem: str
) -> None:
    card = write_card(tmp_path, adapter)
    outcome = run_card(site, tiny_beir, card, tmp_path)
    assert outcome.returncode == 2
    origin = f"package broken-plugin 0.1 (entry point harness.adapters: {adapter} = "
    assert error_line(outcome) == f"error: {card} [adapter]: adapter from {origin}{problem}"  # nothing computed
    assert results_written(tmp_path) == []


@pytest.mark.parametrize("adapter", ["nowhere", "tiny_plugin.encoders", "tiny_plugin.encoders:TinyEncoder"])
def test_a_card_cannot_name_an_undeclared_adapter_even_an_importable_module(
    site: Path, tiny_beir: Path, tmp_path: Path, adapter: str
) -> None:
    card = write_card(tmp_path, adapter)
    outcome = run_card(site, tiny_beir, card, tmp_path)
    assert outcome.returncode == 2
    line = error_line(outcome)
    assert line.startswith(f"error: {card} [adapter]: unknown adapter {adapter!r}; known: ")
    assert "bm25, " in line and "tiny, " in line and "twin" in line
    assert results_written(tmp_path) == []


def test_a_name_two_packages_declare_is_refused_naming_both(site: Path, tiny_beir: Path, tmp_path: Path) -> None:
    outcome = run_card(site, tiny_beir, write_card(tmp_path, "twin"), tmp_path)
    assert outcome.returncode == 2
    line = error_line(outcome)
    assert "adapter 'twin' is declared by several packages" in line
    assert "package tiny-plugin 0.1 (entry point harness.adapters: twin = tiny_plugin.encoders:TinyEncoder)" in line
    assert "package twin-plugin 0.1 (entry point harness.adapters: twin = twin_plugin:Twin)" in line
    assert results_written(tmp_path) == []


@pytest.mark.parametrize(
    ("adapter", "problem"),
    [
        (
            "short-rows",
            "ShortRows from package broken-plugin) broke the encode contract on 6 document texts: it returned 5 rows",
        ),
        (
            "not-a-number",
            "NotANumber from package broken-plugin) broke the encode contract on 6 document texts: it returned NaN",
        ),
        (
            "bare-array",
            "BareArray from package broken-plugin) broke the encode contract on 6 document texts: it returned ndarray",
        ),
    ],
)
def test_a_plugin_returning_the_wrong_representation_is_refused_before_anything_is_stored_or_scored(
    site: Path, tiny_beir: Path, tmp_path: Path, adapter: str, problem: str
) -> None:
    card = write_card(tmp_path, adapter)
    outcome = run_card(site, tiny_beir, card, tmp_path)
    assert outcome.returncode == 2
    name = adapter + "-words"
    assert f"error: {card}: model {name!r} (adapter {adapter!r}, broken_plugin.shapes:{problem}" in error_line(outcome)
    assert results_written(tmp_path) == []


def _table(text: str) -> dict[tuple[str, str], list[str]]:
    """Plain-column rows (no terminal) keyed by their first column and origin package, split on 2+ spaces."""
    rows = [re.split(r"\s{2,}", line) for line in text.splitlines()[1:]]
    return {(row[0], row[2].split(" (")[0]): row for row in rows}


def test_list_adapters_shows_each_origin_family_and_clash(site: Path) -> None:
    outcome = harness(site, "list", "adapters")
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.split()[:4] == ["adapter", "family", "origin", "note"]
    rows = _table(outcome.stdout)
    assert rows["bm25", "built-in"] == ["bm25", "sparse", "built-in"]
    assert rows["dense", "built-in"] == ["dense", "dense", "built-in"]
    assert rows["translate", "built-in"] == ["translate", "per card", "built-in"]
    assert rows["tiny", "package tiny-plugin 0.1"] == ["tiny", "dense", TINY_ORIGIN]
    shadowed = rows["dense", "package tiny-plugin 0.1"]
    assert shadowed[1:] == [
        "–",
        TINY_ORIGIN.replace("tiny =", "dense ="),
        "ignored: the built-in adapter of this name wins",
    ]
    assert rows["twin", "package twin-plugin 0.1"][3] == "ambiguous: package tiny-plugin 0.1 declares this name too"
    assert rows["not-an-encoder", "package broken-plugin 0.1"][3].endswith(
        "is not a subclass of harness.encode.Encoder"
    )
    assert "fails on import: RuntimeError" in rows["boom", "package broken-plugin 0.1"][3]


def test_list_models_says_where_each_cards_adapter_comes_from(site: Path, tmp_path: Path) -> None:
    for adapter in ("tiny", "dense", "nowhere"):
        write_card(tmp_path, adapter)
    outcome = harness(site, "list", "models", "--cards-dir", str(tmp_path))
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.split()[:5] == ["card", "adapter", "adapter", "from", "description"]
    rows = {line.split()[0]: re.split(r"\s{2,}", line) for line in outcome.stdout.splitlines()[1:]}
    assert rows["tiny-words"][1:] == ["tiny", "package tiny-plugin 0.1"]
    assert rows["dense-words"][1:] == ["dense", "built-in"]
    assert rows["bm25"][1:3] == ["bm25", "built-in"]
    assert rows["nowhere-words"][2] == "unknown or ambiguous (see `harness list adapters`)"
