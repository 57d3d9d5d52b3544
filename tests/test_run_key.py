"""Run keys: what makes two results the same experiment, and how reports tell variants apart."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import ir_datasets
import pytest

from harness.catalog.cards import load_card
from harness.catalog.suites import load_suite, local_suite
from harness.data import LanguagePair, RetrievalTask
from harness.data.fingerprint import DataFingerprint
from harness.data.sampling import Sampling
from harness.data.sources import make_source
from harness.encode import EncodeSettings
from harness.reporting.leaderboard import build_boards, latest
from harness.run.keys import run_key, why_recompute
from tests.conftest import TINY_CORPUS, TINY_QRELS, TINY_QUERIES, write_beir, write_jsonl
from tests.results_factory import make_record
from tests.test_cli_run import result_files, run


@pytest.fixture
def unit():  # type: ignore[no-untyped-def]
    return load_suite("demo").units(["en"])[0]


def key(unit, **changes):  # type: ignore[no-untyped-def]
    card = changes.pop("card", load_card("bm25"))
    encode = changes.pop("encode", EncodeSettings())
    return run_key(unit, card, "sparse", k=changes.pop("k", 1000), encode=encode, **changes)


def test_the_same_run_has_the_same_key(unit) -> None:  # type: ignore[no-untyped-def]
    assert key(unit).id == key(unit).id
    assert key(unit).variant == ""


def test_speed_settings_do_not_change_the_key(unit) -> None:  # type: ignore[no-untyped-def]
    assert key(unit, encode=EncodeSettings(batch_size=7, device="cpu")).id == key(unit).id


@pytest.mark.parametrize(
    ("changes", "variant"),
    [
        ({"index_override": {"kind": "seismic"}}, "index seismic"),
        ({"k": 10, "k_override": 10}, "k 10"),
        ({"encode": EncodeSettings(dtype="bfloat16")}, "bfloat16"),
        ({"encode": EncodeSettings(max_document_length=64)}, "document length 64"),
        ({"stored_dtype": "float16"}, "stored float16"),
    ],
)
def test_output_changing_settings_change_the_key_and_name_the_variant(unit, changes, variant) -> None:  # type: ignore[no-untyped-def]
    changed = key(unit, **changes)
    assert changed.id != key(unit).id
    assert changed.variant == variant


def test_an_edited_card_is_another_experiment_with_the_same_label(unit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    edited = tmp_path / "bm25.yaml"
    edited.write_text("name: bm25\nadapter: bm25\nparameters: {k1: 1.2}\n")
    changed = key(unit, card=load_card(str(edited)))
    assert changed.id != key(unit).id
    assert changed.variant == ""


def test_sampling_is_in_the_key_and_the_file_name(unit) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    sampled = key(replace(unit, sampling=Sampling(max_queries=5)))
    assert sampled.id != key(unit).id
    assert sampled.file_tag.startswith("sparse-exact.sampled.")
    assert key(unit).file_tag.startswith("sparse-exact.") and ".sampled." not in key(unit).file_tag


def record(created_at: str, variant: str = "", key_id: str = "a", value: float = 0.5):  # type: ignore[no-untyped-def]
    return make_record(
        "bm25",
        created_at=created_at,
        per_query={"ndcg@10": {"q1": value, "q2": value}},
        run_key={"id": key_id, "variant": variant, "fields": {}},
    )


def test_reports_show_each_variant_as_its_own_row() -> None:
    plain, seismic = record("2026-01-01", "", "a", 0.5), record("2026-01-02", "index seismic", "b", 0.4)
    [board] = build_boards([plain, seismic])
    assert sorted(row.model for row in board.rows) == ["bm25", "bm25 [index seismic]"]


def test_the_newest_result_of_a_label_wins() -> None:
    older, newer = record("2026-01-01", value=0.5), record("2026-01-02", value=0.7)
    assert latest([newer, older]) == [newer]


# The data's fingerprint, and the check that keeps a result only on the data it was computed on.


def local_unit(folder: Path):  # type: ignore[no-untyped-def]
    return local_suite(folder, "en").units()[0]


def tiny_run(tmp_path: Path) -> tuple[Path, Path]:
    """BM25 on the tiny collection: its folder and its one result."""
    data = write_beir(tmp_path / "tiny", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    command = ("--data", str(data), "--language", "en", "-m", "bm25", "--no-report")
    assert run(*command, "--results-dir", str(tmp_path / "results")).exit_code == 0
    [path] = result_files(tmp_path / "results")
    return data, path


def never_loaded() -> RetrievalTask:
    raise AssertionError("the data was loaded")


def later(path: Path) -> None:
    """A new modification time, the bytes unchanged (a copied folder, a `touch`)."""
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 10**9))


def test_a_fingerprint_hashes_queries_and_qrels_and_stamps_the_corpus(tmp_path: Path) -> None:
    data = write_beir(tmp_path / "tiny", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    first = local_unit(data).fingerprint()
    assert first is not None and sorted(first.content) == ["qrels", "queries"] and list(first.stamps) == ["corpus"]
    assert DataFingerprint.from_dict(first.to_dict()) == first
    later(data / "corpus.jsonl")
    touched = local_unit(data).fingerprint()
    assert touched is not None and touched.changed(first) == [] and touched.doubtful(first) == ["corpus"]
    (data / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\n")
    rewritten = local_unit(data).fingerprint()
    assert rewritten is not None and rewritten.changed(first) == ["qrels"]


def test_a_copy_with_its_times_has_the_same_fingerprint(tmp_path: Path) -> None:
    data = write_beir(tmp_path / "tiny", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    copy = shutil.copytree(data, tmp_path / "elsewhere" / "tiny")  # copy2 keeps modification times
    assert local_unit(copy).fingerprint() == local_unit(data).fingerprint()


@pytest.mark.parametrize("raw", [None, {}, {"content": "x", "stamps": {}}, ["content"]])
def test_an_unreadable_recorded_fingerprint_is_none(raw: object) -> None:
    assert DataFingerprint.from_dict(raw) is None


def test_missing_files_or_an_uncached_hub_dataset_have_no_fingerprint(tmp_path: Path) -> None:
    pair = LanguagePair("en", "en")
    assert make_source({"kind": "beir", "path": "absent"}, tmp_path).fingerprint("x", pair, "test") is None
    hub = {"kind": "huggingface", "repo": "nobody/nothing", "cache_dir": str(tmp_path / "hf")}
    files = {"corpus": "corpus.jsonl", "queries": "queries.jsonl", "qrels": "qrels/{split}.tsv"}
    assert make_source({**hub, **files}, tmp_path).fingerprint("x", pair, "test") is None
    write_beir(tmp_path / "copy", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    local = make_source({**hub, **files, "path": "copy"}, tmp_path).fingerprint("x", pair, "test")
    assert local == local_unit(tmp_path / "copy").fingerprint()


def test_an_ir_datasets_fingerprint_is_its_release_without_the_cache(tmp_path: Path) -> None:
    source = make_source({"kind": "ir-datasets", "id": "beir/scifact/test"}, tmp_path)
    found = source.fingerprint("scifact", LanguagePair("en", "en"), "test")
    assert found == DataFingerprint({}, {"data": f"ir_datasets {ir_datasets.__version__}: beir/scifact/test"})


def test_a_result_on_unchanged_data_is_kept_without_loading_it(tmp_path: Path) -> None:
    data, path = tiny_run(tmp_path)
    assert why_recompute(path, local_unit(data).fingerprint(), "tiny/en", never_loaded) is None


def test_a_corpus_with_a_new_time_is_checked_once_then_kept(tmp_path: Path) -> None:
    data, path = tiny_run(tmp_path)
    before = json.loads(path.read_text())
    later(data / "corpus.jsonl")
    unit = local_unit(data)
    assert why_recompute(path, unit.fingerprint(), "tiny/en", unit.load) is None
    after = json.loads(path.read_text())
    recorded = after["measured"]["data_fingerprint"]
    assert recorded == unit.fingerprint().to_dict() != before["measured"]["data_fingerprint"]  # type: ignore[union-attr]
    assert {**after, "measured": None} == {**before, "measured": None}
    assert why_recompute(path, unit.fingerprint(), "tiny/en", never_loaded) is None


def test_a_rewritten_corpus_is_recomputed_naming_it(tmp_path: Path) -> None:
    data, path = tiny_run(tmp_path)
    corpus = [{**document, "text": document["text"].upper()} for document in TINY_CORPUS]
    write_jsonl(data / "corpus.jsonl", corpus)
    unit = local_unit(data)
    why = why_recompute(path, unit.fingerprint(), "tiny/en", unit.load)
    assert why == f"the corpus of tiny/en changed since {path} was written: recomputing it"


@pytest.mark.parametrize("changed", [False, True])
def test_a_result_without_a_fingerprint_is_checked_against_its_checksum(tmp_path: Path, changed: bool) -> None:
    data, path = tiny_run(tmp_path)
    record = json.loads(path.read_text())
    del record["measured"]["data_fingerprint"]  # as results written before fingerprints
    path.write_text(json.dumps(record))
    if changed:
        (data / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\n")
    unit = local_unit(data)
    why = why_recompute(path, unit.fingerprint(), "tiny/en", unit.load)
    if changed:
        assert why == f"the data of tiny/en changed since {path} was written: recomputing it"
    else:
        assert why is None
        assert json.loads(path.read_text())["measured"]["data_fingerprint"] == unit.fingerprint().to_dict()  # type: ignore[union-attr]


def test_an_unreadable_result_is_recomputed_naming_it(tmp_path: Path) -> None:
    data, path = tiny_run(tmp_path)
    path.write_text("{not json")
    why = why_recompute(path, local_unit(data).fingerprint(), "tiny/en", never_loaded)
    assert why is not None and why.startswith(str(path)) and why.endswith(": recomputing it")
