"""Line charts drawn on the server as inline SVG: no script, no library, nothing fetched.

A chart shows a KPI per period (the period still running drawn hollow, joined by a dashed
line: it is a value "so far"), the target as a line or a band, the plan's expected line,
milestones as diamonds (filled when hit, crossed when missed), and the forecast range to the
due date as a shaded wedge. Colours are SVG presentation attributes, never `style` (the pages'
Content-Security-Policy allows no inline style). Every chart carries a <title> and a <desc>
for screen readers, and the same numbers as a table in a <details> below it, readable
without a mouse and in print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from html import escape

from app.goals.words import amount, period_label
from app.web.chart_scale import (
    DayScale,
    Linear,
    day_label,
    midpoint,
    short_number,
    spread,
    ticks,
    value_range,
)

SERIES = "#2a5db0"
TARGET = "#1b6e36"
BAND = "#d8f3dc"
PLAN = "#8a5a00"
FORECAST = "#c9d7f2"
GRID = "#e3e7ee"
INK = "#3a4252"
MILESTONE_COLOURS = {"hit": "#1b6e36", "missed": "#b3261e"}
NOTE_WORDS = {
    "before_history": "before the history held",
    "not_synced": "not synced yet",
}


@dataclass(frozen=True, slots=True)
class Point:
    start: date
    end: date  # the day after the period's last day
    value: float | None
    partial: bool = False
    sample: int = 0
    note: str | None = None  # why the value is missing: before_history, not_synced


@dataclass(frozen=True, slots=True)
class Milestone:
    day: date
    target: float | None
    status: str  # hit, missed, pending, no_data
    title: str


@dataclass(frozen=True, slots=True)
class ForecastRange:
    """The wedge from the last complete value to the range at the due date."""

    from_day: date
    from_value: float
    day: date
    low: float
    value: float
    high: float


@dataclass(frozen=True, slots=True)
class ChartSpec:
    title: str
    unit: str
    grain: str
    points: tuple[Point, ...]
    summary: str = ""
    target: float | None = None
    band: tuple[float, float] | None = None
    plan: tuple[tuple[date, float], ...] = ()
    milestones: tuple[Milestone, ...] = ()
    forecast: ForecastRange | None = None
    until: date | None = None  # draw the time axis to this day (the due date)
    floor: float | None = None
    ceiling: float | None = None
    extra_rows: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Size:
    width: int
    height: int
    left: int = 56
    right: int = 14
    top: int = 12
    bottom: int = 34
    labels: int = 6  # x labels at most


SMALL = Size(400, 190, labels=4)
LARGE = Size(820, 340, labels=8)


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _values_drawn(spec: ChartSpec) -> list[float]:
    values = [p.value for p in spec.points if p.value is not None]
    if spec.target is not None:
        values.append(spec.target)
    if spec.band is not None:
        values += list(spec.band)
    values += [m.target for m in spec.milestones if m.target is not None]
    if spec.forecast is not None:
        values += [spec.forecast.low, spec.forecast.high]
    values += [v for _, v in spec.plan]
    return values


def _scales(spec: ChartSpec, size: Size) -> tuple[DayScale, Linear]:
    first = spec.points[0].start
    last = max(spec.points[-1].end, spec.until or spec.points[-1].end)
    x = DayScale(first, last, size.left, size.width - size.right)
    low, high = value_range(_values_drawn(spec), floor=spec.floor, ceiling=spec.ceiling)
    y = Linear(low, high, size.height - size.bottom, size.top)
    return x, y


def _axes(spec: ChartSpec, size: Size, x: DayScale, y: Linear) -> str:
    parts = []
    right = size.width - size.right
    for value in ticks(y.low, y.high):
        ty = y(value)
        parts.append(
            f"<line x1='{size.left}' x2='{right}' y1='{_fmt(ty)}' y2='{_fmt(ty)}' "
            f"stroke='{GRID}'/><text x='{size.left - 6}' y='{_fmt(ty + 4)}' "
            f"text-anchor='end' font-size='11' fill='{INK}'>"
            f"{escape(short_number(value, spec.unit))}</text>"
        )
    base = size.height - size.bottom
    parts.append(
        f"<line x1='{size.left}' x2='{right}' y1='{base}' y2='{base}' stroke='{INK}'/>"
        f"<line x1='{size.left}' x2='{size.left}' y1='{size.top}' y2='{base}' stroke='{INK}'/>"
    )
    years = {p.start.year for p in spec.points}
    chosen = spread(len(spec.points), size.labels)
    for index in chosen:
        point = spec.points[index]
        with_year = len(years) > 1 and (index == chosen[0] or point.start.month == 1)
        label = day_label(point.start, spec.grain, with_year=with_year or index == chosen[-1])
        tx = x(midpoint(point.start, point.end))
        parts.append(
            f"<text x='{_fmt(tx)}' y='{base + 16}' text-anchor='middle' font-size='11' "
            f"fill='{INK}'>{escape(label)}</text>"
        )
    if spec.until is not None and spec.until > spec.points[-1].end:
        tx = x(spec.until)
        parts.append(
            f"<line x1='{_fmt(tx)}' x2='{_fmt(tx)}' y1='{size.top}' y2='{base}' stroke='{INK}' "
            f"stroke-dasharray='2 3'/><text x='{_fmt(tx)}' y='{base + 30}' text-anchor='end' "
            f"font-size='11' fill='{INK}'>due {spec.until.isoformat()}</text>"
        )
    return "".join(parts)


def _target(spec: ChartSpec, size: Size, x: DayScale, y: Linear) -> str:
    left, right = size.left, size.width - size.right
    if spec.band is not None:
        low, high = spec.band
        top, bottom = y(min(max(high, y.low), y.high)), y(min(max(low, y.low), y.high))
        return (
            f"<rect x='{left}' y='{_fmt(top)}' width='{right - left}' "
            f"height='{_fmt(max(0.0, bottom - top))}' fill='{BAND}' fill-opacity='0.8'>"
            f"<title>Target band {escape(amount(low, spec.unit))} to "
            f"{escape(amount(high, spec.unit))}</title></rect>"
        )
    if spec.target is None:
        return ""
    ty = y(spec.target)
    words = escape(amount(spec.target, spec.unit))
    return (
        f"<line x1='{left}' x2='{right}' y1='{_fmt(ty)}' y2='{_fmt(ty)}' stroke='{TARGET}' "
        f"stroke-width='2' stroke-dasharray='8 4'><title>Target {words}</title></line>"
        f"<text x='{right - 2}' y='{_fmt(ty - 4 if ty - 4 > size.top + 8 else ty + 13)}' "
        f"text-anchor='end' font-size='11' fill='{TARGET}'>target {words}</text>"
    )


def _plan(spec: ChartSpec, x: DayScale, y: Linear) -> str:
    nodes = [(d, v) for d, v in spec.plan if x.contains(d)]
    if len(nodes) < 2:
        return ""
    points = " ".join(f"{_fmt(x(d))},{_fmt(y(v))}" for d, v in nodes)
    return (
        f"<polyline fill='none' stroke='{PLAN}' stroke-width='1.5' stroke-dasharray='2 3' "
        f"points='{points}'><title>The plan's expected line</title></polyline>"
    )


def _forecast(spec: ChartSpec, x: DayScale, y: Linear) -> str:
    f = spec.forecast
    if f is None or not x.contains(f.day):
        return ""
    start = f"{_fmt(x(f.from_day))},{_fmt(y(f.from_value))}"
    end_x = _fmt(x(f.day))
    label = (
        f"Forecast for {f.day.isoformat()}: {amount(f.low, spec.unit)} to "
        f"{amount(f.high, spec.unit)}"
    )
    return (
        f"<polygon points='{start} {end_x},{_fmt(y(f.high))} {end_x},{_fmt(y(f.low))}' "
        f"fill='{FORECAST}' fill-opacity='0.85' stroke='{SERIES}' stroke-width='0.5'>"
        f"<title>{escape(label)}</title></polygon>"
        f"<line x1='{start.split(',')[0]}' y1='{start.split(',')[1]}' x2='{end_x}' "
        f"y2='{_fmt(y(f.value))}' stroke='{SERIES}' stroke-dasharray='4 3'/>"
    )


def _series(spec: ChartSpec, x: DayScale, y: Linear) -> str:
    """Solid line through complete periods; dashed to a partial one, drawn hollow."""
    parts = []
    run: list[str] = []
    previous: tuple[float, float] | None = None
    for point in spec.points:
        if point.value is None:
            if len(run) > 1:
                parts.append(_polyline(run))
            run, previous = [], None
            continue
        px, py = x(midpoint(point.start, point.end)), y(point.value)
        if point.partial:
            if previous is not None:
                parts.append(
                    f"<line x1='{_fmt(previous[0])}' y1='{_fmt(previous[1])}' x2='{_fmt(px)}' "
                    f"y2='{_fmt(py)}' stroke='{SERIES}' stroke-width='2' "
                    "stroke-dasharray='4 3'/>"
                )
        else:
            run.append(f"{_fmt(px)},{_fmt(py)}")
        previous = (px, py)
    if len(run) > 1:
        parts.append(_polyline(run))
    for point in spec.points:
        if point.value is None:
            continue
        px, py = x(midpoint(point.start, point.end)), y(point.value)
        fill = "#ffffff" if point.partial else SERIES
        words = _point_words(point, spec)
        parts.append(
            f"<circle cx='{_fmt(px)}' cy='{_fmt(py)}' r='3.5' fill='{fill}' stroke='{SERIES}' "
            f"stroke-width='2'><title>{escape(words)}</title></circle>"
        )
    return "".join(parts)


def _polyline(run: list[str]) -> str:
    return f"<polyline fill='none' stroke='{SERIES}' stroke-width='2' points='{' '.join(run)}'/>"


def _milestones(spec: ChartSpec, x: DayScale, y: Linear) -> str:
    parts = []
    for milestone in spec.milestones:
        if milestone.target is None or not x.contains(milestone.day):
            continue
        mx, my = x(milestone.day), y(milestone.target)
        colour = MILESTONE_COLOURS.get(milestone.status, INK)
        fill = colour if milestone.status == "hit" else "#ffffff"
        words = (
            f"Milestone {milestone.title}: {amount(milestone.target, spec.unit)} by "
            f"{milestone.day.isoformat()}, {milestone.status}"
        )
        diamond = f"{_fmt(mx)},{_fmt(my - 6)} {_fmt(mx + 6)},{_fmt(my)} " + (
            f"{_fmt(mx)},{_fmt(my + 6)} {_fmt(mx - 6)},{_fmt(my)}"
        )
        cross = (
            f"<path d='M{_fmt(mx - 3)} {_fmt(my - 3)}L{_fmt(mx + 3)} {_fmt(my + 3)}M{_fmt(mx + 3)} "
            f"{_fmt(my - 3)}L{_fmt(mx - 3)} {_fmt(my + 3)}' stroke='{colour}' stroke-width='1.5'/>"
            if milestone.status == "missed"
            else ""
        )
        parts.append(
            f"<g><polygon points='{diamond}' fill='{fill}' stroke='{colour}' stroke-width='2'/>"
            f"{cross}<title>{escape(words)}</title></g>"
        )
    return "".join(parts)


def _point_words(point: Point, spec: ChartSpec) -> str:
    label = period_label(point.start, date.fromordinal(point.end.toordinal() - 1), spec.grain)
    if point.value is None:
        return f"{label}: no value ({NOTE_WORDS.get(point.note or '', 'nothing measured')})"
    so_far = " so far" if point.partial else ""
    sample = f", n = {point.sample:,}" if point.sample else ""
    return f"{label}: {amount(point.value, spec.unit)}{so_far}{sample}"


def value_table(spec: ChartSpec) -> str:
    """The chart's numbers as a table (inside a <details>): what a screen reader, a
    keyboard or a printer reads instead of the lines."""
    rows = []
    for point in spec.points:
        label = period_label(point.start, date.fromordinal(point.end.toordinal() - 1), spec.grain)
        if point.value is None:
            note = NOTE_WORDS.get(point.note or "", "nothing measured")
        else:
            note = "so far (period not over)" if point.partial else ""
        sample = f"{point.sample:,}" if point.sample else ""
        rows.append(
            f"<tr><td>{escape(label)}</td><td>{escape(amount(point.value, spec.unit))}</td>"
            f"<td>{sample}</td><td>{escape(note)}</td></tr>"
        )
    extra = "".join(
        f"<tr><td>{escape(name)}</td><td colspan='3'>{escape(words)}</td></tr>"
        for name, words in spec.extra_rows
    )
    return (
        "<details class='values'><summary>Values as a table</summary>"
        "<table><thead><tr><th scope='col'>Period</th><th scope='col'>Value</th>"
        "<th scope='col'>Sample</th><th scope='col'>Note</th></tr></thead>"
        f"<tbody>{''.join(rows)}{extra}</tbody></table></details>"
    )


def legend(spec: ChartSpec) -> str:
    items = ["<li><span class='key series'></span>the KPI per period</li>"]
    if any(p.partial and p.value is not None for p in spec.points):
        items.append("<li><span class='key partial'></span>so far (period not over)</li>")
    if spec.band is not None:
        items.append("<li><span class='key band'></span>target band</li>")
    elif spec.target is not None:
        items.append("<li><span class='key target'></span>target</li>")
    if len(spec.plan) > 1:
        items.append("<li><span class='key plan'></span>the plan's expected line</li>")
    if any(m.target is not None for m in spec.milestones):
        items.append("<li><span class='key milestone'></span>milestone</li>")
    if spec.forecast is not None:
        items.append("<li><span class='key forecast'></span>forecast range</li>")
    return f"<ul class='legend'>{''.join(items)}</ul>"


def _svg(spec: ChartSpec, size: Size, chart_id: str, css_class: str) -> str:
    x, y = _scales(spec, size)
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    body = (
        _target(spec, size, x, y)
        + _axes(spec, size, x, y)
        + _plan(spec, x, y)
        + _forecast(spec, x, y)
        + _series(spec, x, y)
        + _milestones(spec, x, y)
    )
    return (
        f"<svg class='{css_class}' viewBox='0 0 {size.width} {size.height}' role='img' "
        f"aria-labelledby='{title_id} {desc_id}' preserveAspectRatio='xMidYMid meet'>"
        f"<title id='{title_id}'>{escape(spec.title)}</title>"
        f"<desc id='{desc_id}'>{escape(spec.summary)}</desc>{body}</svg>"
    )


def render_chart(spec: ChartSpec, size: Size = SMALL, *, chart_id: str = "chart") -> str:
    """A <figure>: the SVG (with <title> and <desc>), its legend and its values as a table.

    A LARGE chart is drawn twice, wide and narrow, and the stylesheet shows the one that
    fits the screen: a viewBox scales text with the drawing, so a wide drawing squeezed onto
    a phone would have unreadable labels."""
    if not spec.points or all(p.value is None for p in spec.points):
        return (
            f"<figure class='chart empty'><p class='muted'>No values to draw yet for "
            f"{escape(spec.title)}.</p>{value_table(spec) if spec.points else ''}</figure>"
        )
    drawings = _svg(spec, size, chart_id, "only")
    if size == LARGE:
        drawings = _svg(spec, size, chart_id, "wide") + _svg(
            spec, SMALL, f"{chart_id}-narrow", "narrow"
        )
    return f"<figure class='chart'>{drawings}{legend(spec)}{value_table(spec)}</figure>"
