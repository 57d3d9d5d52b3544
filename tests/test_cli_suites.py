"""The suite command line: --local, --max-queries, --corpus-sample, --maxp, `harness fetch`, `harness list suites`."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.catalog.suites import suite_paths
from harness.cli import app
from harness.core.net import host_reachable
from tests.conftest import TINY_CORPUS, TINY_QRELS, TINY_QUERIES, write_beir
from tests.tiny_colbert import write_tiny_colbert
from tests.tiny_models import write_tiny_bert

runner = CliRunner()


def run(*args: str) -> object:
    return runner.invoke(app, ["run", *args, "--no-energy", "--latency-sample", "2"], catch_exceptions=False)


def only_result(folder: Path) -> dict:
    [path] = sorted(folder.rglob("*.json"))
    return json.loads(path.read_text())


def test_limit_small_from_a_local_copy_reports_recall_at_2_10_100(shared_data: Path, tmp_path: Path) -> None:
    outcome = run(
        "--suite", "limit", "--datasets", "limit-small", "--local", f"limit-small={shared_data / 'limit-small'}",
        "-m", "bm25", "--results-dir", str(tmp_path / "results"), "--no-report",
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    record = only_result(tmp_path / "results")
    assert set(record["metrics"]) == {"recall@2", "recall@10", "recall@100"}
    assert record["metrics"]["recall@100"] == 1.0 and record["metrics"]["recall@2"] > 0.9
    assert (
        record["dataset_identity"]["num_documents"] == 46
        and record["dataset_identity"]["source"] == "huggingface-local"
    )
    assert record["protocol"]["dataset_protocol"].startswith("LIMIT-small")


def test_an_uncached_hub_dataset_offline_exits_3_with_both_remedies(tmp_path: Path) -> None:
    outcome = run("--suite", "limit", "--datasets", "limit-small", "-m", "bm25", "--results-dir", str(tmp_path))
    assert outcome.exit_code == 3
    message = " ".join(outcome.output.split())
    assert (
        "orionweller/LIMIT-small@ff4a8f2476ae77476c1912f1f3cb5bb5f2d766d4 is not in the Hugging Face cache" in message
    )
    assert "harness fetch --suite limit --datasets limit-small --languages en" in message
    assert "--local limit-small=DIR" in message
    assert not list(tmp_path.rglob("*.json"))


def test_fetch_offline_exits_3_naming_the_dataset(tmp_path: Path) -> None:
    outcome = runner.invoke(app, ["fetch", "--suite", "limit", "--datasets", "limit-small"])
    assert outcome.exit_code == 3
    assert "limit/limit-small (en, test)" in " ".join(outcome.output.split())


def toy_suite(tmp_path: Path, **dataset: object) -> Path:
    write_beir(tmp_path / "toy", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    spec = {
        "name": "toy",
        "metrics": ["ndcg@10", "recall@100"],
        "primary_metric": "ndcg@10",
        "datasets": [{"name": "toy", "source": {"kind": "beir", "path": "toy"}, "languages": ["en"], **dataset}],
    }
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_quick_runs_are_recorded_and_reported_as_sampled(tmp_path: Path) -> None:
    suite = toy_suite(tmp_path)
    outcome = run(
        "--suite", str(suite), "-m", "bm25", "--max-queries", "2", "--corpus-sample", "4", "--seed", "3",
        "--results-dir", str(tmp_path / "results"), "--report-dir", str(tmp_path / "reports"),
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    identity = only_result(tmp_path / "results")["dataset_identity"]
    assert identity["sampled"] is True and (identity["num_queries"], identity["num_documents"]) == (2, 4)
    assert identity["sampling"]["seed"] == 3
    assert "†" in (tmp_path / "reports" / "leaderboard.md").read_text()


def test_maxp_splits_documents_at_the_models_length(tmp_path: Path) -> None:
    write_tiny_bert(tmp_path / "model")
    card = {"name": "tiny", "adapter": "dense", "parameters": {"path": "model", "max_document_length": 6}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(card))
    suite = toy_suite(tmp_path, maxp=True)
    outcome = run("--suite", str(suite), "-m", str(tmp_path / "tiny.yaml"), "--results-dir", str(tmp_path / "r"))
    assert outcome.exit_code == 0, outcome.output
    maxp = only_result(tmp_path / "r")["protocol"]["maxp"]
    assert maxp["passage_tokens"] == 4  # 6 minus [CLS] and [SEP]
    assert maxp["num_documents"] == 6 and maxp["num_passages"] > 6 and maxp["documents_split"] > 0


def test_maxp_splits_documents_for_colbert_xm(tmp_path: Path) -> None:
    write_tiny_colbert(tmp_path / "model")  # doc_maxlen 12
    (tmp_path / "xm.yaml").write_text(
        yaml.safe_dump({"name": "xm", "adapter": "colbert", "parameters": {"path": "model"}})
    )
    suite = toy_suite(tmp_path, maxp=True)
    outcome = run(
        "--suite", str(suite), "-m", str(tmp_path / "xm.yaml"), "--results-dir", str(tmp_path / "r"), "--no-report"
    )
    assert outcome.exit_code == 0, outcome.output
    maxp = only_result(tmp_path / "r")["protocol"]["maxp"]
    assert maxp["passage_tokens"] == 9  # 12 minus <s>, </s> and the document marker
    assert maxp["num_passages"] > maxp["num_documents"] == 6


def test_maxp_is_not_applied_to_a_model_that_reads_documents_whole(tmp_path: Path) -> None:
    suite = toy_suite(tmp_path)
    outcome = run("--suite", str(suite), "-m", "bm25", "--maxp", "--results-dir", str(tmp_path / "r"), "--no-report")
    assert outcome.exit_code == 0, outcome.output
    assert only_result(tmp_path / "r")["protocol"]["maxp"]["applied"] is False


def test_local_without_a_dataset_name_needs_a_single_dataset(tmp_path: Path) -> None:
    outcome = run("--suite", "limit", "--local", str(tmp_path), "-m", "bm25")
    assert outcome.exit_code == 2
    assert "say which dataset" in outcome.output


def test_list_suites_name_shows_its_datasets_sizes_and_what_is_local(tmp_path: Path) -> None:
    toy_suite(tmp_path, size="6 passages")
    outcome = runner.invoke(app, ["list", "suites", "toy", "--suites-dir", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    toy_row = next(line for line in outcome.output.splitlines() if line.startswith("toy "))
    assert "6 passages" in toy_row and toy_row.split()[-1] == "all"
    mrtydi = runner.invoke(app, ["list", "suites", "mrtydi", "--no-cache"])
    assert "mrtydi-v1.0 (on request)" in mrtydi.output


def test_list_suites_prints_one_row_per_suite(tmp_path: Path) -> None:
    outcome = runner.invoke(app, ["list", "suites"])
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.output.splitlines()
    assert lines[0].split() == ["suite", "datasets", "languages", "split", "metrics", "size"]
    assert [line.split()[0] for line in lines[1:]] == sorted(suite_paths())
    beir = next(line for line in lines if line.startswith("beir "))
    assert beir.split()[1] == "26" and "3,633 to 8,841,823 documents per dataset" in beir


def test_list_suites_gives_every_bundled_suite_a_size() -> None:
    lines = runner.invoke(app, ["list", "suites"]).output.splitlines()
    sizes = {line.split()[0]: re.split(r"\s{2,}", line)[5] for line in lines[1:]}
    assert all(sizes.values()), sizes
    assert sizes["mkqa"] == "2,681,468 documents per dataset (mkqa-mteb: unknown)"
    assert sizes["xquad"].startswith("240 paragraphs per language")
    assert sizes["demo"].startswith("45 passages per language")
    assert sizes["mrtydi"].startswith("136,689 (sw) to 32.9M (en) passages")  # the dataset it runs by default


def test_a_size_the_suite_does_not_state_is_unknown(tmp_path: Path) -> None:
    toy_suite(tmp_path)
    listed = runner.invoke(app, ["list", "suites", "--suites-dir", str(tmp_path)])
    assert next(line for line in listed.output.splitlines() if line.startswith("toy ")).endswith(" unknown")
    datasets = runner.invoke(app, ["list", "suites", "toy", "--suites-dir", str(tmp_path), "--no-cache"])
    assert " unknown " in next(line for line in datasets.output.splitlines() if line.startswith("toy "))


def test_a_dataset_with_only_a_document_count_lists_the_count(tmp_path: Path) -> None:
    toy_suite(tmp_path, documents=1234)
    outcome = runner.invoke(app, ["list", "suites", "toy", "--suites-dir", str(tmp_path), "--no-cache"])
    assert " 1,234 documents " in next(line for line in outcome.output.splitlines() if line.startswith("toy "))


def test_an_unknown_suite_name_is_blamed_on_the_name_argument() -> None:
    outcome = runner.invoke(app, ["list", "suites", "nope"])
    assert outcome.exit_code == 2
    assert "[NAME]: unknown suite 'nope'" in outcome.output and "--suite" not in outcome.output


def test_list_suites_without_a_terminal_never_breaks_a_name_across_lines() -> None:
    outcome = runner.invoke(app, ["list", "suites", "hindi-beir", "--no-cache"], env={"COLUMNS": "40"})
    lines = outcome.output.splitlines()
    assert len(lines) == 1 + 11 and any(line.startswith("cc-news ") for line in lines)
    assert any(line.startswith("hindi-beir ") for line in runner.invoke(app, ["list", "suites"]).output.splitlines())


def test_the_network_probe_answers_for_open_and_closed_ports() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert host_reachable("127.0.0.1", listener.getsockname()[1], timeout_s=1.0)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert not host_reachable("127.0.0.1", port, timeout_s=1.0)


@pytest.mark.parametrize("entry", ["limit-small=/nowhere", "/nowhere"])
def test_a_missing_local_folder_is_named(entry: str) -> None:
    outcome = run("--suite", "limit", "--datasets", "limit-small", "--local", entry, "-m", "bm25")
    assert outcome.exit_code == 2 and "local dataset folder not found" in outcome.output


def test_mkqa_from_local_files_records_answer_recall_and_both_languages(tmp_path: Path) -> None:
    from tests.test_source_mkqa import write_local

    folder = write_local(tmp_path / "mkqa")
    outcome = run(
        "--suite", "mkqa", "--datasets", "mkqa", "--languages", "ar", "--local", f"mkqa={folder}",
        "-m", "bm25", "--results-dir", str(tmp_path / "r"), "--no-report",
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    record = only_result(tmp_path / "r")
    assert (record["language"], record["query_language"], record["document_language"]) == ("ar-en", "ar", "en")
    assert set(record["metrics"]) == {"answer-recall@20", "answer-recall@100"}
    assert set(record["per_query"]["answer-recall@100"]) == {"563260143484355911", "4"}
    assert record["protocol"]["answer_recall"]["name"] == "answer-recall"
    assert record["dataset_identity"]["num_judgements"] == 4


def test_fetch_reports_what_is_ready_when_the_files_are_cached(tmp_path: Path) -> None:
    revision = "e" * 40
    snapshot = tmp_path / "cache" / "datasets--orionweller--LIMIT-small" / "snapshots" / revision
    write_beir(snapshot, TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    source = {
        "kind": "huggingface",
        "repo": "orionweller/LIMIT-small",
        "revision": revision,
        "cache_dir": str(tmp_path / "cache"),
        "corpus": "corpus.jsonl",
        "queries": "queries.jsonl",
        "qrels": "qrels/{split}.tsv",
    }
    spec = {"name": "mini", "metrics": ["recall@2"], "primary_metric": "recall@2",
            "datasets": [{"name": "limit-small", "source": source, "languages": ["en"]}]}  # fmt: skip
    (tmp_path / "mini.yaml").write_text(yaml.safe_dump(spec))
    outcome = runner.invoke(app, ["fetch", "--suite", str(tmp_path / "mini.yaml")], env={"COLUMNS": "300"})
    assert outcome.exit_code == 0, outcome.output
    assert "ready mini/limit-small (en, test): 3 files" in outcome.output
    assert f"hf://datasets/orionweller/LIMIT-small@{revision}" in outcome.output
