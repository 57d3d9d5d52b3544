"""Issue 21, points 1-3: a sample is part of a result's label everywhere and never meets a published score;
fuse, compare and export read every result `run` writes (`--data` results, bare model names); every file
written is valid for the tools that read it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness import results
from harness.cli import app
from harness.core.files import safe_name
from harness.core.languages import language_with_script
from harness.record import result_stem
from harness.results import MtebRegistry
from harness.results.reference_book import ReferenceBook
from tests.conftest import TINY_CORPUS, TINY_QRELS, TINY_QUERIES, write_beir
from tests.results_factory import make_record, save
from tests.tiny_models import write_tiny_bert

runner = CliRunner()
QUICK = ["--no-energy", "--no-report", "--latency-sample", "2"]


def invoke(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A BEIR folder `tiny`, a tiny dense model's card, and a results folder."""
    data = write_beir(tmp_path / "tiny", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    write_tiny_bert(tmp_path / "model")
    card = tmp_path / "tiny-dense.yaml"
    card.write_text(yaml.safe_dump({"name": "tiny-dense", "adapter": "dense", "parameters": {"path": "model"}}))
    return data, card, tmp_path / "results"


def run_data(data: Path, results_dir: Path, *options: str) -> object:
    return invoke("run", "--data", str(data), "--language", "en", "--results-dir", str(results_dir), *QUICK, *options)


def labels(results_dir: Path) -> list[str]:
    return sorted(stored.record.display_name for stored in results.load(results_dir))


# 1. Sampling is part of a result's identity ---------------------------------------------------------------


def test_two_samples_get_labels_saying_what_was_drawn_and_neither_hides_the_other(workspace) -> None:
    data, _, results_dir = workspace
    assert run_data(data, results_dir, "-m", "bm25", "--max-queries", "2").exit_code == 0
    outcome = run_data(data, results_dir, "-m", "bm25", "--max-queries", "2", "--corpus-sample", "4", "--seed", "3")
    assert outcome.exit_code == 0, outcome.output
    assert labels(results_dir) == ["bm25 [2 queries, 4 docs, seed 3]", "bm25 [2 queries]"]
    frame = results.load_frame(results_dir)
    primary = frame[frame.primary].sort_values("label")
    assert list(primary.label) == ["bm25 [2 queries, 4 docs, seed 3]", "bm25 [2 queries]"]
    assert list(primary["sample"]) == ["2 queries, 4 docs, seed 3", "2 queries"] and primary.sampled.all()
    assert len(results.latest([stored.record for stored in results.load(results_dir)])) == 2


def test_the_terminal_summary_labels_a_sampled_row(workspace) -> None:
    data, _, results_dir = workspace
    outcome = run_data(data, results_dir, "-m", "bm25", "--max-queries", "2")
    assert outcome.exit_code == 0 and "bm25 [2 queries]" in outcome.output


def test_a_sample_that_draws_everything_is_the_full_data(workspace) -> None:
    data, _, results_dir = workspace
    assert run_data(data, results_dir, "-m", "bm25", "--max-queries", "50").exit_code == 0
    [stored] = results.load(results_dir)
    assert stored.record.display_name == "bm25" and not stored.record.sampled


def test_a_result_written_with_the_old_sampled_label_describes_its_sample() -> None:
    record = make_record(
        "bm25",
        sampled=True,
        run_key={"id": "0" * 64, "variant": "k 100, sampled", "fields": {}},
    )
    record.dataset_identity["sampling"] = {"max_queries": 50, "corpus_size": None, "seed": 0, "full_num_queries": 300}
    assert record.display_name == "bm25 [k 100, 50 queries]"


REFERENCE = {"suite": "suite", "dataset": "tiny", "language": "en", "metric": "ndcg@10", "value": 0.6, "source": "X"}


def test_a_sampled_result_is_never_set_beside_a_published_score(tmp_path: Path) -> None:
    full = make_record("bm25", references=[REFERENCE])
    sampled = make_record("bm25", references=[REFERENCE], sampled=True)
    book = ReferenceBook()
    assert book.find(full, "ndcg@10") is not None and book.find(sampled, "ndcg@10") is None
    assert book.average([full], "ndcg@10") is None  # the card has no `avg` entry; a sample never gets one either
    frame = results.to_frame([full, sampled])
    assert list(frame.reference.isna()) == [False, True]


def test_the_report_marks_a_sampled_cell_and_sets_no_published_delta(tmp_path: Path) -> None:
    from harness.reporting import render_reports

    folder = tmp_path / "results"
    save(folder, make_record("bm25", references=[REFERENCE], sampled=True))
    [markdown] = [
        p for p in render_reports([s.record for s in results.load(folder)], tmp_path / "r") if p.suffix == ".md"
    ]
    text = markdown.read_text()
    assert "bm25 \\[sampled\\]" in text and "†" in text and "(-0.0" not in text and "(+0.0" not in text


# 2. fuse, compare and export over everything `run` writes ---------------------------------------------------


def test_fuse_reads_data_results_by_their_bare_model_names(workspace) -> None:
    data, card, results_dir = workspace
    assert run_data(data, results_dir, "-m", "bm25", "-m", str(card), "--max-queries", "2").exit_code == 0
    outcome = invoke(
        "fuse", "--data", str(data), "--language", "en", "-m", "bm25", "-m", "tiny-dense", "--max-queries", "2",
        "--results-dir", str(results_dir), "--latency-sample", "2",
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    [fused] = [stored for stored in results.load(results_dir) if stored.record.model.family == "fused"]
    assert fused.record.display_name == "rrf:bm25+tiny-dense [2 queries]"
    assert [c.model for c in results.fusion_of(fused.record).components] == ["bm25", "tiny-dense"]
    with __import__("gzip").open(fused.run_path, "rt") as handle:
        assert {len(line.split()) for line in handle} == {6}


def test_fuse_on_other_data_than_a_quick_run_names_the_results_and_the_options(workspace) -> None:
    data, card, results_dir = workspace
    assert run_data(data, results_dir, "-m", "bm25", "-m", str(card), "--max-queries", "2").exit_code == 0
    outcome = invoke(
        "fuse", "--data", str(data), "--language", "en", "-m", "bm25", "-m", "tiny-dense",
        "--results-dir", str(results_dir),
    )  # fmt: skip
    assert outcome.exit_code == 2
    assert "'bm25 [2 queries]'" not in outcome.output and "(bm25 [2 queries])" in outcome.output
    assert "--max-queries" in outcome.output and "the full data" in outcome.output


def test_fuse_suggests_a_run_command_that_names_the_local_folder(tmp_path: Path) -> None:
    data = write_beir(tmp_path / "xq", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    results_dir = tmp_path / "results"
    assert run_data(data, results_dir, "-m", "bm25").exit_code == 0
    outcome = invoke("fuse", "--data", str(data), "-m", "bm25", "-m", "splade-v3", "--results-dir", str(results_dir))
    assert outcome.exit_code == 2
    assert f"harness run --data {data} --language en -m splade-v3" in " ".join(outcome.output.split())


def test_fuse_on_suite_local_says_to_give_the_data(tmp_path: Path) -> None:
    outcome = invoke("fuse", "--suite", "local", "-m", "bm25", "-m", "x", "--results-dir", str(tmp_path))
    assert outcome.exit_code == 2 and "--data DIR" in outcome.output


def test_compare_resolves_a_bare_name_to_its_one_label_and_refuses_an_ambiguous_one(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    quick = {"id": "0" * 64, "variant": "", "fields": {}}
    for model, sampled in (("bm25", True), ("dense", True)):
        record = make_record(model, sampled=sampled, run_key=quick)
        record.dataset_identity["sampling"] = {"max_queries": 2, "seed": 0, "full_num_queries": 4}
        save(folder, record)
    outcome = invoke("compare", "bm25", "dense", "--results-dir", str(folder), "--no-write")
    assert outcome.exit_code == 0, outcome.output
    assert "bm25 [2 queries]" in outcome.output
    other = make_record("bm25", sampled=True, created_at="2026-02-01T00:00:00+00:00")
    other.dataset_identity["sampling"] = {"max_queries": 3, "seed": 0, "full_num_queries": 4}
    stem = result_stem(folder, "suite", "bm25", "tiny", "en", "test", "three")
    from harness.record import write_result

    write_result(stem, other, ["q1 Q0 d1 1 1.0 bm25\n"])
    outcome = invoke("compare", "bm25", "dense", "--results-dir", str(folder), "--no-write")
    assert outcome.exit_code == 2
    assert "'bm25 [2 queries]', 'bm25 [3 queries]'" in " ".join(outcome.output.split())


def test_the_same_files_in_another_folder_are_the_same_dataset(workspace, tmp_path: Path) -> None:
    data, _, results_dir = workspace
    assert run_data(data, results_dir, "-m", "bm25").exit_code == 0
    copy = shutil.copytree(data, tmp_path / "beir-tiny")
    outcome = run_data(copy, results_dir, "-m", "bm25")
    assert outcome.exit_code == 0, outcome.output
    assert "were recorded as dataset 'tiny'" in " ".join(outcome.output.split())
    assert [stored.record.dataset for stored in results.load(results_dir)] == ["tiny"]  # kept, not run again


def test_name_names_a_data_folders_dataset(workspace) -> None:
    data, _, results_dir = workspace
    assert run_data(data, results_dir, "-m", "bm25", "--name", "my-set").exit_code == 0
    assert [stored.record.dataset for stored in results.load(results_dir)] == ["my-set"]
    bad = run_data(data, results_dir, "-m", "bm25", "--name", "../x")
    assert bad.exit_code == 2 and "--name" in bad.output


def test_compare_and_export_read_data_results(workspace, tmp_path: Path) -> None:
    data, card, results_dir = workspace
    assert run_data(data, results_dir, "-m", "bm25", "-m", str(card)).exit_code == 0
    compared = invoke(
        "compare", "bm25", "tiny-dense", "--data", str(data), "--language", "en", "--results-dir", str(results_dir),
        "--no-write",
    )  # fmt: skip
    assert compared.exit_code == 0, compared.output
    exported = invoke(
        "export", "trec", "--data", str(data), "--results-dir", str(results_dir), "--out", str(tmp_path / "runs")
    )
    assert exported.exit_code == 0, exported.output
    written = sorted(p.relative_to(tmp_path / "runs").as_posix() for p in (tmp_path / "runs").rglob("*.trec"))
    assert written == ["local/bm25/tiny.en.test.trec", "local/tiny-dense/tiny.en.test.trec"]


# 3. Files valid for the tools that read them ---------------------------------------------------------------


def test_trec_export_names_files_by_label_and_tags_them_with_one_token(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    record = make_record("bm25", sampled=True)
    record.dataset_identity["sampling"] = {"max_queries": 2, "seed": 0, "full_num_queries": 4}
    save(folder, record, ["q1 Q0 d1 1 1.0 bm25\n"])
    [path] = results.export_trec(results.load(folder), tmp_path / "runs")
    assert path.relative_to(tmp_path / "runs").as_posix() == "suite/bm25_2_queries/tiny.en.test.trec"
    assert path.read_text().split() == ["q1", "Q0", "d1", "1", "1.0", "bm25__2_queries_"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("..", "_"), (".hidden", "hidden"), ("CON", "_CON"), ("aux.json", "_aux.json"), ("rrf:a b", "rrf_a_b")],
)
def test_safe_names_are_valid_on_every_os(value: str, expected: str) -> None:
    assert safe_name(value) == expected


def test_long_names_are_cut_and_stay_distinct() -> None:
    first, second = safe_name("m" * 300 + "a"), safe_name("m" * 300 + "b")
    assert len(first) <= 100 and len(second) <= 100 and first != second


def test_a_fused_result_named_dot_dot_stays_in_the_results_folder(tmp_path: Path) -> None:
    stem = result_stem(tmp_path, "suite", "..", "d", "en", "test")
    assert stem.resolve().is_relative_to(tmp_path.resolve() / "suite")


@pytest.mark.parametrize(
    ("code", "expected"), [("en", "eng-Latn"), ("zh", "zho-Hans"), ("sr", "srp-Cyrl"), ("te", "tel-Telu")]
)
def test_languages_have_their_iso_15924_script(code: str, expected: str) -> None:
    assert language_with_script(code) == expected


def test_mteb_export_writes_iso_codes_and_the_resolved_revision_and_leaves_samples_out(tmp_path: Path) -> None:
    commit = "a" * 40
    weights = {"path": f"/cache/models--org--m/snapshots/{commit}", "origin": "hub", "revision": None}
    full = make_record("m", "xquad", "zh", family="dense")
    full.model.details["weights"] = weights
    sample = make_record("m", "xquad", "de", family="dense", sampled=True)
    sample.model.details["weights"] = weights
    written = results.export_mteb([full, sample], tmp_path / "mteb", MtebRegistry({}, {}))
    assert written == [tmp_path / "mteb" / "m" / commit / "xquad.json"]
    [entry] = json.loads(written[0].read_text())["scores"]["test"]
    assert entry["languages"] == ["zho-Hans"] and entry["hf_subset"] == "zh"


def test_gate_records_and_checks_data_results(workspace, tmp_path: Path) -> None:
    data, _, results_dir = workspace
    assert run_data(data, results_dir, "-m", "bm25").exit_code == 0
    where = ["--data", str(data), "--results-dir", str(results_dir), "--expected", str(tmp_path / "expected")]
    recorded = invoke("gate", *where, "--update", "-m", "bm25")
    assert recorded.exit_code == 0, recorded.output
    assert (tmp_path / "expected" / "local" / "bm25.yaml").is_file()
    checked = invoke("gate", *where)
    assert checked.exit_code == 0 and "gate passed" in checked.output
