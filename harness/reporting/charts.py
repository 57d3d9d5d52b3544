"""Charts as inline SVG, drawn here so the report needs no plotting library and no network to view.

Every text that reaches the SVG (model names, labels, tooltips) is escaped; the functions return
`Markup` so templates insert the finished SVG as is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C6D1F", "#000000")

WIDTH, HEIGHT = 440, 290
LEFT, RIGHT, TOP, BOTTOM = 62, 18, 30, 52
LEGEND_ROW = 15


def color_map(names: Sequence[str]) -> dict[str, str]:
    """A stable colour per name, in the order given."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(dict.fromkeys(names))}


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    series: str
    tooltip: str = ""


def pareto_front(points: Sequence[Point]) -> list[Point]:
    """Points no other point beats on both axes (lower x is cheaper, higher y is better), by x."""
    front = []
    for point in points:
        dominated = any(
            other.x <= point.x and other.y >= point.y and (other.x < point.x or other.y > point.y) for other in points
        )
        if not dominated:
            front.append(point)
    return sorted(front, key=lambda p: (p.x, -p.y))


def _nice_step(span: float, target: int = 5) -> float:
    raw = span / max(target, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _linear_ticks(low: float, high: float) -> tuple[float, float, list[float]]:
    if math.isclose(low, high):
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = _nice_step(high - low)
    start = math.floor(low / step) * step
    end = math.ceil(high / step) * step
    count = round((end - start) / step)
    return start, end, [round(start + i * step, 12) for i in range(count + 1)]


def _log_ticks(low: float, high: float) -> tuple[float, float, list[float]]:
    first = math.floor(math.log10(low))
    last = math.ceil(math.log10(high))
    if last == first:
        last += 1
    multipliers = (1, 2, 5) if last - first <= 2 else (1,)
    ticks = [m * 10**e for e in range(first, last + 1) for m in multipliers if m * 10**e <= 10**last]
    return 10.0**first, 10.0**last, ticks


def _format_tick(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e6 or magnitude < 1e-3:
        return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-")
    if magnitude >= 100:
        return f"{value:,.0f}"
    return f"{value:g}"


@dataclass(frozen=True)
class Axis:
    low: float
    high: float
    ticks: list[float]
    log: bool
    start: float  # pixel of `low`
    end: float  # pixel of `high`
    format: Callable[[float], str] = _format_tick

    @classmethod
    def fit(
        cls, values: Sequence[float], start: float, end: float, log: bool | None = None, zero: bool = False
    ) -> Axis:
        positive = [v for v in values if v > 0]
        use_log = (
            bool(positive)
            and len(positive) == len(values)
            and (log if log is not None else max(positive) / min(positive) > 20)
        )
        if use_log:
            low, high, ticks = _log_ticks(min(positive), max(positive))
        else:
            low, high, ticks = _linear_ticks(min([*values, 0.0] if zero else values), max(values))
        return cls(low, high, ticks, use_log, start, end)

    def __call__(self, value: float) -> float:
        if self.log:
            fraction = (math.log10(value) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))
        else:
            fraction = (value - self.low) / (self.high - self.low)
        return self.start + fraction * (self.end - self.start)


def _svg(title: str, description: str, body: list[str], legend: Sequence[str]) -> Markup:
    """The finished chart: the plot, then the legend in rows below it."""
    height = HEIGHT + LEGEND_ROW * len(legend)
    rows = [f'<g transform="translate(0 {HEIGHT + LEGEND_ROW * i})">{row}</g>' for i, row in enumerate(legend)]
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img"><title>{escape(title)}</title>'
        f"<desc>{escape(description)}</desc>"
        f'<text class="chart-title" x="{LEFT}" y="18">{escape(title)}</text>' + "".join(body) + "".join(rows) + "</svg>"
    )


