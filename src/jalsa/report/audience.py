"""The audience part of the report, from the samples the tracker stored.

Per stream: the peak concurrent audience (with its time), the average concurrent audience
during the event, and the post-event totals each platform reports (in the platform's own
definition: a Facebook "view" is a 3-second view, a YouTube view is YouTube's). Then the
combined figures: the sum of the peaks, which is an upper bound of the largest simultaneous
audience and not a count of people, and the peak of the simultaneous sum. Unique reach is only
given as bounds, and only from platforms that report unique viewers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from jalsa.config import Settings
from jalsa.live.aggregate import RunningSum
from jalsa.metrics import Kind
from jalsa.platforms.registry import CONNECTORS, audience_metric, get_metric
from jalsa.report.figures import Figure, Source, measured, not_measured
from jalsa.store.models import Event, Sample, Stream

UNIQUE_METRICS = ("facebook.total_video_views_unique",)  # the only unique counts any API gives


class StreamAudience(BaseModel):
    stream_id: int
    label: str
    platform: str
    kind: str
    figures: list[Figure]


class TimelinePoint(BaseModel):
    at: datetime
    value: int


class StreamTimeline(BaseModel):
    stream_id: int
    label: str
    platform: str
    points: list[TimelinePoint]


class AudienceSection(BaseModel):
    streams: list[StreamAudience]
    combined: list[Figure]
    reach: list[Figure]
    timeline: list[StreamTimeline]


@dataclass
class _Readings:
    """One stream's samples of one metric, in time order."""

    points: list[tuple[datetime, int]]

    @property
    def span(self) -> tuple[datetime | None, datetime | None]:
        return (self.points[0][0], self.points[-1][0]) if self.points else (None, None)


def _samples(session: Session, streams: list[Stream]) -> dict[tuple[int, str], _Readings]:
    found: dict[tuple[int, str], _Readings] = defaultdict(lambda: _Readings([]))
    if not streams:
        return found
    rows = session.execute(
        select(Sample.stream_id, Sample.metric, Sample.observed_at, Sample.value)
        .where(Sample.stream_id.in_([s.id for s in streams]))
        .order_by(Sample.observed_at, Sample.stream_id, Sample.metric)
    )
    for stream_id, metric, at, value in rows:
        found[(stream_id, metric)].points.append((at, value))
    return found


def _source(metric: str, readings: _Readings, rule: str, label: str) -> Source:
    since, until = readings.span
    return Source(
        data=f"jalsa's samples of {metric} for {label}",
        endpoint=get_metric(metric).source,
        rule=rule,
        since=since,
        until=until,
        count=len(readings.points),
    )


def _stream_figures(
    stream: Stream, label: str, event: Event, found: dict[tuple[int, str], _Readings]
) -> list[Figure]:
    cls = CONNECTORS[stream.kind]
    key = f"audience.{stream.id}"
    figures: list[Figure] = []
    audience = audience_metric(cls)
    if audience is None:
        why = f"{cls.title}'s API gives no viewer count"
        source = Source(data=f"{cls.title} ({label})", rule="none: no such figure exists")
        figures.append(
            not_measured(f"{key}.peak", "Peak concurrent audience", "viewers", why, source, why)
        )
    else:
        m = get_metric(audience)
        readings = found[(stream.id, audience)]
        peak_rule = "the highest sample (the earliest of equal ones), with its time"
        source = _source(audience, readings, peak_rule, label)
        definition = f"{m.definition} {get_metric('peak').definition}"
        if readings.points:
            at, value = max(readings.points, key=lambda p: (p[1], -p[0].timestamp()))
            figures.append(
                measured(f"{key}.peak", f"Peak {m.label}", value, m.unit, definition, source, at)
            )
        else:
            figures.append(
                not_measured(
                    f"{key}.peak", f"Peak {m.label}", m.unit, definition, source, "no samples"
                )
            )
        during = _Readings([p for p in readings.points if event.starts_at <= p[0] <= event.ends_at])
        avg_rule = (
            "the arithmetic mean of the samples taken from the event's start to its end; the "
            "tracker samples at a fixed interval, so this is the time average of the audience"
        )
        source = _source(audience, during, avg_rule, label)
        avg_label = f"Average {m.label} during the event"
        if during.points:
            mean = sum(v for _, v in during.points) / len(during.points)
            figures.append(
                measured(f"{key}.average", avg_label, round(mean, 1), m.unit, m.definition, source)
            )
        else:
            figures.append(
                not_measured(
                    f"{key}.average",
                    avg_label,
                    m.unit,
                    m.definition,
                    source,
                    "no samples between the event's start and end",
                )
            )
    for name in cls.metrics:
        m = get_metric(name)
        if m.kind is not Kind.CUMULATIVE:
            continue
        readings = found[(stream.id, name)]
        rule = "the last sample: the platform's running total as of that time"
        source = _source(name, readings, rule, label)
        if readings.points:
            at, value = readings.points[-1]
            figures.append(
                measured(f"{key}.{name}", m.label, value, m.unit, m.definition, source, at)
            )
        else:
            figures.append(
                not_measured(f"{key}.{name}", m.label, m.unit, m.definition, source, "no samples")
            )
    return figures


