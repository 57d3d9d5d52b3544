"""`harness run` end to end on local data, and its refusal of bad input without partial results."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from tests.conftest import TINY_CORPUS, TINY_QRELS, TINY_QUERIES, result_path, write_beir

runner = CliRunner()


def run(*args: str) -> object:
    return runner.invoke(app, ["run", *args, "--no-energy", "--latency-sample", "5"], catch_exceptions=False)


def result_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.json")) if folder.exists() else []


def test_bm25_on_a_beir_folder_writes_result_run_and_report(tiny_beir: Path, tmp_path: Path) -> None:
    results, reports = tmp_path / "results", tmp_path / "reports"
    outcome = run(
        "--data",
        str(tiny_beir),
        "--language",
        "en",
        "-m",
        "bm25",
        "--results-dir",
        str(results),
        "--report-dir",
        str(reports),
    )
    assert outcome.exit_code == 0, outcome.output
    [path] = result_files(results)
    assert path == result_path(results / "local" / "bm25", "tiny.en.test")
    assert path.name.startswith("tiny.en.test.sparse-exact.")
    record = json.loads(path.read_text())
    assert record["metrics"]["ndcg@10"] > 0.5
    assert set(record["per_query"]["ndcg@10"]) == {"q1", "q2", "q3"}
    assert record["dataset_identity"]["num_queries"] == 3
    assert record["model"]["details"]["analysis"]["en"]["stemmer"] == "porter"
    assert record["measured"]["efficiency"]["index_size_bytes"] > 0
    assert record["measured"]["efficiency"]["latency_sample_size"] == 3
    assert record["measured"]["environment"]["libraries"]["bm25s"]
    with gzip.open(path.with_name(record["run_file"]), "rt") as handle:
        first = handle.readline().split()
    assert first[1] == "Q0" and first[3] == "1" and first[5] == "bm25"
    assert (reports / "index.html").is_file() and (reports / "leaderboard.md").is_file()


def test_run_file_reproduces_the_recorded_metrics(tiny_beir: Path, tmp_path: Path) -> None:
    from harness.evaluation import evaluate

    run("--data", str(tiny_beir), "--language", "en", "-m", "bm25", "--results-dir", str(tmp_path), "--no-report")
    [path] = result_files(tmp_path)
    record = json.loads(path.read_text())
    scores: dict[str, dict[str, float]] = {}
    with gzip.open(path.with_name(record["run_file"]), "rt") as handle:
        for line in handle:
            query, _, doc, _, score, _ = line.split()
            scores.setdefault(query, {})[doc] = float(score)
    qrels = {q: {} for q, _, _ in TINY_QRELS}
    for query, doc, grade in TINY_QRELS:
        qrels[query][doc] = grade
    assert evaluate(qrels, scores, ["ndcg@10"]).means["ndcg@10"] == pytest.approx(record["metrics"]["ndcg@10"])


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        ("malformed", "corpus.jsonl:3: malformed JSON"),
        ("unknown-doc", "test.tsv:7: judgement names unknown document 'ghost'"),
        ("duplicate-doc", "corpus.jsonl:7: duplicate document id 'd1' (first at line 1)"),
        ("empty-query", "queries.jsonl:2: query 'q2' is empty"),
    ],
)
def test_bad_data_exits_non_zero_naming_the_place_and_writes_nothing(
    tmp_path: Path, corrupt: str, message: str
) -> None:
    corpus, queries, qrels = list(TINY_CORPUS), [dict(q) for q in TINY_QUERIES], list(TINY_QRELS)
    if corrupt == "unknown-doc":
        qrels.append(("q2", "ghost", 1))
    if corrupt == "duplicate-doc":
        corpus.append({"_id": "d1", "text": "again"})
    if corrupt == "empty-query":
        queries[1]["text"] = ""
    root = write_beir(tmp_path / "bad", corpus, queries, qrels)
    if corrupt == "malformed":
        lines = (root / "corpus.jsonl").read_text().splitlines()
        lines[2] = lines[2][:-3]
        (root / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    results = tmp_path / "results"
    outcome = run("--data", str(root), "--language", "en", "-m", "bm25", "--results-dir", str(results))
    assert outcome.exit_code == 2
    assert message in " ".join(outcome.output.split())
    assert result_files(results) == []


def test_unknown_language_code_is_refused(tiny_beir: Path, tmp_path: Path) -> None:
    outcome = run("--data", str(tiny_beir), "--language", "xx", "-m", "bm25", "--results-dir", str(tmp_path / "r"))
    assert outcome.exit_code == 2
    assert "[--language]: unknown language code 'xx'" in " ".join(outcome.output.split())


def test_missing_model_folder_is_refused_before_any_work(tiny_beir: Path, tmp_path: Path) -> None:
    card = tmp_path / "card.yaml"
    card.write_text(yaml.safe_dump({"name": "gone", "adapter": "dense", "parameters": {"path": "nowhere"}}))
    results = tmp_path / "results"
    outcome = run("--data", str(tiny_beir), "--language", "en", "-m", str(card), "--results-dir", str(results))
    assert outcome.exit_code == 2
    assert "card.yaml [parameters.path]: model folder not found" in " ".join(outcome.output.split())
    assert result_files(results) == []


def test_a_bad_unit_keeps_the_results_already_written(tmp_path: Path) -> None:
    good = write_beir(tmp_path / "data" / "en", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    bad = write_beir(tmp_path / "data" / "de", TINY_CORPUS, TINY_QUERIES, [*TINY_QRELS, ("q1", "ghost", 1)])
    suite = tmp_path / "two.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "name": "two",
                "metrics": ["ndcg@10"],
                "primary_metric": "ndcg@10",
                "datasets": [
                    {"name": "d", "source": {"kind": "beir", "path": "data/{language}"}, "languages": ["en", "de"]}
                ],
            }
        )
    )
    assert good.is_dir() and bad.is_dir()
    results = tmp_path / "results"
    outcome = run("--suite", str(suite), "-m", "bm25", "--results-dir", str(results))
    assert outcome.exit_code == 2
    assert [p.name.split(".")[:3] for p in result_files(results)] == [["d", "en", "test"]]


def test_unknown_model_card_lists_the_known_ones(tiny_beir: Path, tmp_path: Path) -> None:
    outcome = run("--data", str(tiny_beir), "--language", "en", "-m", "no-such-model")
    assert outcome.exit_code == 2
    assert "unknown model 'no-such-model': not a card name, a card file, a checkpoint folder or hf:ORG/NAME" in (
        outcome.output
    )
    assert "; known cards:" in outcome.output
    assert "bm25" in outcome.output


def test_list_commands_show_bundled_suites_and_cards() -> None:
    suites = runner.invoke(app, ["list", "suites"])
    models = runner.invoke(app, ["list", "models"])
    assert suites.exit_code == 0 and "demo" in suites.output
    assert models.exit_code == 0 and "all-minilm-l6-v2" in models.output and "bm25" in models.output


def test_report_without_results_says_what_to_do(tmp_path: Path) -> None:
    outcome = runner.invoke(app, ["report", "--results-dir", str(tmp_path / "none")])
    assert outcome.exit_code == 2
    assert "run `harness run` first" in outcome.output


def only_result(folder: Path) -> dict:
    [path] = result_files(folder)
    return json.loads(path.read_text())


def test_metrics_option_replaces_the_suite_metrics_and_names_the_primary(tiny_beir: Path, tmp_path: Path) -> None:
    outcome = run(
        *("--data", str(tiny_beir), "--language", "en", "-m", "bm25", "--metrics", "map, P@3,ndcg_cut_10,map"),
        *("--results-dir", str(tmp_path), "--no-report"),
    )
    assert outcome.exit_code == 0, outcome.output
    record = only_result(tmp_path)
    assert list(record["metrics"]) == ["map", "precision@3", "ndcg@10"]
    assert record["primary_metric"] == "ndcg@10"  # the suite's primary, listed, stays primary


def test_metrics_without_the_suite_primary_make_the_first_one_primary(tiny_beir: Path, tmp_path: Path) -> None:
    outcome = run(
        *("--data", str(tiny_beir), "--language", "en", "-m", "bm25", "--metrics", "P@3,map"),
        *("--results-dir", str(tmp_path), "--no-report"),
    )
    assert outcome.exit_code == 0, outcome.output
    assert only_result(tmp_path)["primary_metric"] == "precision@3"


def test_an_unknown_metric_names_the_option_before_anything_runs(tiny_beir: Path, tmp_path: Path) -> None:
    outcome = run("--data", str(tiny_beir), "--language", "en", "-m", "bm25", "--metrics", "ndcg@10,mAP@x",
                  "--results-dir", str(tmp_path / "r"))  # fmt: skip
    assert outcome.exit_code == 2
    assert "--metrics" in outcome.output and "unsupported metric 'mAP@x'" in outcome.output
    assert not (tmp_path / "r").exists()
