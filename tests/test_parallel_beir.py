"""Cross-lingual evaluation on parallel collections: judgements move onto the parallel documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.catalog.suites import load_suite
from harness.core.errors import InputError
from harness.data import LanguagePair
from tests.conftest import write_beir

ENGLISH = [
    {"_id": "e-cats", "text": "Cats purr and hunt mice."},
    {"_id": "e-bread", "text": "Bread is baked in an oven."},
    {"_id": "e-lava", "text": "A volcano erupts lava."},
]
GERMAN = [
    {"_id": "g-brot", "text": "Brot wird im Ofen gebacken."},
    {"_id": "g-katzen", "text": "Katzen schnurren und jagen Mäuse."},
    {"_id": "g-lava", "text": "Ein Vulkan speit Lava."},
]


def write_parallel(root: Path, german_qrels: list[tuple[str, str, int]] | None = None) -> Path:
    write_beir(
        root / "en",
        ENGLISH,
        [{"_id": "q1", "text": "what purrs"}, {"_id": "q2", "text": "how is bread made"}],
        [("q1", "e-cats", 1), ("q2", "e-bread", 1)],
        split="validation",
    )
    write_beir(
        root / "de",
        GERMAN,
        [
            {"_id": "q1", "text": "was schnurrt"},
            {"_id": "q2", "text": "wie macht man Brot"},
            {"_id": "q3", "text": "was speit ein Vulkan"},
        ],
        german_qrels or [("q1", "g-katzen", 1), ("q2", "g-brot", 1), ("q3", "g-lava", 1)],
        split="validation",
    )
    return root


def suite_file(tmp_path: Path, data: Path) -> Path:
    path = tmp_path / "parallel.yaml"
    path.write_text(
        "name: parallel\nsplit: validation\nmetrics: [ndcg@10]\nprimary_metric: ndcg@10\n"
        f"datasets:\n  - name: toy\n    source: {{kind: parallel-beir, path: {data}}}\n"
        "    languages: [en, de, de-en]\n",
        encoding="utf-8",
    )
    return path


def load(tmp_path: Path, label: str, **qrels: list[tuple[str, str, int]]):
    data = write_parallel(tmp_path / "data", qrels.get("german"))
    suite = load_suite(str(suite_file(tmp_path, data)))
    [unit] = [unit for unit in suite.units([label]) if unit.languages.label == label]
    return unit.load()


def test_cross_lingual_pair_reads_query_language_queries_and_document_language_corpus(tmp_path: Path) -> None:
    task = load(tmp_path, "de-en")
    assert task.languages == LanguagePair("de", "en")
    assert task.corpus.ids == ["e-cats", "e-bread", "e-lava"]
    assert task.corpus.language == "en"
    assert task.queries.language == "de"
    assert task.queries.texts[0] == "was schnurrt"


def test_judgements_move_to_the_parallel_english_documents(tmp_path: Path) -> None:
    task = load(tmp_path, "de-en")
    # q3 is judged only in German and its paragraph was never linked to an English one: dropped
    assert task.qrels == {"q1": {"e-cats": 1}, "q2": {"e-bread": 1}}
    assert task.queries.ids == ["q1", "q2"]
    assert task.metadata["judgements_without_parallel_document"] == 1
    assert task.metadata["aligned_documents"] == 2


def test_monolingual_label_reads_one_folder_unchanged(tmp_path: Path) -> None:
    task = load(tmp_path, "de")
    assert task.qrels == {"q1": {"g-katzen": 1}, "q2": {"g-brot": 1}, "q3": {"g-lava": 1}}
    assert task.corpus.language == task.queries.language == "de"


def test_a_paragraph_linked_to_two_english_paragraphs_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not parallel: document 'g-katzen'"):
        load(tmp_path, "de-en", german=[("q1", "g-katzen", 1), ("q2", "g-katzen", 1)])


def test_bundled_xquad_suite_without_its_folder_says_to_pass_it_with_local() -> None:
    [unit] = load_suite("xquad").units(["de-en"])
    with pytest.raises(InputError, match="run with `--local xquad=DIR`"):
        unit.load()


@pytest.mark.slow
def test_real_xquad_cross_lingual_qrels_equal_the_english_ones(shared_data: Path) -> None:
    suite = load_suite("xquad")
    local = {"xquad": shared_data / "xquad"}
    english = suite.units(["en"], local=local)[0].load()
    for label in ("de-en", "zh-en", "hi-en"):
        task = suite.units([label], local=local)[0].load()
        assert task.corpus.ids == english.corpus.ids
        assert task.metadata["judgements_without_parallel_document"] == 0
        assert task.metadata["aligned_documents"] == 240
        # question ids are shared: each moved judgement is exactly the English judgement of that question
        assert task.qrels == {query_id: english.qrels[query_id] for query_id in task.qrels}
        assert len(task.queries) == {"de-en": 1181, "zh-en": 1181, "hi-en": 1183}[label]


def test_results_carry_the_language_pair_and_the_alignment(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from harness.cli import app

    suite = suite_file(tmp_path, write_parallel(tmp_path / "data"))
    results = tmp_path / "results"
    outcome = CliRunner().invoke(
        app,
        ["run", "--suite", str(suite), "-m", "bm25", "--results-dir", str(results), "--no-report", "--no-energy"],
        catch_exceptions=False,
    )
    assert outcome.exit_code == 0, outcome.output
    records = {".".join(path.name.split(".")[:3]): json.loads(path.read_text()) for path in results.rglob("*.json")}
    assert sorted(records) == ["toy.de-en.validation", "toy.de.validation", "toy.en.validation"]
    pair = records["toy.de-en.validation"]
    assert (pair["language"], pair["query_language"], pair["document_language"]) == ("de-en", "de", "en")
    assert pair["dataset_identity"]["metadata"]["judgements_without_parallel_document"] == 1
    german = records["toy.de.validation"]
    assert (german["query_language"], german["document_language"]) == ("de", "de")
