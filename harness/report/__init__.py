"""Report: leaderboards from recorded results."""

from harness.report.leaderboard import Column, ModelRow, SuiteBoard, build_boards
from harness.report.render import render_reports

__all__ = ["Column", "ModelRow", "SuiteBoard", "build_boards", "render_reports"]
