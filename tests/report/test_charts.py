"""The report's SVG chart: ticks on round local times, one colour per stream, nothing drawn
from no data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jalsa.report.audience import StreamTimeline, TimelinePoint
from jalsa.report.charts import timeline_svg
from jalsa.timeutil import show

START = datetime(2023, 12, 17, 15, 3, tzinfo=UTC)


def line(stream_id: int, platform: str, values: list[int]) -> StreamTimeline:
    points = [
        TimelinePoint(at=START + timedelta(minutes=10 * i), value=v) for i, v in enumerate(values)
    ]
    return StreamTimeline(
        stream_id=stream_id, label=f"S{stream_id}", platform=platform, points=points
    )


def test_ticks_fall_on_round_local_times_and_each_stream_has_its_colour() -> None:
    timelines = [line(1, "youtube", list(range(0, 130, 10))), line(2, "youtube", [5] * 13)]
    svg = timeline_svg(timelines, [], "Asia/Kolkata")  # UTC+05:30
    assert svg is not None and svg.startswith("<svg") and svg.count("<polyline") == 2
    labels = [t.split("<")[0] for t in svg.split('text-anchor="middle">')[1:]]
    assert labels and all(label.endswith(("00", "20", "40")) for label in labels), labels
    assert show(START, "Asia/Kolkata", "%H:%M") == "20:33" and labels[0] == "20:40"
    colours = {part.split('stroke="')[1].split('"')[0] for part in svg.split("<polyline")[1:]}
    assert len(colours) == 2


def test_no_samples_draw_no_chart() -> None:
    assert timeline_svg([line(1, "youtube", [])], [], "UTC") is None
