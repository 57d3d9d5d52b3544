"""Render leaderboards to Markdown and a self-contained HTML page (no network needed to view it)."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from harness import __version__
from harness.languages import language_name
from harness.record import ResultRecord
from harness.report.leaderboard import SuiteBoard, build_boards


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


def rate(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def scientific(value: float | None) -> str:
    return "–" if value is None else f"{value:.2e}"


def markdown_cell(text: object) -> str:
    """Keep data from breaking a Markdown table: escape pipes, flatten newlines, neutralise HTML."""
    return (
        str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")
    )


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        bytes=human_bytes, number=number, rate=rate, sci=scientific, md=markdown_cell, language_name=language_name
    )
    return env


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def render_reports(results: list[ResultRecord], out_dir: Path) -> list[Path]:
    """Write `leaderboard.md` and `index.html` into `out_dir`; returns their paths."""
    boards: list[SuiteBoard] = build_boards(results)
    context = {
        "boards": boards,
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "n_results": len(results),
    }
    env = _environment()
    written = []
    for template, name in (("leaderboard.md.j2", "leaderboard.md"), ("leaderboard.html.j2", "index.html")):
        path = out_dir / name
        _atomic_write_text(path, env.get_template(template).render(**context))
        written.append(path)
    return written
