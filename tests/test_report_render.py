"""Rendering: a self-contained page whose only script is ours, and data that can never become markup."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.reporting import render_reports
from harness.reporting.render import latex_text, script_hash, signed
from tests.results_factory import make_record, save

HOSTILE_MODEL = '<script>alert("model")</script>"\'&'
HOSTILE_DATASET = "<img src=x onerror=alert('dataset')>\"|"
SWEEP = {
    "group": "prune<b>",
    "pruning": {"documents": "mass:30", "queries": "none"},
    "avg_active_terms_per_document": 40.0,
    "avg_active_terms_per_query": 10.0,
}


@pytest.fixture
def page(tmp_path: Path) -> str:
    records = [
        make_record(HOSTILE_MODEL, HOSTILE_DATASET, "en", family="dense"),
        make_record(HOSTILE_MODEL, HOSTILE_DATASET, "de-en", family="dense"),
        make_record(HOSTILE_MODEL, HOSTILE_DATASET, "de", family="dense"),
        make_record("bm25", HOSTILE_DATASET, "en", latency_ms=(0.5, 1.0)),
        make_record("bm25", HOSTILE_DATASET, "en", sweep=SWEEP),
    ]
    render_reports(records, tmp_path)
    return (tmp_path / "index.html").read_text(encoding="utf-8")


def test_hostile_card_and_dataset_names_are_inert_in_html(page: str) -> None:
    assert "<script>alert" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(&#34;model&#34;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(&#39;dataset&#39;)&gt;" in page
    assert len(re.findall(r"<script\b", page)) == 1  # the report's own sorting script, nothing else


def test_hostile_names_are_inert_inside_svg_charts(page: str) -> None:
    charts = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    assert charts
    for chart in charts:
        assert "<script" not in chart and "<img" not in chart
    assert any("&lt;script&gt;alert" in chart for chart in charts)


def test_the_page_needs_no_network(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    assert '<link rel="icon" href="data:,">' in page


def test_only_the_page_own_script_may_run(page: str) -> None:
    [script] = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in policy
    assert f"script-src '{script_hash(script)}'" in policy


def test_the_page_has_tables_charts_matrix_sweeps_and_provenance(page: str) -> None:
    for table in ("leaderboard", "cost", "sweep", "results", "matrix"):
        assert f'class="sortable {table}"' in page or f'class="{table}"' in page, table
    assert page.count("<svg") >= 5  # latency, index size, emissions, per-language bars, sweep curve(s)
    assert "Pareto front" in page
    assert page.count('<details class="provenance"') == 5
    assert "sha256:abc" in page and "0123456789abcdef" in page and "full dataset" in page


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_hostile_names_are_escaped_in_markdown(tmp_path: Path) -> None:
    records = [make_record(HOSTILE_MODEL + "|x", HOSTILE_DATASET, "en"), make_record("bm25", "plain", "en")]
    render_reports(records, tmp_path, ["md"])
    text = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;alert" in text and "\\|x" in text
    lines = text.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("| Rank |")))
    table = lines[header : header + 4]  # header, separator, two models
    assert len({unescaped_pipes(line) for line in table}) == 1  # no name added a column


def test_latex_escapes_every_special_character() -> None:
    assert latex_text("a_b & 50% #1 {x} $y ~ ^ \\") == (
        r"a\_b \& 50\% \#1 \{x\} \$y \textasciitilde{} \textasciicircum{} \textbackslash{}"
    )


def test_latex_leaderboard_is_a_booktabs_table_with_escaped_names(tmp_path: Path) -> None:
    records = [make_record("model_one", "data&set", "en"), make_record("model_two", "data&set", "en")]
    render_reports(records, tmp_path, ["tex"])
    text = (tmp_path / "leaderboard.tex").read_text(encoding="utf-8")
    assert r"\toprule" in text and r"\bottomrule" in text
    assert r"model\_one" in text and r"data\&set" not in text  # one dataset: columns are languages only
    assert r"\caption{suite: ndcg@10" in text


def test_signed_deltas_show_their_sign_and_no_negative_zero() -> None:
    assert signed(0.01234) == "+0.0123"
    assert signed(-0.01234) == "-0.0123"
    assert signed(-0.00001) == "±0.0000"


def test_report_command_writes_the_chosen_formats(tmp_path: Path) -> None:
    save(tmp_path / "results", make_record("bm25", "tiny", "en"))
    outcome = CliRunner().invoke(
        app,
        ["report", "--results-dir", str(tmp_path / "results"), "--out", str(tmp_path / "out"), "--format", "md"],
    )
    assert outcome.exit_code == 0, outcome.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["leaderboard.md"]


def test_report_command_without_results_is_an_input_error(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(app, ["report", "--results-dir", str(tmp_path / "none")])
    assert outcome.exit_code == 2
    assert "results folder not found" in outcome.output


def test_reports_get_ordinary_file_permissions(tmp_path: Path) -> None:
    render_reports([make_record()], tmp_path, ["html"])
    ordinary = tmp_path / "ordinary.txt"
    ordinary.write_text("x")
    assert stat.S_IMODE((tmp_path / "index.html").stat().st_mode) == stat.S_IMODE(ordinary.stat().st_mode)


def test_sampled_results_are_flagged_in_markdown(tmp_path: Path) -> None:
    render_reports([make_record(sampled=True), make_record("other")], tmp_path, formats=("md",))
    row = next(line for line in (tmp_path / "leaderboard.md").read_text().splitlines() if line.startswith("| 1 |"))
    assert "†" in row
    assert "sampled subset" in (tmp_path / "leaderboard.md").read_text()


def test_card_text_cannot_become_a_markdown_link_or_image(tmp_path: Path) -> None:
    reference = {
        "suite": "suite",
        "dataset": "tiny",
        "language": "en",
        "metric": "ndcg@10",
        "value": 0.5,
        "source": "[paper](javascript:alert(1)) ![pixel](https://evil.example/p.png) [ref]: javascript:x",
    }
    render_reports([make_record("bm25", "tiny", "en", references=[reference])], tmp_path, ["md"])
    text = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    assert "\\[paper\\](javascript:alert(1))" in text and "!\\[pixel\\]" in text and "\\[ref\\]:" in text
    assert re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", text) is None  # no live [text](target) anywhere
