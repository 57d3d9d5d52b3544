"""Inline SVG charts: the Pareto front, axes that fit the data, and escaped labels."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from harness.reporting.charts import Axis, Point, color_map, grouped_bars, lines, pareto_front, scatter


def point(x: float, y: float, name: str) -> Point:
    return Point(x, y, name, name)


def test_pareto_front_keeps_models_no_other_beats_on_both_cost_and_effectiveness() -> None:
    cheap_weak = point(1, 0.3, "cheap-weak")
    middle = point(5, 0.6, "middle")
    dominated = point(6, 0.5, "dominated")  # middle is cheaper and better
    costly_strong = point(50, 0.7, "costly-strong")
    tie_but_costlier = point(60, 0.7, "tie-but-costlier")
    front = pareto_front([costly_strong, dominated, middle, cheap_weak, tie_but_costlier])
    assert [p.label for p in front] == ["cheap-weak", "middle", "costly-strong"]


def test_a_lone_point_is_its_own_front() -> None:
    only = point(3, 0.5, "only")
    assert pareto_front([only]) == [only]


def test_axis_switches_to_log_scale_when_values_span_orders_of_magnitude() -> None:
    axis = Axis.fit([0.05, 12.0], 0, 100)
    assert axis.log and axis.low == pytest.approx(0.01) and axis.high == pytest.approx(100)
    assert axis(0.01) == pytest.approx(0) and axis(100) == pytest.approx(100)
    assert axis(1.0) == pytest.approx(50)


def test_linear_axis_covers_the_data_with_round_ticks() -> None:
    axis = Axis.fit([0.43, 0.97], 0, 100)
    assert not axis.log
    assert axis.low <= 0.43 and axis.high >= 0.97
    assert axis.ticks == [0.4, 0.6, 0.8, 1.0]


def test_scatter_is_valid_svg_with_front_points_filled() -> None:
    colors = color_map(["a", "b"])
    svg = scatter([point(1, 0.9, "a"), point(2, 0.5, "b")], title="t", x_label="ms", y_label="ndcg", colors=colors)
    root = ET.fromstring(str(svg))
    circles = [c for c in root.iter("{http://www.w3.org/2000/svg}circle") if "point" in c.get("class", "")]
    fills = {c.get("class"): c.get("fill") for c in circles}
    assert fills == {"point front": colors["a"], "point": "#fff"}


def test_chart_text_is_escaped_and_the_svg_still_parses() -> None:
    hostile = '<script>x</script>&"'
    svg = str(
        grouped_bars(["en", hostile], {hostile: [0.5, 0.6]}, title=hostile, y_label="ndcg", colors=color_map([hostile]))
    )
    assert "<script>" not in svg
    ET.fromstring(svg)  # well-formed: nothing escaped the markup


def test_bars_leave_out_missing_values() -> None:
    svg = str(grouped_bars(["en", "de"], {"m": [0.5, None]}, title="t", y_label="y", colors=color_map(["m"])))
    assert len(re.findall(r'<rect class="bar"', svg)) == 1


def test_lines_draw_one_path_per_series_through_sorted_points() -> None:
    series = {"en": [point(40, 0.6, "en"), point(10, 0.5, "en")], "de": [point(20, 0.4, "de")]}
    svg = str(lines(series, title="t", x_label="terms", y_label="ndcg", colors=color_map(series)))
    paths = re.findall(r'<path class="series" d="([^"]+)"', svg)
    assert len(paths) == 2
    xs = [float(x) for x in re.findall(r"[ML]([0-9.]+),", paths[0])]
    assert xs == sorted(xs)
