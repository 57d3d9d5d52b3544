"""`harness sweep` records one point per pruning level; `harness explain` reads vectors as words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.record import load_results
from harness.reporting.leaderboard import build_boards
from tests.tiny_sparse_models import write_tiny_bert_mlm, write_tiny_milco

runner = CliRunner()


@pytest.fixture(scope="module")
def splade_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("splade")
    folder = write_tiny_bert_mlm(root / "splade-v3")
    card = root / "tiny-splade.yaml"
    card.write_text(yaml.safe_dump({"name": "tiny-splade", "adapter": "splade", "parameters": {"path": str(folder)}}))
    return card


@pytest.fixture(scope="module")
def milco_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("milco")
    folder = write_tiny_milco(root)
    card = root / "tiny-milco.yaml"
    card.write_text(yaml.safe_dump({"name": "tiny-milco", "adapter": "milco", "parameters": {"path": str(folder)}}))
    return card


def sweep(*args: str) -> object:
    return runner.invoke(app, ["sweep", *args, "--no-energy", "--latency-sample", "3"], catch_exceptions=False)


def test_sweep_writes_one_record_per_point_with_the_sweep_block(
    tiny_beir: Path, tmp_path: Path, splade_card: Path
) -> None:
    results = tmp_path / "results"
    outcome = sweep(
        *("--data", str(tiny_beir), "--language", "en", "-m", str(splade_card), "--results-dir", str(results)),
        *("--prune", "mass:0,30,95", "--prune", "topk:0,4", "--query-prune", "topk:8"),
    )
    assert outcome.exit_code == 0, outcome.output
    [folder] = (results / "local" / "tiny-splade" / "sweep").iterdir()  # one folder per sweep group
    names = sorted(p.name for p in folder.glob("*.json"))
    assert names == [
        "tiny.en.test.mass_30.q-topk_8.json",
        "tiny.en.test.mass_95.q-topk_8.json",
        "tiny.en.test.none.q-topk_8.json",
        "tiny.en.test.topk_4.q-topk_8.json",
    ]
    records = {name: json.loads((folder / name).read_text()) for name in names}
    groups = {record["sweep"]["group"] for record in records.values()}
    assert groups == {folder.name}
    by_label = {record["sweep"]["pruning"]["documents"]: record for record in records.values()}
    assert set(by_label) == {"none", "mass:30", "mass:95", "topk:4"}
    assert all(record["sweep"]["pruning"]["queries"] == "topk:8" for record in records.values())
    terms = {label: record["sweep"]["avg_active_terms_per_document"] for label, record in by_label.items()}
    assert terms["topk:4"] == 4.0
    assert terms["mass:30"] < terms["mass:95"] < terms["none"]
    assert by_label["none"]["sweep"]["avg_active_terms_per_query"] == 8.0
    for record in records.values():
        assert record["sweep"]["search_threads"] == 1
        assert 0.0 <= record["metrics"]["ndcg@10"] <= 1.0
        assert record["measured"]["efficiency"]["index_size_bytes"] > 0
        assert record["measured"]["efficiency"]["search_latency_ms"]["p50"] > 0
        assert (folder / record["run_file"]).is_file()
    # Smaller index for fewer terms.
    sizes = {label: record["measured"]["efficiency"]["index_size_bytes"] for label, record in by_label.items()}
    assert sizes["topk:4"] < sizes["none"]
    assert "Pruning sweep" in outcome.output


def test_a_second_sweep_keeps_every_point_of_the_first(tiny_beir: Path, tmp_path: Path, splade_card: Path) -> None:
    results = tmp_path / "results"
    common = ("--data", str(tiny_beir), "--language", "en", "-m", str(splade_card), "--results-dir", str(results))
    assert sweep(*common, "--prune", "mass:0,50").exit_code == 0
    assert sweep(*common, "--prune", "topk:0,2").exit_code == 0
    [board] = build_boards(load_results(results))
    labels = sorted(sorted(point.sweep.pruning.documents for point in group.points) for group in board.sweeps)
    assert labels == [["mass:50", "none"], ["none", "topk:2"]]


def test_sweep_points_do_not_replace_the_plain_run_on_the_leaderboard(
    tiny_beir: Path, tmp_path: Path, splade_card: Path
) -> None:
    results = tmp_path / "results"
    common = ("--data", str(tiny_beir), "--language", "en", "-m", str(splade_card), "--results-dir", str(results))
    plain = runner.invoke(app, ["run", *common, "--no-energy", "--no-report"], catch_exceptions=False)
    assert plain.exit_code == 0, plain.output
    assert sweep(*common, "--prune", "topk:1").exit_code == 0
    records = load_results(results)
    assert len(records) == 2
    plain, point = sorted(records, key=lambda r: "sweep" in (r.model_extra or {}))
    assert point.metrics["ndcg@10"] != plain.metrics["ndcg@10"]  # one term per document scores differently
    [board] = build_boards(records)
    [row] = board.rows
    assert list(row.scores.values()) == [plain.metrics["ndcg@10"]]


def test_sweep_with_seismic_pins_single_thread_search(tiny_beir: Path, tmp_path: Path, splade_card: Path) -> None:
    results = tmp_path / "results"
    outcome = sweep(
        *("--data", str(tiny_beir), "--language", "en", "-m", str(splade_card), "--results-dir", str(results)),
        *("--prune", "mass:90", "--index", "seismic"),
    )
    assert outcome.exit_code == 0, outcome.output
    [path] = (results / "local" / "tiny-splade" / "sweep").glob("*/*.json")
    record = json.loads(path.read_text())
    assert record["index"]["kind"] == "seismic" and record["index"]["search_threads"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--prune", "mass:150"), "[--prune]: invalid pruning 'mass:150'"),
        (("--prune", "mass:50", "--query-prune", "topk:1,2"), "[--query-prune]"),
        (("--prune", "mass:50", "-m", "bm25"), "bm25 is a sparse model"),
        # Refused from the card, before the (unreachable, offline) translator would load.
        (("--prune", "mass:50", "-m", "nllb-translate-all-minilm-l6-v2"), "is a dense model; the pruning sweep needs"),
    ],
)
def test_sweep_refuses_bad_input_before_writing(
    tiny_beir: Path, tmp_path: Path, splade_card: Path, args: tuple[str, ...], message: str
) -> None:
    results = tmp_path / "results"
    model = () if "-m" in args else ("-m", str(splade_card))
    outcome = sweep("--data", str(tiny_beir), "--language", "en", *model, "--results-dir", str(results), *args)
    if message == "bm25 is a sparse model":  # BM25 is sparse too: its sweep works
        assert outcome.exit_code == 0, outcome.output
        return
    assert outcome.exit_code == 2
    assert message in " ".join(outcome.output.split())
    assert not results.exists()


def test_explain_text_prints_the_top_terms_of_both_milco_views(milco_card: Path) -> None:
    outcome = runner.invoke(app, ["explain", "-m", str(milco_card), "--text", "巴尔的摩 美国 cats", "--top", "5"])
    assert outcome.exit_code == 0, outcome.output
    assert "pivot (English)" in outcome.output and "source (echo)" in outcome.output
    assert "m_▁巴尔的摩" in outcome.output


def test_explain_match_lists_contributions_that_sum_to_the_score(milco_card: Path) -> None:
    from harness.catalog.cards import load_card
    from harness.encode.explain import explain_match
    from harness.models.adapters import load_encoder

    encoder = load_encoder(load_card(str(milco_card)))
    query = encoder.encode_queries(["cats purr"], "en")
    document = encoder.encode_documents(["small cats purr and hunt mice"], "en")
    explanation = explain_match(query, 0, document, 0)
    expected = float((query.matrix @ document.matrix.T).toarray()[0, 0])
    assert explanation.score == pytest.approx(expected, rel=1e-5)
    assert sum(c.value for c in explanation.contributions) == pytest.approx(expected, rel=1e-5)
    assert sum(explanation.per_view.values()) == pytest.approx(expected, rel=1e-5)
    assert explanation.per_view["source (echo)"] > 0  # ▁cats and ▁purr match in the source view
    values = [c.value for c in explanation.contributions]
    assert values == sorted(values, reverse=True)
    outcome = runner.invoke(
        app, ["explain", "-m", str(milco_card), "--query", "cats purr", "--document", "small cats purr and hunt mice"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert f"score {expected:.4f}" in outcome.output
    assert "m_▁purr" in outcome.output


def test_explain_by_ids_reads_the_texts_from_the_dataset(tiny_beir: Path, splade_card: Path) -> None:
    outcome = runner.invoke(
        app, ["explain", "-m", str(splade_card), "--data", str(tiny_beir), "--query-id", "q2", "--doc-id", "d5"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert "query q2: how is bread baked" in outcome.output
    assert "document d5: Bread Bread is baked" in outcome.output
    assert "score " in outcome.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--text", "a", "--query", "b"), "give --text, or --query with --document"),
        (("--query", "b"), "give both --query and --document"),
        (("--query-id", "q1", "--doc-id", "nope"), "no document 'nope'"),
        (("--text", "cats", "--as", "passage"), "--as takes `document` or `query`"),
    ],
)
def test_explain_refuses_incomplete_requests(
    tiny_beir: Path, splade_card: Path, args: tuple[str, ...], message: str
) -> None:
    extra = ("--data", str(tiny_beir)) if "--query-id" in args else ()
    outcome = runner.invoke(app, ["explain", "-m", str(splade_card), *extra, *args])
    assert outcome.exit_code == 2
    assert message in " ".join(outcome.output.split())


def test_explain_refuses_bm25(splade_card: Path) -> None:
    outcome = runner.invoke(app, ["explain", "-m", "bm25", "--text", "cats"])
    assert outcome.exit_code == 2
    assert "BM25 weights depend on a whole corpus" in outcome.output


def test_sweep_evaluates_the_metrics_asked_for(tiny_beir: Path, tmp_path: Path, splade_card: Path) -> None:
    results = tmp_path / "results"
    outcome = sweep(
        *("--data", str(tiny_beir), "--language", "en", "-m", str(splade_card), "--results-dir", str(results)),
        *("--prune", "topk:0,4", "--metrics", "map,recall@5"),
    )
    assert outcome.exit_code == 0, outcome.output
    records = [json.loads(path.read_text()) for path in (results / "local").rglob("*.json")]
    assert len(records) == 2
    assert all(list(r["metrics"]) == ["map", "recall@5"] and r["primary_metric"] == "map" for r in records)
