"""Reports show the averages each suite declares, CQADupStack's forums counting once, as papers publish them."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.catalog.suites import find_suites, load_suite
from harness.reporting import render_reports
from harness.reporting.leaderboard import SuiteBoard, build_boards
from tests.results_factory import make_record

BEIR = load_suite("beir")
FORUMS = [d.name for d in BEIR.spec.datasets if d.group == "cqadupstack"]
OTHERS = [d.name for d in BEIR.spec.datasets if d.group is None]


def beir_records(model: str, forum_score: float, other_score: float, leave_out: str | None = None) -> list:
    return [
        make_record(
            model,
            dataset,
            "en",
            suite="beir",
            per_query={"ndcg@10": {"q1": forum_score if dataset in FORUMS else other_score}},
        )
        for dataset in FORUMS + OTHERS
        if dataset != leave_out
    ]


def test_beir_declares_the_twelve_cqadupstack_forums_as_one_group() -> None:
    assert len(FORUMS) == 12 and len(OTHERS) == 14
    assert {a.name for a in BEIR.spec.averages} == {"all", "large"}


@pytest.fixture(scope="module")
def board() -> SuiteBoard:
    [built] = build_boards(beir_records("m", 0.2, 0.5), find_suites(["beir"]))
    return built


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model with every BEIR result, one lacking a CQADupStack forum, in every format."""
    out = tmp_path_factory.mktemp("reports")
    render_reports(beir_records("full", 0.2, 0.5) + beir_records("partial", 0.2, 0.5, leave_out="cqadupstack-gis"), out)
    return out


def test_the_cqadupstack_forums_are_averaged_into_one_entry(board: SuiteBoard) -> None:
    average = next(a for a in board.averages if a.name == "all")
    assert len(average.members) == 15 and "cqadupstack" in average.members
    assert average.value == pytest.approx((0.2 + 14 * 0.5) / 15)  # not (12 * 0.2 + 14 * 0.5) / 26
    assert average.groups == (("cqadupstack", 12),)
    assert board.rows[0].average == pytest.approx(average.value)


def test_the_large_collection_average_covers_the_million_document_datasets(board: SuiteBoard) -> None:
    large = next(a for a in board.averages if a.name == "large")
    expected = {d.name for d in BEIR.spec.datasets if (d.documents or 0) >= 1_000_000}
    assert set(large.members) == expected and "msmarco" in expected and large.value == pytest.approx(0.5)


def test_a_model_lacking_a_member_gets_no_average_and_the_missing_member_is_named(reports: Path) -> None:
    markdown = (reports / "leaderboard.md").read_text(encoding="utf-8")
    label = "all (en): 15 datasets; cqadupstack = mean of its 12"
    assert f"| {label} | full | 0.4800 | none |" in markdown
    assert f"| {label} | partial | – | 1 of 15: cqadupstack (cqadupstack-gis) |" in markdown


def test_html_and_latex_show_the_averages_too(reports: Path) -> None:
    for name in ("index.html", "leaderboard.tex"):
        text = (reports / name).read_text(encoding="utf-8")
        assert "cqadupstack = mean of its 12" in text and "0.4800" in text and "cqadupstack-gis" in text


def test_miracl_averages_over_its_eighteen_languages() -> None:
    miracl = load_suite("miracl")
    languages = [pair.label for pair in miracl.spec.datasets[0].pairs()]
    records = [
        make_record("m", "miracl", language, suite="miracl", per_query={"ndcg@10": {"q1": 0.1 * (i % 5)}})
        for i, language in enumerate(languages)
    ]
    [board] = build_boards(records, find_suites(["miracl"]))
    [average] = board.averages
    assert len(languages) == 18 and average.label == "avg (miracl): 18 languages"
    assert average.value == pytest.approx(sum(0.1 * (i % 5) for i in range(18)) / 18)


def test_a_suite_without_a_yaml_is_reported_without_averages(tmp_path: Path) -> None:
    render_reports([make_record("m", "x", "en", suite="nowhere")], tmp_path, ["md"])
    assert "Suite averages" not in (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
