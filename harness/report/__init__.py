"""Report: leaderboards, charts and provenance pages rendered from recorded results (HTML, Markdown, LaTeX).

May import: core, data, evaluate, catalog, record, results.
"""

from harness.report.leaderboard import Column, ModelRow, SuiteBoard, build_boards
from harness.report.render import render_reports

__all__ = ["Column", "ModelRow", "SuiteBoard", "build_boards", "render_reports"]
