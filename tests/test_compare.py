"""Paired significance tests on recorded per-query scores, Holm-corrected across languages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from harness.cli import app
from harness.core.errors import InputError
from harness.results.compare import compare, holm, paired_t_test, randomization_test
from tests.results_factory import make_record, save

runner = CliRunner()


def per_query(values: list[float], metric: str = "ndcg@10") -> dict[str, dict[str, float]]:
    return {metric: {f"q{i:03d}": value for i, value in enumerate(values)}}


def pair(language: str, baseline: list[float], model: list[float], **kwargs: object) -> list[object]:
    return [
        make_record("base", "data", language, per_query=per_query(baseline), **kwargs),
        make_record("model", "data", language, per_query=per_query(model), **kwargs),
    ]


def test_holm_multiplies_the_smallest_p_by_m_and_keeps_the_order_monotone() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert holm([0.2, 0.01, 0.04]) == pytest.approx([0.2, 0.03, 0.08])
    assert holm([0.9, 0.8]) == [1.0, 1.0]  # capped at 1, and never below an earlier step


def test_paired_t_test_is_scipy_ttest_rel() -> None:
    rng = np.random.default_rng(3)
    a = rng.random(50)
    b = a + rng.normal(0.05, 0.1, 50)
    assert paired_t_test(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)
    assert paired_t_test(a, a.copy()) == 1.0


def test_randomization_test_enumerates_every_sign_flip_for_few_queries() -> None:
    # differences 1, 2, 3: of the 8 sign assignments, |mean| >= 2 only for all-plus and all-minus
    assert randomization_test(np.zeros(3), np.array([1.0, 2.0, 3.0])) == pytest.approx(2 / 8)


def test_randomization_test_is_reproducible_and_agrees_with_the_t_test_on_a_clear_effect() -> None:
    rng = np.random.default_rng(0)
    a = rng.random(300)
    b = a + rng.normal(0.02, 0.2, 300)
    first = randomization_test(a, b, permutations=5000, seed=7)
    assert first == randomization_test(a, b, permutations=5000, seed=7)
    assert first == pytest.approx(paired_t_test(a, b), abs=0.02)


def test_randomization_test_of_identical_systems_is_one() -> None:
    assert randomization_test(np.ones(40), np.ones(40)) == 1.0


def test_compare_counts_wins_ties_losses_and_marks_significant_differences() -> None:
    base = [0.2] * 30
    better = [0.9] * 25 + [0.2] * 3 + [0.1] * 2
    records = pair("en", base, better) + pair("de", base, [0.2] * 30)
    comparison = compare(records, ["base", "model"], tests=["student", "fisher"], permutations=2000)
    en = comparison.result("model", next(u for u in comparison.units if u.language == "en"), "ndcg@10")
    de = comparison.result("model", next(u for u in comparison.units if u.language == "de"), "ndcg@10")
    assert (en.wins, en.ties, en.losses) == (25, 3, 2)
    assert en.delta == pytest.approx(np.mean(better) - 0.2)
    assert en.mark("student") == "▲" and en.mark("fisher") == "▲"
    assert (de.wins, de.ties, de.losses) == (0, 30, 0) and de.mark("student") == ""


def test_holm_correction_can_remove_a_mark_the_raw_p_value_would_give() -> None:
    base = [0.5] * 20
    alternating = [0.2 * (-1) ** i for i in range(20)]
    records = pair("en", base, [0.5 + 0.1074 + e for e in alternating])  # t = 2.34 on 19 df: p = 0.03
    for language in ("de", "fr", "es"):
        records += pair(language, base, [0.5 + e for e in alternating])  # mean difference 0: p = 1
    comparison = compare(records, ["base", "model"], tests=["student"], alpha=0.05)
    [en] = [r for r in comparison.results if r.unit.language == "en"]
    assert en.tests["student"].p_value == pytest.approx(0.03, abs=0.002)
    assert en.tests["student"].p_adjusted == pytest.approx(4 * en.tests["student"].p_value)
    assert not en.tests["student"].significant and en.mark("student") == ""


def test_a_worse_model_gets_a_down_mark() -> None:
    records = pair("en", [0.8] * 20 + [0.7] * 10, [0.1] * 20 + [0.7] * 10)
    comparison = compare(records, ["base", "model"], tests=["student"])
    assert comparison.results[0].mark("student") == "▼"


def test_units_missing_a_model_are_skipped_and_reported() -> None:
    records = [*pair("en", [0.1, 0.2, 0.3], [0.2, 0.3, 0.4]), make_record("base", "data", "de")]
    comparison = compare(records, ["base", "model"], tests=["student"])
    assert [u.language for u in comparison.units] == ["en"]
    assert [(u.language, missing) for u, missing in comparison.skipped] == [("de", ["model"])]


def test_results_on_different_queries_are_refused() -> None:
    records = [
        make_record("base", "data", "en", per_query=per_query([0.1, 0.2])),
        make_record("model", "data", "en", per_query=per_query([0.1, 0.2, 0.3])),
    ]
    with pytest.raises(InputError, match="different queries"):
        compare(records, ["base", "model"])


def test_results_on_different_data_are_refused() -> None:
    records = [make_record("base", "data", "en"), make_record("model", "data", "en", checksum="sha256:other")]
    with pytest.raises(InputError, match="different data"):
        compare(records, ["base", "model"])


def test_an_unknown_model_names_the_models_that_have_results() -> None:
    with pytest.raises(InputError, match=r"no results for ghost.*models with results: base, model"):
        compare(pair("en", [0.1], [0.2]), ["base", "ghost"])


def test_a_metric_without_per_query_scores_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no per-query recall@100"):
        compare(pair("en", [0.1], [0.2]), ["base", "model"], metrics=["R@100"])


def test_compare_command_prints_marked_deltas_and_writes_every_format(tmp_path: Path) -> None:
    results = tmp_path / "results"
    for record in pair("en", [0.2] * 30, [0.9] * 30) + pair("de", [0.5] * 30, [0.5] * 29 + [0.6]):
        save(results, record)
    out = tmp_path / "compare"
    outcome = runner.invoke(
        app, ["compare", "base", "model", "--results-dir", str(results), "--out", str(out)], catch_exceptions=False
    )
    assert outcome.exit_code == 0, outcome.output
    assert "+0.7000▲" in outcome.output
    assert "+0.0033" in outcome.output and "+0.0033▲" not in outcome.output
    assert sorted(p.name for p in out.iterdir()) == [
        "comparison.html",
        "comparison.json",
        "comparison.md",
        "comparison.tex",
    ]
    data = json.loads((out / "comparison.json").read_text())
    assert {(r["language"], r["mark"]) for r in data["results"]} == {("en", "▲"), ("de", "")}
    assert "+0.7000▲" in (out / "comparison.md").read_text()
    tex = (out / "comparison.tex").read_text()
    assert r"\textbf{0.900}$^\blacktriangle$" in tex and r"\toprule" in tex


def test_compare_command_with_one_model_is_an_input_error(tmp_path: Path) -> None:
    save(tmp_path, make_record("base", "data", "en"))
    outcome = runner.invoke(app, ["compare", "base", "--results-dir", str(tmp_path)])
    assert outcome.exit_code == 2
    assert "at least two different models" in outcome.output
