"""The server-drawn charts: what each mark means is in the SVG, and the same numbers are in
a table a keyboard, a screen reader or a printer can read."""

from __future__ import annotations

import re
from datetime import date
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from app.web.chart_scale import DayScale, Linear, nice_step, short_number, spread, ticks
from app.web.charts import LARGE, ChartSpec, ForecastRange, Milestone, Point, render_chart


def _months(values: list[float | None], *, partial_last: bool = False) -> tuple[Point, ...]:
    points = []
    for index, value in enumerate(values):
        start = date(2026, index + 1, 1)
        end = date(2026, index + 2, 1) if index < 11 else date(2027, 1, 1)
        partial = partial_last and index == len(values) - 1
        points.append(Point(start, end, value, partial, 40, None if value else "before_history"))
    return tuple(points)


def _svg(html: str) -> Element:
    match = re.search(r"<svg.*?</svg>", html, re.DOTALL)
    assert match
    return ElementTree.fromstring(match[0])


SPEC = ChartSpec(
    title="Respond within SLA: SLA response met per month",
    unit="percent",
    grain="month",
    points=_months([None, 80.0, 82.0, 79.5, 81.0, 60.0], partial_last=True),
    summary="Off track: May 2026 was 81.0 %.",
    target=95.0,
    plan=((date(2026, 2, 1), 70.0), (date(2026, 12, 31), 95.0)),
    milestones=(Milestone(date(2026, 4, 30), 85.0, "missed", "Spring"),),
    forecast=ForecastRange(date(2026, 5, 16), 81.0, date(2026, 12, 31), 70.0, 78.0, 86.0),
    until=date(2026, 12, 31),
    floor=0.0,
    ceiling=100.0,
)


def test_a_chart_draws_every_mark_with_words_for_each() -> None:
    html = render_chart(SPEC)
    svg = _svg(html)
    tag = svg.iter  # inline SVG in HTML: no namespace

    titles = [t.text or "" for t in tag("title")]
    assert titles[0] == SPEC.title and svg.get("role") == "img"
    assert "Target 95.0 %" in titles
    assert any("Forecast for 2026-12-31: 70.0 % to 86.0 %" in t for t in titles)
    assert any(t.startswith("Milestone Spring: 85.0 % by 2026-04-30, missed") for t in titles)
    assert "June 2026: 60.0 % so far, n = 40" in titles  # the partial period, in words
    hollow = [c for c in tag("circle") if c.get("fill") == "#ffffff"]
    assert len(hollow) == 1  # only the period still running is drawn hollow
    assert any(line.get("stroke-dasharray") == "4 3" for line in tag("line"))
    assert any("expected" in (p.findtext("title") or "") for p in tag("polyline"))
    labels = [t.text for t in tag("text")]
    assert "due 2026-12-31" in labels and "80 %" in labels
    assert " style=" not in html and "<script" not in html


def test_a_chart_has_its_values_as_a_table_and_a_legend() -> None:
    html = render_chart(SPEC)

    assert "<details class='values'><summary>Values as a table</summary>" in html
    assert "<td>May 2026</td><td>81.0 %</td><td>40</td><td></td>" in html
    assert "<td>June 2026</td><td>60.0 %</td><td>40</td><td>so far (period not over)</td>" in html
    assert "<td>January 2026</td><td>—</td><td>40</td><td>before the history held</td>" in html
    for words in ("target", "the plan's expected line", "milestone", "forecast range"):
        assert f"</span>{words}</li>" in html


def test_a_large_chart_is_drawn_wide_and_narrow_for_the_screen_to_choose() -> None:
    html = render_chart(SPEC, LARGE, chart_id="big")

    assert html.count("<svg ") == 2
    assert "class='wide' viewBox='0 0 820 340'" in html
    assert "class='narrow' viewBox='0 0 400 190'" in html
    assert "id='big-title'" in html and "id='big-narrow-title'" in html


def test_a_chart_without_values_says_so() -> None:
    empty = ChartSpec(title="Pulse", unit="score", grain="month", points=_months([None, None]))

    assert "No values to draw yet for Pulse." in render_chart(empty)


def test_scales_and_ticks_are_round_and_in_range() -> None:
    assert nice_step(100, 4) == 25
    assert nice_step(0.3, 4) == 0.1
    assert ticks(61.3, 97.2) == [70.0, 80.0, 90.0]
    assert Linear(0, 100, 200, 10)(50) == 105
    assert DayScale(date(2026, 1, 1), date(2026, 1, 11), 0, 100)(date(2026, 1, 6)) == 50
    assert short_number(1_250_000, "currency") == "$1.25M"
    assert short_number(80, "percent") == "80 %"
    assert spread(24, 6) == [3, 7, 11, 15, 19, 23]
