"""Report: leaderboards, charts and provenance pages rendered from recorded results (HTML, Markdown, LaTeX).

May import: core, data, evaluation, catalog, record, results.
"""

from harness.reporting.leaderboard import Column, ModelRow, SuiteBoard, build_boards
from harness.reporting.render import render_reports

__all__ = ["Column", "ModelRow", "SuiteBoard", "build_boards", "render_reports"]
