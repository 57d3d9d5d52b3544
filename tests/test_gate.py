"""The regression gate: expected scores as YAML, OK / OKISH / FAIL per value, the exit code CI reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.record import result_stem, write_result
from harness.results.gate import Status, classify
from tests.results_factory import make_record, save

runner = CliRunner()


def gate_cli(*args: str) -> object:
    return runner.invoke(app, ["gate", *args], catch_exceptions=False)


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, Path]:
    """Results for two languages and their expectations, written by `harness gate --update`."""
    results, expected = tmp_path / "results", tmp_path / "regressions"
    for language, value in (("en", 0.6), ("de", 0.4)):
        save(results, make_record("bm25", "demo", language, suite="demo", per_query={"ndcg@10": {"q1": value}}))
    outcome = gate_cli(
        "--update", "--suite", "demo", "--efficiency", "--results-dir", str(results), "--expected", str(expected)
    )
    assert outcome.exit_code == 0, outcome.output
    return results, expected


def rerun(results: Path, language: str, value: float, **kwargs: object) -> None:
    """A fresh result replacing the recorded one (same file, newer)."""
    record = make_record(
        "bm25",
        "demo",
        language,
        suite="demo",
        per_query={"ndcg@10": {"q1": value}},
        created_at="2026-06-01T00:00:00+00:00",
        **kwargs,
    )
    save(results, record)


def test_update_writes_one_yaml_per_suite_and_model_with_tolerances(recorded: tuple[Path, Path]) -> None:
    _, expected = recorded
    path = expected / "demo" / "bm25.yaml"
    assert path.read_text().startswith("# Expected results for `harness gate`")
    data = yaml.safe_load(path.read_text())
    assert (data["suite"], data["model"]) == ("demo", "bm25")
    assert data["tolerance"] == {"ndcg@10": 0.001}
    assert [(r["language"], r["metrics"]["ndcg@10"]) for r in data["results"]] == [("de", 0.4), ("en", 0.6)]
    assert data["results"][0]["efficiency"] == {"index_size_bytes": 1000, "latency_p50_ms": 1.0, "latency_p95_ms": 2.0}


def test_unchanged_results_pass(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    outcome = gate_cli("--results-dir", str(results), "--expected", str(expected))
    assert outcome.exit_code == 0, outcome.output
    assert "gate passed: 2 checks: 2 OK" in outcome.output


def test_a_result_moved_beyond_one_and_a_half_tolerances_fails(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    rerun(results, "en", 0.6 - 0.0016)
    outcome = gate_cli("--results-dir", str(results), "--expected", str(expected))
    assert outcome.exit_code == 1
    assert "FAIL" in outcome.output and "1 FAIL" in outcome.output


def test_an_unexplained_improvement_fails_too(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    rerun(results, "de", 0.4 + 0.01)
    assert gate_cli("--results-dir", str(results), "--expected", str(expected)).exit_code == 1


def test_a_result_between_one_and_one_and_a_half_tolerances_is_okish_and_passes(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    rerun(results, "en", 0.6 + 0.0012)
    outcome = gate_cli("--results-dir", str(results), "--expected", str(expected))
    assert outcome.exit_code == 0, outcome.output
    assert "2 checks: 1 OK, 1 OKISH" in outcome.output


def test_a_missing_result_fails_unless_allowed(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    (results / "demo" / "bm25" / "demo.de.test.json").unlink()
    assert gate_cli("--results-dir", str(results), "--expected", str(expected)).exit_code == 1
    allowed = gate_cli("--results-dir", str(results), "--expected", str(expected), "--allow-missing")
    assert allowed.exit_code == 0 and "1 MISSING" in allowed.output


def test_efficiency_is_gated_only_when_asked_and_only_on_growth(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    rerun(results, "en", 0.6, latency_ms=(2.0, 2.0))  # p50 doubled: +100% > 1.5 x 50%
    assert gate_cli("--results-dir", str(results), "--expected", str(expected)).exit_code == 0
    slower = gate_cli("--results-dir", str(results), "--expected", str(expected), "--efficiency")
    assert slower.exit_code == 1
    assert "+100.0%" in slower.output
    rerun(results, "en", 0.6, latency_ms=(0.1, 0.2), index_size_bytes=10)  # faster and smaller: fine
    assert gate_cli("--results-dir", str(results), "--expected", str(expected), "--efficiency").exit_code == 0


def test_index_growth_within_one_and_a_half_tolerances_is_okish(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    rerun(results, "en", 0.6, index_size_bytes=1060)  # +6% against a 5% tolerance
    outcome = gate_cli("--results-dir", str(results), "--expected", str(expected), "--efficiency")
    assert outcome.exit_code == 0
    assert "OKISH" in outcome.output


def test_update_keeps_edited_tolerances(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    path = expected / "demo" / "bm25.yaml"
    data = yaml.safe_load(path.read_text())
    data["tolerance"]["ndcg@10"] = 0.02
    path.write_text(yaml.safe_dump(data))
    rerun(results, "en", 0.61)
    assert gate_cli("--results-dir", str(results), "--expected", str(expected)).exit_code == 0  # 0.01 <= 0.02
    gate_cli("--update", "--suite", "demo", "--results-dir", str(results), "--expected", str(expected))
    updated = yaml.safe_load(path.read_text())
    assert updated["tolerance"]["ndcg@10"] == 0.02
    assert {r["language"]: r["metrics"]["ndcg@10"] for r in updated["results"]} == {"de": 0.4, "en": 0.61}


def test_summary_appends_a_markdown_table(recorded: tuple[Path, Path], tmp_path: Path) -> None:
    results, expected = recorded
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    gate_cli("--results-dir", str(results), "--expected", str(expected), "--summary", str(summary))
    text = summary.read_text()
    assert text.startswith("earlier step\n### harness gate: passed")
    assert "| demo | bm25 | demo | en | ndcg@10 | 0.6000 | 0.6000 | ±0.0000 | ±0.001 | OK |" in text


def test_a_malformed_expectation_names_the_file_and_key(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    path = expected / "demo" / "bm25.yaml"
    path.write_text("suite: demo\nmodel: bm25\ntolerance: {ndcg@10: -1}\n")
    outcome = gate_cli("--results-dir", str(results), "--expected", str(expected))
    assert outcome.exit_code == 2
    assert "bm25.yaml" in outcome.output and "tolerance" in outcome.output


def test_no_expectations_is_an_input_error(tmp_path: Path) -> None:
    save(tmp_path / "results", make_record())
    outcome = gate_cli("--results-dir", str(tmp_path / "results"), "--expected", str(tmp_path / "none"))
    assert outcome.exit_code == 2
    assert "--update" in outcome.output


@pytest.mark.parametrize(
    ("deviation", "status"),
    [(0.0, Status.OK), (0.001, Status.OK), (0.0015, Status.OKISH), (0.00151, Status.FAIL)],
)
def test_classify_thresholds(deviation: float, status: Status) -> None:
    assert classify(deviation, 0.001) is status


def test_an_unknown_efficiency_quantity_is_named(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    path = expected / "demo" / "bm25.yaml"
    data = yaml.safe_load(path.read_text())
    data["results"][0]["efficiency"]["latency_p99_ms"] = 3.0
    path.write_text(yaml.safe_dump(data))
    outcome = gate_cli("--results-dir", str(results), "--expected", str(expected), "--efficiency")
    assert outcome.exit_code == 2
    assert "unknown efficiency quantity 'latency_p99_ms'" in outcome.output


def save_sampled(results: Path, language: str, value: float) -> Path:
    """A `--max-queries` result, in its own file beside the full one, as `harness run` keeps it."""
    record = make_record(
        "bm25",
        "demo",
        language,
        suite="demo",
        per_query={"ndcg@10": {"q1": value}},
        sampled=True,
        run_key={"id": "k-sampled", "variant": "sampled", "fields": {}},
    )
    stem = result_stem(results, "demo", "bm25", "demo", language, "test", tag="sampled")
    return write_result(stem, record, ["q1 Q0 d1 1 1.0 bm25\n"])


def test_update_without_suite_model_or_all_is_refused_naming_them(tmp_path: Path) -> None:
    save(tmp_path / "results", make_record("bm25", "demo", suite="demo"))
    expected = tmp_path / "regressions"
    outcome = gate_cli("--update", "--results-dir", str(tmp_path / "results"), "--expected", str(expected))
    assert outcome.exit_code == 2
    assert "--suite" in outcome.output and "-m" in outcome.output and "--all" in outcome.output
    assert not expected.exists()


def test_update_all_rewrites_every_expectation(tmp_path: Path) -> None:
    save(tmp_path / "results", make_record("bm25", "demo", suite="demo"))
    expected = tmp_path / "regressions"
    outcome = gate_cli("--update", "--all", "--results-dir", str(tmp_path / "results"), "--expected", str(expected))
    assert outcome.exit_code == 0, outcome.output
    assert (expected / "demo" / "bm25.yaml").is_file()


def test_all_without_update_is_refused(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    outcome = gate_cli("--all", "--results-dir", str(results), "--expected", str(expected))
    assert outcome.exit_code == 2
    assert "[--all]" in outcome.output


def test_update_keeps_the_expected_latency_and_size_unless_efficiency(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    path = expected / "demo" / "bm25.yaml"
    rerun(results, "en", 0.61, latency_ms=(5.0, 9.0), index_size_bytes=4000)
    gate_cli("--update", "--suite", "demo", "--results-dir", str(results), "--expected", str(expected))
    kept = {r["language"]: r for r in yaml.safe_load(path.read_text())["results"]}["en"]
    assert kept["metrics"]["ndcg@10"] == 0.61
    assert kept["efficiency"] == {"index_size_bytes": 1000, "latency_p50_ms": 1.0, "latency_p95_ms": 2.0}
    gate_cli("--update", "--suite", "demo", "--efficiency", "--results-dir", str(results), "--expected", str(expected))
    measured = {r["language"]: r for r in yaml.safe_load(path.read_text())["results"]}["en"]
    assert measured["efficiency"] == {"index_size_bytes": 4000, "latency_p50_ms": 5.0, "latency_p95_ms": 9.0}


def test_update_records_no_latency_for_a_new_expectation_without_efficiency(tmp_path: Path) -> None:
    save(tmp_path / "results", make_record("bm25", "demo", suite="demo"))
    expected = tmp_path / "regressions"
    gate_cli("--update", "-m", "bm25", "--results-dir", str(tmp_path / "results"), "--expected", str(expected))
    written = yaml.safe_load((expected / "demo" / "bm25.yaml").read_text())
    assert "efficiency" not in written["results"][0]


def test_update_refuses_a_sampled_result_naming_its_file_and_writes_nothing(tmp_path: Path) -> None:
    results, expected = tmp_path / "results", tmp_path / "regressions"
    sampled = save_sampled(results, "en", 0.9)
    outcome = gate_cli("--update", "-m", "bm25", "--results-dir", str(results), "--expected", str(expected))
    assert outcome.exit_code == 2
    message = " ".join(outcome.output.split())
    assert sampled.name in message and "rerun without --max-queries/--corpus-sample" in message
    assert not expected.exists()


def test_update_ignores_a_sampled_result_beside_a_full_one(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    save_sampled(results, "en", 0.9)
    outcome = gate_cli("--update", "--suite", "demo", "--results-dir", str(results), "--expected", str(expected))
    assert outcome.exit_code == 0, outcome.output
    assert sorted(path.name for path in (expected / "demo").iterdir()) == ["bm25.yaml"]
    written = yaml.safe_load((expected / "demo" / "bm25.yaml").read_text())
    assert {r["language"]: r["metrics"]["ndcg@10"] for r in written["results"]} == {"de": 0.4, "en": 0.6}


def test_gate_prints_only_the_checks_that_are_not_ok(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    rerun(results, "en", 0.6 + 0.0012)
    outcome = gate_cli("--results-dir", str(results), "--expected", str(expected))
    assert "demo/en" in outcome.output and "OKISH" in outcome.output
    assert "demo/de" not in outcome.output
    assert "gate passed: 2 checks: 1 OK, 1 OKISH" in outcome.output


def test_gate_verbose_prints_every_check(recorded: tuple[Path, Path]) -> None:
    results, expected = recorded
    outcome = gate_cli("--results-dir", str(results), "--expected", str(expected), "-v")
    assert "demo/de" in outcome.output and "demo/en" in outcome.output