def _axes(x: Axis, y: Axis, x_label: str, y_label: str) -> list[str]:
    parts = []
    for tick in y.ticks:
        py = y(tick)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.1f}" y2="{py:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{py + 3.5:.1f}" text-anchor="end">{y.format(tick)}</text>')
    for tick in x.ticks:
        px = x(tick)
        parts.append(f'<line class="grid" x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>')
        parts.append(
            f'<text class="tick" x="{px:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{x.format(tick)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>'
    )
    log_note = " (log scale)" if x.log else ""
    if x_label:
        parts.append(
            f'<text class="axis-label" x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - BOTTOM + 32}" '
            f'text-anchor="middle">{escape(x_label)}{log_note}</text>'
        )
    parts.append(
        f'<text class="axis-label" transform="translate(14 {(TOP + HEIGHT - BOTTOM) / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    return parts


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _legend(names: Sequence[str], colors: Mapping[str, str]) -> list[str]:
    """Swatches and names in rows that fit the chart's width (one SVG fragment per row)."""
    rows: list[str] = []
    row, x = "", float(LEFT)
    for name in names:
        label = _short(name, 24)
        width = 12 + 6.2 * len(label) + 14
        if row and x + width > WIDTH - RIGHT:
            rows.append(row)
            row, x = "", float(LEFT)
        row += (
            f'<rect x="{x:.1f}" y="-2" width="9" height="9" fill="{colors.get(name, PALETTE[0])}"/>'
            f'<text class="legend" x="{x + 12:.1f}" y="6">{escape(label)}</text>'
        )
        x += width
    return [*rows, row] if row else rows


def scatter(
    points: Sequence[Point],
    *,
    title: str,
    x_label: str,
    y_label: str,
    colors: Mapping[str, str],
) -> Markup:
    """Effectiveness against a cost: each point labelled, the Pareto front drawn and its points filled."""
    x = Axis.fit([p.x for p in points], LEFT + 8, WIDTH - RIGHT - 8)
    y = Axis.fit([p.y for p in points], HEIGHT - BOTTOM - 6, TOP + 6)
    body = _axes(x, y, x_label, y_label)
    front = pareto_front(points)
    if len(front) > 1:
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(p.x):.1f},{y(p.y):.1f}" for i, p in enumerate(front))
        body.append(f'<path class="pareto" d="{path}"/>')
    on_front = {id(p) for p in front}
    for point in points:
        px, py = x(point.x), y(point.y)
        color = colors.get(point.series, PALETTE[0])
        best = id(point) in on_front
        tooltip = point.tooltip or f"{point.label}: {point.y:.4f} at {_format_tick(point.x)}"
        body.append(
            f'<circle class="point{" front" if best else ""}" cx="{px:.1f}" cy="{py:.1f}" r="5" '
            f'fill="{color if best else "#fff"}" stroke="{color}"><title>{escape(tooltip)}</title></circle>'
        )
        anchor, dx = ("end", -8) if px > WIDTH * 0.7 else ("start", 8)
        body.append(
            f'<text class="point-label" x="{px + dx:.1f}" y="{py - 7:.1f}" text-anchor="{anchor}">'
            f"{escape(_short(point.label))}</text>"
        )
    legend = [
        '<circle cx="66" cy="2" r="4" fill="#555" stroke="#555"/><text class="legend" x="74" y="6">on the Pareto front '
        '(not beaten on both axes)</text><circle cx="342" cy="2" r="4" fill="#fff" stroke="#555"/>'
        '<text class="legend" x="350" y="6">dominated</text>'
    ]
    return _svg(title, f"{y_label} against {x_label}; the dashed line is the Pareto front.", body, legend)


def grouped_bars(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    y_label: str,
    colors: Mapping[str, str],
) -> Markup:
    """One group of bars per category (e.g. language), one bar per series (e.g. model)."""
    values = [v for vs in series.values() for v in vs if v is not None]
    y = Axis.fit([*values, 0.0], HEIGHT - BOTTOM, TOP + 6, log=False, zero=True)
    body = _axes(Axis(0, 1, [], False, LEFT, WIDTH - RIGHT), y, "", y_label)
    group_width = (WIDTH - RIGHT - LEFT) / max(len(categories), 1)
    bar_width = max(min(group_width * 0.8 / max(len(series), 1), 26), 1.5)
    for c_index, category in enumerate(categories):
        group_left = LEFT + c_index * group_width + (group_width - bar_width * len(series)) / 2
        for s_index, (name, scores) in enumerate(series.items()):
            value = scores[c_index]
            if value is None:
                continue
            top = y(value)
            body.append(
                f'<rect class="bar" x="{group_left + s_index * bar_width:.1f}" y="{top:.1f}" '
                f'width="{bar_width - 1:.1f}" height="{max(y(0.0) - top, 0):.1f}" '
                f'fill="{colors.get(name, PALETTE[0])}"><title>{escape(name)} · {escape(category)}: {value:.4f}</title>'
                "</rect>"
            )
        body.append(
            f'<text class="tick" x="{LEFT + (c_index + 0.5) * group_width:.1f}" y="{HEIGHT - BOTTOM + 14}" '
            f'text-anchor="middle">{escape(_short(category, max(int(group_width / 6), 3)))}</text>'
        )
    return _svg(title, f"{y_label} per category, one bar per model.", body, _legend(list(series), colors))


def lines(
    series: Mapping[str, Sequence[Point]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    colors: Mapping[str, str],
) -> Markup:
    """One polyline per series through its points sorted by x (e.g. a sparsity sweep)."""
    every = [p for points in series.values() for p in points]
    x = Axis.fit([p.x for p in every], LEFT + 8, WIDTH - RIGHT - 8)
    y = Axis.fit([p.y for p in every], HEIGHT - BOTTOM - 6, TOP + 6)
    body = _axes(x, y, x_label, y_label)
    for name, points in series.items():
        color = colors.get(name, PALETTE[0])
        ordered = sorted(points, key=lambda p: p.x)
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(p.x):.1f},{y(p.y):.1f}" for i, p in enumerate(ordered))
        body.append(f'<path class="series" d="{path}" stroke="{color}"/>')
        for point in ordered:
            tooltip = point.tooltip or f"{name} · {point.label}: {point.y:.4g} at {_format_tick(point.x)}"
            body.append(
                f'<circle class="point" cx="{x(point.x):.1f}" cy="{y(point.y):.1f}" r="3.5" fill="{color}">'
                f"<title>{escape(tooltip)}</title></circle>"
            )
    return _svg(title, f"{y_label} against {x_label}, one line per series.", body, _legend(list(series), colors))
