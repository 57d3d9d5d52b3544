"""Which numbers each chart of a suite shows: effectiveness against each cost, per-language bars,
sparsity-sweep curves. The drawing itself is `charts`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from statistics import fmean

from markupsafe import Markup

from harness.reporting import charts
from harness.reporting.leaderboard import ModelRow, SuiteBoard


@dataclass(frozen=True)
class Figure:
    svg: Markup
    caption: str


def _effectiveness(row: ModelRow) -> tuple[float, bool] | None:
    """The row's average, or the mean of the columns it has (flagged partial) when some are missing."""
    if row.average is not None:
        return row.average, False
    values = [v for v in row.scores.values() if v is not None]
    return (fmean(values), True) if values else None


def _cost_scatter(
    board: SuiteBoard, cost: Callable[[ModelRow], float | None], x_label: str, unit: str, colors: dict[str, str]
) -> Markup | None:
    points = []
    for row in board.rows:
        effectiveness = _effectiveness(row)
        value = cost(row)
        if effectiveness is None or value is None or value <= 0:
            continue
        score, partial = effectiveness
        label = row.model + (" (partial)" if partial else "")
        scope = " over the languages it has" if partial else ""
        tooltip = f"{row.model}: {board.metric} {score:.4f}{scope}; {value:.4g} {unit}"
        if row.components:
            tooltip += f" (fused from {', '.join(row.components)}: their cost summed)"
        points.append(charts.Point(value, score, label, row.model, tooltip))
    if not points:
        return None
    return charts.scatter(
        points, title=f"{board.metric} vs {x_label}", x_label=f"{x_label} ({unit})", y_label=board.metric, colors=colors
    )


def suite_figures(board: SuiteBoard) -> list[Figure]:
    colors = charts.color_map([row.model for row in board.rows])
    figures = []
    trade_offs = (
        (lambda r: r.cost.latency_p50_ms, "search latency p50", "ms", "lower latency is better"),
        (lambda r: r.cost.index_size_bytes / 2**20, "index size", "MiB", "summed over the suite's indexes"),
        (
            lambda r: r.cost.emissions_kg * 1000 if r.cost.emissions_kg is not None else None,
            "emissions",
            "g CO₂eq",
            "CodeCarbon estimate for the whole run",
        ),
    )
    for cost, name, unit, note in trade_offs:
        svg = _cost_scatter(board, cost, name, unit, colors)
        if svg is not None:
            figures.append(
                Figure(svg, f"Average {board.metric} against {name} ({note}); filled points are on the Pareto front.")
            )
    if board.columns and board.rows:
        series = {row.model: [row.scores.get(column) for column in board.columns] for row in board.rows}
        figures.append(
            Figure(
                charts.grouped_bars(
                    [c.label for c in board.columns],
                    series,
                    title=f"{board.metric} per language",
                    y_label=board.metric,
                    colors=colors,
                ),
                f"{board.metric} of every model on every dataset and language of the suite.",
            )
        )
    return figures


def sweep_figures(board: SuiteBoard) -> list[Figure]:
    figures = []
    for group in board.sweeps:
        lines = group.series()
        colors = charts.color_map(list(lines))
        effectiveness = {
            name: [
                charts.Point(p.sweep.avg_active_terms_per_document, p.score, p.sweep.label, name)
                for p in points
                if p.score is not None and p.sweep.avg_active_terms_per_document is not None
            ]
            for name, points in lines.items()
        }
        latency = {
            name: [
                charts.Point(p.index_size_bytes / 2**20, p.latency_p50_ms, p.sweep.label, name)
                for p in points
                if p.latency_p50_ms is not None and p.index_size_bytes > 0
            ]
            for name, points in lines.items()
        }
        effectiveness = {name: points for name, points in effectiveness.items() if points}
        latency = {name: points for name, points in latency.items() if points}
        if effectiveness:
            figures.append(
                Figure(
                    charts.lines(
                        effectiveness,
                        title=f"{group.name}: {board.metric} vs active terms",
                        x_label="avg active terms per document",
                        y_label=board.metric,
                        colors=colors,
                    ),
                    f"Sweep {group.name}: effectiveness as documents are pruned to fewer active terms.",
                )
            )
        if latency:
            figures.append(
                Figure(
                    charts.lines(
                        latency,
                        title=f"{group.name}: latency vs index size",
                        x_label="index size (MiB)",
                        y_label="search latency p50 (ms)",
                        colors=colors,
                    ),
                    f"Sweep {group.name}: what pruning buys in index size and search latency.",
                )
            )
    return figures