def _peak_of_sum(
    streams: list[Stream], found: dict[tuple[int, str], _Readings], settings: Settings
) -> Figure:
    running = RunningSum()
    history: list[tuple[datetime, int, int]] = []
    for stream in streams:
        cls = CONNECTORS[stream.kind]
        audience = audience_metric(cls)
        if audience is None:
            continue
        running.track(stream.id, float(getattr(settings, cls.interval_setting)))
        history += [(at, stream.id, v) for at, v in found[(stream.id, audience)].points]
    history.sort(key=lambda h: (h[0], h[1]))
    for at, stream_id, value in history:
        running.set(stream_id, at, value)
    m = get_metric("combined.peak_of_sum")
    source = Source(
        data="jalsa's samples of every stream's concurrent-audience metric",
        rule=m.source + " (replayed over the stored samples; a sample counts while it is "
        "newer than three poll intervals, as now configured)",
        since=history[0][0] if history else None,
        until=history[-1][0] if history else None,
        count=len(history),
    )
    if running.peak is None:
        return not_measured(
            "combined.peak_of_sum", m.label, m.unit, m.definition, source, "no samples"
        )
    peak = running.peak
    return measured(
        "combined.peak_of_sum", m.label, peak.value, m.unit, m.definition, source, peak.at
    )


def _carries_audience(stream: Stream) -> bool:
    """A stream of viewers (a concurrent or cumulative figure), not of posts (x_counts)."""
    kinds = {get_metric(m).kind for m in CONNECTORS[stream.kind].metrics}
    return bool(kinds & {Kind.CONCURRENT, Kind.CUMULATIVE})


def audience_section(
    session: Session, event: Event, settings: Settings, labels: dict[int, str]
) -> AudienceSection:
    streams = sorted(event.streams, key=lambda s: s.id)
    found = _samples(session, streams)
    per_stream = [
        StreamAudience(
            stream_id=s.id,
            label=labels[s.id],
            platform=CONNECTORS[s.kind].platform,
            kind=s.kind,
            figures=_stream_figures(s, labels[s.id], event, found),
        )
        for s in streams
        if _carries_audience(s)
    ]
    peaks = [f for s in per_stream for f in s.figures if f.key.endswith(".peak")]
    with_peak = [f for f in peaks if f.value is not None]
    left_out = [
        f"{s.label} ({f.not_measured})"
        for s in per_stream
        for f in s.figures
        if f.key.endswith(".peak") and f.value is None
    ]
    sum_definition = (
        "The sum of each stream's peak concurrent audience. The peaks did not happen at the same "
        "moment, so this is an upper bound of the largest simultaneous audience of these streams; "
        "and a person watching on two platforms counts twice, so it is not a count of people."
        + (f" Not included: {'; '.join(left_out)}." if left_out else "")
    )
    sum_source = Source(
        data="the peaks above",
        rule="sum of the streams' peak figures",
        count=len(with_peak),
        count_of="streams",
    )
    combined = [
        measured(
            "combined.sum_of_peaks",
            "Sum of the platforms' peaks",
            sum(f.value or 0 for f in with_peak),
            "viewers (summed across platforms)",
            sum_definition,
            sum_source,
        )
        if with_peak
        else not_measured(
            "combined.sum_of_peaks",
            "Sum of the platforms' peaks",
            "viewers (summed across platforms)",
            sum_definition,
            sum_source,
            "no stream has a measured peak",
        ),
        _peak_of_sum(streams, found, settings),
    ]
    timeline = [
        StreamTimeline(
            stream_id=s.id,
            label=labels[s.id],
            platform=CONNECTORS[s.kind].platform,
            points=[TimelinePoint(at=at, value=v) for at, v in found[(s.id, audience)].points],
        )
        for s in streams
        if (audience := audience_metric(CONNECTORS[s.kind])) is not None
    ]
    return AudienceSection(
        streams=per_stream,
        combined=combined,
        reach=_reach(per_stream),
        timeline=timeline,
    )


def _reach(streams: list[StreamAudience]) -> list[Figure]:
    """Unique people reached, as bounds, from the platforms that count unique viewers."""
    uniques = [
        (s, f)
        for s in streams
        for f in s.figures
        if any(f.key.endswith(name) for name in UNIQUE_METRICS) and f.value is not None
    ]
    without = [s.label for s in streams if not any(u[0] is s for u in uniques)]
    unit = "people"
    low_definition = (
        "At least this many different people watched: the largest unique-viewer count any "
        "platform reports for one of the streams (people who watched on several platforms "
        "cannot be told apart, so the counts cannot be added for a lower bound)."
    )
    high_definition = (
        "At most this many different people watched: the sum of every stream's unique-viewer "
        "count. It exists only when every stream has one."
    )
    source = Source(
        data="the platforms' unique-viewer counts above",
        rule="lower bound = the largest; upper bound = the sum",
        count=len(uniques),
        count_of="streams with a unique count",
    )
    if not uniques:
        why = "no platform of this event reports unique viewers"
        return [
            not_measured(
                "reach.lower_bound",
                "Unique people reached, at least",
                unit,
                low_definition,
                source,
                why,
            ),
            not_measured(
                "reach.upper_bound",
                "Unique people reached, at most",
                unit,
                high_definition,
                source,
                why,
            ),
        ]
    low = measured(
        "reach.lower_bound",
        "Unique people reached, at least",
        max(f.value or 0 for _, f in uniques),
        unit,
        low_definition,
        source,
    )
    if without:
        high = not_measured(
            "reach.upper_bound",
            "Unique people reached, at most",
            unit,
            high_definition,
            source,
            f"no unique-viewer count for {', '.join(without)}, so no upper bound",
        )
    else:
        high = measured(
            "reach.upper_bound",
            "Unique people reached, at most",
            sum(f.value or 0 for _, f in uniques),
            unit,
            high_definition,
            source,
        )
    return [low, high]
