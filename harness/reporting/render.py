"""Render leaderboards to a self-contained HTML page (no network needed to view it), Markdown and LaTeX.

HTML is autoescaped by jinja2; Markdown and LaTeX templates escape every value from data or cards
through the `md` and `tex` filters. The page's one script is allowed by its hash in a Content
Security Policy, so nothing injected could run even if escaping were ever missed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from harness import __version__
from harness.catalog.suites import find_suites
from harness.core.files import atomic_write_text
from harness.core.languages import language_name
from harness.data import LanguagePair
from harness.record import ResultRecord
from harness.reporting.figures import Figure, suite_figures, sweep_figures
from harness.reporting.leaderboard import SuiteBoard, build_boards
from harness.results import hardware_label, latest, result_id, sweep_of
from harness.results.compare import TESTS, Comparison

FORMATS = {"html": "index.html", "md": "leaderboard.md", "tex": "leaderboard.tex"}


def human_bytes(value: float | None) -> str:
    if value is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def number(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 4) -> str:
    """A difference with its sign; `±0.0000` when it rounds to zero at `digits`."""
    if value is None:
        return "–"
    text = f"{value:+.{digits}f}"
    return "±" + text[1:] if float(text) == 0 else text


def rate(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def scientific(value: float | None) -> str:
    return "–" if value is None else f"{value:.2e}"


def p_value(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def sortable(value: float | None) -> str:
    """A `data-sort` value: the number, or empty so missing values sort last."""
    return "" if value is None else repr(float(value))


_MARKDOWN_ESCAPES = str.maketrans(
    {"\\": "\\\\", "|": "\\|", "\n": " ", "\r": " ", "<": "&lt;", ">": "&gt;", "[": "\\[", "]": "\\]"}
)


def markdown_cell(text: object) -> str:
    """Keep data from becoming Markdown structure: escape pipes, flatten newlines, neutralise HTML
    and autolinks (`<...>`), and links, images and link definitions (`[x](javascript:...)`, `![x](...)`)."""
    return str(text).translate(_MARKDOWN_ESCAPES)


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "\n": " ",
}


def latex_text(text: object) -> str:
    """Text safe inside a LaTeX table cell: every special character escaped."""
    return "".join(_LATEX_SPECIALS.get(char, char) for char in str(text))


def language_pair_name(label: str) -> str:
    """`de-en` -> "German queries, English documents"; `de` -> "German"."""
    try:
        pair = LanguagePair.parse(label)
    except ValueError:
        return label
    if not pair.is_cross_lingual:
        return language_name(pair.query)
    return f"{language_name(pair.query)} queries, {language_name(pair.document)} documents"


def heat(value: float, low: float, high: float) -> str:
    """A background from white (worst in the matrix) to blue (best), for the cross-lingual matrix."""
    fraction = 1.0 if high <= low else (value - low) / (high - low)
    lightness = 97 - 32 * fraction
    return f"hsl(216, 80%, {lightness:.0f}%)"


def sweep_label(record: ResultRecord) -> str:
    sweep = sweep_of(record)
    return f"{sweep.group} ({sweep.label})" if sweep else ""


def template_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("harness.reporting", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        bytes=human_bytes,
        number=number,
        signed=signed,
        rate=rate,
        sci=scientific,
        sortable=sortable,
        md=markdown_cell,
        tex=latex_text,
        heat=heat,
        language_name=language_name,
        language_pair_name=language_pair_name,
        result_id=result_id,
        sweep_label=sweep_label,
        hardware=hardware_label,
        p_value=p_value,
    )
    return env


def inline_asset(name: str) -> str:
    return files("harness.reporting").joinpath("templates", name).read_text(encoding="utf-8")


def script_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script."""
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


@dataclass(frozen=True)
class Section:
    """A suite's board with what only the page shows: charts, every metric, every result's provenance."""

    board: SuiteBoard
    figures: list[Figure]
    sweep_figures: list[Figure]
    metrics: list[str]
    provenance: list[ResultRecord]


