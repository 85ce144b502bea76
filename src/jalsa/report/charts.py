"""The report's chart, drawn on the server as SVG (no script, no outside host): the concurrent
audience of every stream over time, with the disruption incidents shaded. The same markup goes
into the HTML page and the PDF. Only SVG presentation attributes are used (no inline CSS), so the
web app's content security policy allows it."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from jalsa.report.audience import StreamTimeline
from jalsa.timeutil import show, zone

WIDTH, PLOT_HEIGHT = 720, 224  # the drawing area's height; the legend's rows come below it
LEFT, RIGHT, TOP, AXIS = 64, 12, 12, 36
LEGEND_ROW = 18
COLOURS = {
    "youtube": "#c4302b",
    "facebook": "#1877f2",
    "x": "#111111",
    "instagram": "#c13584",
}
FALLBACK = ("#2a7f62", "#8a5a00", "#5b3f8c")


def _ticks(start: datetime, end: datetime, tz: str, count: int = 6) -> list[datetime]:
    """Round times in the event's zone (a +05:30 zone gets its ticks on its own hours)."""
    step = max(timedelta(minutes=5), (end - start) / count)
    minutes = int(step.total_seconds() // 60)
    nice = next(n for n in (5, 10, 15, 20, 30, 60, 120, 180, 360, 720, 1440, 10**9) if n >= minutes)
    local = start.astimezone(zone(tz)).replace(second=0, microsecond=0)
    into_day = local.hour * 60 + local.minute
    first = local + timedelta(minutes=(-into_day) % min(nice, 1440))
    ticks = (first + timedelta(minutes=nice * i) for i in range(count + 2))
    return [t for t in ticks if start <= t <= end]


def _nice_max(value: int) -> int:
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def _colours(timelines: list[StreamTimeline]) -> dict[int, str]:
    """The platform's colour for its first stream; a spare one for any other, so two streams
    of one platform can be told apart."""
    spare = iter(FALLBACK * (1 + len(timelines)))
    chosen: dict[int, str] = {}
    for timeline in timelines:
        colour = COLOURS.get(timeline.platform)
        chosen[timeline.stream_id] = (
            colour if colour and colour not in chosen.values() else next(spare)
        )
    return chosen


def _legend_rows(timelines: list[StreamTimeline]) -> list[list[tuple[int, StreamTimeline]]]:
    """The legend's entries, as many per row as fit (about 6 px a character)."""
    rows: list[list[tuple[int, StreamTimeline]]] = [[]]
    left = LEFT
    for timeline in timelines:
        width = 24 + 6 * len(timeline.label)
        if rows[-1] and left + width > WIDTH - RIGHT:
            rows.append([])
            left = LEFT
        rows[-1].append((left, timeline))
        left += width
    return rows if rows[0] else []


def timeline_svg(
    timelines: list[StreamTimeline],
    bands: list[tuple[datetime, datetime, str]],
    tz: str,
) -> str | None:
    """The chart, or None when there is nothing to draw. `bands`: (start, end, label)."""
    points = [p for t in timelines for p in t.points]
    if not points:
        return None
    start = min(p.at for p in points)
    end = max(p.at for p in points)
    if end <= start:
        end = start + timedelta(minutes=1)
    top = _nice_max(max(p.value for p in points))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, PLOT_HEIGHT - TOP
    drawn = [t for t in timelines if t.points]
    legend = _legend_rows(drawn)
    height = PLOT_HEIGHT + AXIS + LEGEND_ROW * len(legend)

    def x(at: datetime) -> float:
        return LEFT + inner_w * (at - start).total_seconds() / (end - start).total_seconds()

    def y(value: float) -> float:
        return TOP + inner_h * (1 - value / top)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="Concurrent audience per stream over time" '
        f'font-family="sans-serif" font-size="11">'
    ]
    for band_start, band_end, label in bands:
        a, b = max(band_start, start), min(band_end, end)
        if b <= a:
            continue
        out.append(
            f'<rect x="{x(a):.1f}" y="{TOP}" width="{max(1.0, x(b) - x(a)):.1f}" '
            f'height="{inner_h}" fill="#f4c7c3" fill-opacity="0.6">'
            f"<title>{escape(label)}</title></rect>"
        )
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        value = top * fraction
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="#dddddd"/>'
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:,.0f}</text>'
        )
    for tick in _ticks(start, end, tz):
        out.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{TOP + inner_h}" '
            f'y2="{TOP + inner_h + 4}" stroke="#555555"/>'
            f'<text x="{x(tick):.1f}" y="{TOP + inner_h + 16}" text-anchor="middle">'
            f"{show(tick, tz, '%H:%M')}</text>"
        )
    colours = _colours(drawn)
    for timeline in drawn:
        path = " ".join(f"{x(p.at):.1f},{y(p.value):.1f}" for p in timeline.points)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{colours[timeline.stream_id]}" '
            'stroke-width="1.6"/>'
        )
    for row, entries in enumerate(legend):
        base = PLOT_HEIGHT + AXIS + LEGEND_ROW * row
        for left, timeline in entries:
            out.append(
                f'<rect x="{left}" y="{base}" width="10" height="10" '
                f'fill="{colours[timeline.stream_id]}"/>'
                f'<text x="{left + 14}" y="{base + 9}">{escape(timeline.label)}</text>'
            )
    out.append(
        f'<text x="{WIDTH - RIGHT}" y="{PLOT_HEIGHT + 30}" text-anchor="end">'
        f"time ({escape(tz)})</text></svg>"
    )
    return "".join(out)
