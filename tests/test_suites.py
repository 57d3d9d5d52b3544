"""The eight bundled suites, dataset selection, local overrides, published references and averages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.catalog.suites import load_suite, parse_suite, suite_paths
from harness.core.errors import InputError
from harness.data.sources.huggingface import HuggingFaceSource
from harness.data.sources.ir_datasets import IrDatasetsSource
from harness.data.sources.trec import TrecSource
from harness.record import ResultRecord
from harness.results.averages import suite_averages
from harness.results.references import find_references, load_reference_file, load_references
from tests.conftest import REPO

SUITES = ["mmarco", "mrtydi", "miracl", "mldr", "mkqa", "hindi-beir", "beir", "limit"]


def languages_of(name: str) -> set[str]:
    return {pair.label for dataset in load_suite(name).spec.datasets for pair in dataset.pairs()}


def test_the_eight_suites_are_bundled_and_reference_files_are_not_suites() -> None:
    assert set(SUITES) <= set(suite_paths())
    assert not any(name.endswith(".references") for name in suite_paths())


@pytest.mark.parametrize(
    ("suite", "count"), [("mmarco", 14), ("mrtydi", 11), ("miracl", 18), ("mldr", 13), ("hindi-beir", 1)]
)
def test_language_coverage(suite: str, count: int) -> None:
    assert len(languages_of(suite)) == count


def test_mkqa_asks_in_25_languages_against_english_passages() -> None:
    suite = load_suite("mkqa")
    answer_units = [u for u in suite.units() if u.dataset.name != "mkqa-mteb"]
    assert len(answer_units) == 25
    assert {u.languages.document for u in answer_units} == {"en"}
    assert suite.spec.metrics == ["answer-recall@20", "answer-recall@100"]
    assert suite.dataset("mkqa-mteb").metrics == ["ndcg@10", "recall@100"]


def test_official_metrics() -> None:
    assert load_suite("mmarco").spec.metrics == ["mrr@10", "recall@10", "recall@100", "recall@1000"]
    assert load_suite("mrtydi").spec.metrics == ["mrr@100", "recall@100"]
    assert load_suite("miracl").spec.metrics[:2] == ["ndcg@10", "recall@100"]
    assert load_suite("limit").spec.metrics == ["recall@2", "recall@10", "recall@100"]


def test_on_request_datasets_run_only_when_named() -> None:
    suite = load_suite("mrtydi")
    assert {u.dataset.name for u in suite.units()} == {"mrtydi"}
    [unit] = suite.units(languages=["sw"], datasets=["mrtydi-v1.0"])
    assert isinstance(unit.source, IrDatasetsSource) and unit.source.dataset_id("mrtydi-v1.0", unit.languages, "test")


def test_mmarco_spells_languages_as_ir_datasets_does() -> None:
    units = {u.languages.label: u for u in load_suite("mmarco").units()}
    ids = {label: u.source.dataset_id("mmarco", u.languages, u.split) for label, u in units.items()}
    assert ids["nl"] == "mmarco/v2/dt/dev/small" and ids["en"] == "msmarco-passage/dev/small"
    assert ids["de"] == "mmarco/v2/de/dev/small"


def test_local_override_reads_the_datasets_local_layout(tmp_path: Path) -> None:
    [unit] = load_suite("miracl").units(languages=["sw"], local={"miracl": tmp_path})
    assert isinstance(unit.source, TrecSource) and unit.source.base_dir == tmp_path.resolve()
    [limit] = load_suite("limit").units(datasets=["limit-small"], local={"limit-small": tmp_path})
    assert isinstance(limit.source, HuggingFaceSource) and limit.source.params.path == "."
    assert limit.source.base_dir == tmp_path.resolve()  # the folder is a base, never a template


def test_local_override_errors_name_the_option(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\[--local\]: suite 'miracl' has no dataset 'mirakl'"):
        load_suite("miracl").units(local={"mirakl": tmp_path})
    with pytest.raises(InputError, match="local dataset folder not found"):
        load_suite("miracl").units(local={"miracl": tmp_path / "absent"})


def test_miracl_real_topics_and_qrels_through_the_local_layout(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "miracl"
    (folder / "miracl-corpus-v1.0-sw").mkdir(parents=True)
    for name in ("topics.miracl-v1.0-sw-dev.tsv", "qrels.miracl-v1.0-sw-dev.tsv"):
        (folder / name).symlink_to(shared_data / "topics-qrels" / name)
    judged = {line.split("\t")[2] for line in (folder / "qrels.miracl-v1.0-sw-dev.tsv").read_text().splitlines()}
    (folder / "miracl-corpus-v1.0-sw" / "docs-0.jsonl").write_text(
        "".join(f'{{"docid": "{doc}", "title": "", "text": "maandishi"}}\n' for doc in sorted(judged))
    )
    [unit] = load_suite("miracl").units(languages=["sw"], local={"miracl": folder})
    identity = unit.load().identity
    assert (identity.num_queries, identity.num_judgements, identity.num_documents) == (482, 5092, len(judged))
    assert identity.version == "v1.0"


def test_mrtydi_real_anserini_files_through_the_local_layout(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mrtydi"
    (folder / "mrtydi-v1.1-swahili").mkdir(parents=True)
    for name in ("topics.mrtydi-v1.1-sw.test.txt.gz", "qrels.mrtydi-v1.1-sw.test.txt"):
        (folder / name).symlink_to(shared_data / "topics-qrels" / name)
    judged = {line.split()[2] for line in (folder / "qrels.mrtydi-v1.1-sw.test.txt").read_text().splitlines()}
    (folder / "mrtydi-v1.1-swahili" / "corpus.jsonl").write_text(
        "".join(f'{{"docid": "{doc}", "title": "", "text": "maandishi"}}\n' for doc in sorted(judged))
    )
    [unit] = load_suite("mrtydi").units(languages=["sw"], local={"mrtydi": folder})
    assert unit.load().identity.num_queries == 670


def test_every_reference_file_names_cells_of_its_suite() -> None:
    for path in sorted((REPO / "suites").glob("*.references.yaml")):
        suite = load_suite(path.name.removesuffix(".references.yaml"))
        assert load_reference_file(path, suite), path


@pytest.mark.parametrize(
    ("suite", "model", "dataset", "language", "metric", "value"),
    [
        ("miracl", "bm25", "miracl", "sw", "nDCG@10", 0.3826),
        ("miracl", "bm25", "miracl", "hi", "ndcg@10", 0.4578),
        ("miracl", "bm25", "miracl", "yo", "ndcg@10", 0.4059),
        ("miracl", "bm25", "miracl", "zh", "ndcg@10", 0.1801),
        ("miracl", "bm25", "miracl", "avg", "ndcg@10", 0.3881),
        ("mrtydi", "bm25", "mrtydi", "te", "MRR@100", 0.5283),
        ("mrtydi", "bm25", "mrtydi", "en", "mrr@100", 0.1404),
        ("mrtydi", "bm25", "mrtydi", "avg", "mrr@100", 0.3398),
        ("beir", "all-minilm-l6-v2", "scifact", "en", "ndcg@10", 0.64508),
        ("beir", "all-minilm-l6-v2", "scifact", "en", "R@100", 0.925),
        ("beir", "multilingual-e5-small", "scifact", "en", "ndcg@10", 0.67585),
    ],
)
def test_published_scores_from_the_shared_readme(
    suite: str, model: str, dataset: str, language: str, metric: str, value: float
) -> None:
    found = find_references(load_references(suite), model=model, dataset=dataset, language=language, metric=metric)
    assert value in [ref.value for ref in found]


def test_two_protocols_for_bm25_on_scifact_are_told_apart() -> None:
    refs = find_references(load_references("beir"), model="bm25", dataset="scifact", language="en", metric="ndcg@10")
    assert sorted(ref.value for ref in refs) == [0.6789, 0.68736]
    assert any("bm25s" in ref.protocol for ref in refs) and any("Lucene" in ref.protocol for ref in refs)


def test_a_reference_to_a_language_the_suite_lacks_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "miracl.references.yaml"
    entry = {"model": "bm25", "dataset": "miracl", "language": "xx", "metric": "ndcg@10", "value": 0.1}
    path.write_text(yaml.safe_dump({"suite": "miracl", "references": [{**entry, "source": "s", "protocol": "p"}]}))
    with pytest.raises(InputError, match=r"references.0.language\]: dataset 'miracl' has no language 'xx'"):
        load_reference_file(path, load_suite("miracl"))


def record(suite: str, model: str, dataset: str, language: str, value: float, sampled: bool = False) -> ResultRecord:
    return ResultRecord.model_construct(
        suite=suite,
        dataset=dataset,
        language=language,
        model=type("M", (), {"name": model})(),
        metrics={"ndcg@10": value},
        dataset_identity={"sampled": sampled},
    )


TOY = {
    "name": "toy",
    "metrics": ["ndcg@10"],
    "primary_metric": "ndcg@10",
    "datasets": [
        {"name": "small", "source": {"kind": "beir"}, "languages": ["en"], "documents": 10},
        {"name": "big", "source": {"kind": "beir"}, "languages": ["en"], "documents": 2_000_000},
        {"name": "forum-a", "source": {"kind": "beir"}, "languages": ["en"], "documents": 5, "group": "forum"},
        {"name": "forum-b", "source": {"kind": "beir"}, "languages": ["en"], "documents": 5, "group": "forum"},
    ],
    "averages": [{"name": "all"}, {"name": "large", "min_documents": 1_000_000}],
}


def test_averages_over_all_and_large_collections_count_a_group_once() -> None:
    suite = parse_suite(TOY, None, Path("."))
    records = [
        record("toy", "m", "small", "en", 0.2, sampled=True),
        record("toy", "m", "big", "en", 0.4, sampled=True),
        record("toy", "m", "forum-a", "en", 0.1, sampled=True),
        record("toy", "m", "forum-b", "en", 0.3, sampled=True),
    ]
    averages = {a.name: a for a in suite_averages(suite, records)}
    assert averages["all"].model == "m [sampled]"
    assert averages["all"].members == ("small", "big", "forum")
    assert averages["all"].value == pytest.approx((0.2 + 0.4 + 0.2) / 3) and averages["all"].sampled
    assert averages["large"].members == ("big",) and averages["large"].value == pytest.approx(0.4)


def test_a_sampled_member_is_another_result_than_the_full_ones_beside_it() -> None:
    suite = parse_suite(TOY, None, Path("."))
    records = [
        record("toy", "m", "small", "en", 0.2),
        record("toy", "m", "big", "en", 0.4),
        record("toy", "m", "forum-a", "en", 0.1),
        record("toy", "m", "forum-b", "en", 0.3, sampled=True),
    ]
    full = next(a for a in suite_averages(suite, records) if (a.name, a.model) == ("all", "m"))
    assert full.value is None and full.missing == ("forum",) and not full.sampled


def test_an_average_with_a_missing_member_has_no_value_and_says_which() -> None:
    suite = parse_suite(TOY, None, Path("."))
    averages = {a.name: a for a in suite_averages(suite, [record("toy", "m", "small", "en", 0.2)])}
    assert averages["all"].value is None and averages["all"].missing == ("big", "forum")


def test_miracl_average_is_over_its_languages() -> None:
    suite = load_suite("miracl")
    languages = [pair.label for pair in suite.dataset("miracl").pairs()]
    records = [record("miracl", "bm25", "miracl", language, 0.5) for language in languages]
    [average] = suite_averages(suite, records)
    assert (average.scope, average.value, len(average.members)) == ("miracl", pytest.approx(0.5), 18)