def _sections(boards: Sequence[SuiteBoard], records: Sequence[ResultRecord]) -> list[Section]:
    sections = []
    for board in boards:
        mine = [r for r in records if r.suite == board.suite]
        metrics = list(dict.fromkeys(m for r in board.results for m in r.metrics))
        provenance = sorted(mine, key=lambda r: (r.display_name, r.dataset, r.language, sweep_label(r)))
        sections.append(Section(board, suite_figures(board), sweep_figures(board), metrics, provenance))
    return sections


def render_reports(
    results: list[ResultRecord],
    out_dir: Path,
    formats: Iterable[str] = tuple(FORMATS),
    title: str | None = None,
    suites_dirs: Sequence[Path] = (),
) -> list[Path]:
    """Write the leaderboard in each of `formats` (html, md, tex) into `out_dir`; returns the paths.

    Each suite's YAML (bundled or in `suites_dirs`) is read once, for the averages it declares."""
    records = latest(results)
    boards = build_boards(records, find_suites({r.suite for r in records}, suites_dirs))
    context = {
        **_page_context(),
        "title": title or "Retrieval leaderboard",
        "sections": _sections(boards, records),
        "n_results": len(records),
    }
    env = template_environment()
    written = []
    for name in formats:
        path = out_dir / FORMATS[name]
        atomic_write_text(path, env.get_template(f"leaderboard.{name}.j2").render(**context))
        written.append(path)
    return written


def _page_context() -> dict[str, Any]:
    """What every page shares: when and by what it was made, its inline style and its one script."""
    script = inline_asset("report.js")
    return {
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "css": Markup(inline_asset("report.css")),
        "script": Markup(script),
        "script_hash": script_hash(script),
    }


COMPARISON_FORMATS = {
    "md": "comparison.md",
    "html": "comparison.html",
    "tex": "comparison.tex",
    "json": "comparison.json",
}


def comparison_dict(comparison: Comparison) -> dict[str, Any]:
    """The comparison as plain data (what `comparison.json` holds)."""
    return {
        "baseline": comparison.baseline,
        "models": comparison.models,
        "metrics": comparison.metrics,
        "alpha": comparison.alpha,
        "correction": "holm-bonferroni across the compared datasets/languages, per model, metric and test",
        "tests": {name: TESTS[name] for name in comparison.tests},
        "marks": comparison.mark_test,
        "permutations": comparison.permutations,
        "seed": comparison.seed,
        "units": [asdict(unit) for unit in comparison.units],
        "results": [
            {
                **asdict(item.unit),
                "metric": item.metric,
                "model": item.model,
                "baseline_score": item.baseline_score,
                "score": item.score,
                "delta": item.delta,
                "mark": item.mark(comparison.mark_test),
                "num_queries": item.num_queries,
                "wins": item.wins,
                "ties": item.ties,
                "losses": item.losses,
                "tests": {name: asdict(outcome) for name, outcome in item.tests.items()},
            }
            for item in comparison.results
        ],
        "skipped": [{**asdict(unit), "missing": missing} for unit, missing in comparison.skipped],
    }


def render_comparison(
    comparison: Comparison, out_dir: Path, formats: Iterable[str] = tuple(COMPARISON_FORMATS)
) -> list[Path]:
    """Write the comparison in each of `formats` (md, html, tex, json) into `out_dir`; returns the paths."""
    context = {**_page_context(), "c": comparison, "test_names": TESTS}
    env = template_environment()
    written = []
    for name in formats:
        path = out_dir / COMPARISON_FORMATS[name]
        if name == "json":
            text = json.dumps(comparison_dict(comparison), indent=1, ensure_ascii=False) + "\n"
        else:
            text = env.get_template(f"comparison.{name}.j2").render(**context)
        atomic_write_text(path, text)
        written.append(path)
    return written
