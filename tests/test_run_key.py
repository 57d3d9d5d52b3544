"""Run keys: what makes two results the same experiment, and how reports tell variants apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.catalog.cards import load_card
from harness.catalog.suites import load_suite
from harness.data.sampling import Sampling
from harness.encode import EncodeSettings
from harness.reporting.leaderboard import build_boards, latest
from harness.run.keys import run_key
from tests.results_factory import make_record


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
