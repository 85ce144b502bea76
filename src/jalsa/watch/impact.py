"""The audience link: how each platform's live audience moved during an internet disruption.

For one incident and one event, for every stream of the event (grouped by platform), from the
stored samples of the stream's concurrent-audience metric (the one the dashboard draws,
`jalsa.platforms.registry.audience_metric`):

- *before*: the mean of the samples observed in [start - N minutes, start), N = 10 by default;
- *during*: the mean and the minimum of the samples observed in [start, end], where end is the
  incident's end, or now while it is open;
- *change* = during mean - before mean (in the metric's unit), and *relative* = change / before
  mean (None when the level before is 0);
- the number of samples on each side.

A side without samples is not measured: its level and the change are None, with the reason in
`not_measured` -- never a zero, because a platform's audience that nobody read is unknown, not
gone. Platforms the incident affects are marked; the others are listed too, as the comparison
(an audience that drops everywhere at once is the rally, not the block).

These are the platforms' own audience figures read by our tracker, which is not behind the
disruption: a drop means viewers behind the block lost the stream, as the platform counts them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from jalsa.platforms.registry import CONNECTORS, audience_metric, get_metric
from jalsa.store.models import Event, Sample, WatchIncident
from jalsa.timeutil import utc_now

BEFORE_MINUTES = 10
# What the figures are, in words, for the pages that show them.
DEFINITION = (
    "Per stream, from the platform's own concurrent-audience figure as our tracker stored it: "
    "before = the mean of the samples in the {minutes} min before the start; during = the "
    "mean (and the lowest) of the samples from the start to the end (to now while it lasts); "
    "change = during - before, also as a share of before. A side without samples is not "
    "measured: the change is unknown, not zero. Platforms the incident does not name are the "
    "comparison: a drop everywhere at once is the rally, not the block."
)


class StreamChange(BaseModel):
    """One stream's audience before and during the incident."""

    stream_id: int
    label: str
    kind: str
    metric: str | None = Field(description="The concurrent-audience metric; None: none exists.")
    unit: str | None
    before: float | None = Field(description="Mean of the samples in the minutes before.")
    before_samples: int
    during: float | None = Field(description="Mean of the samples during the incident.")
    during_min: int | None = Field(description="Lowest sample during the incident.")
    during_samples: int
    change: float | None = Field(description="during - before, in the metric's unit.")
    relative: float | None = Field(description="change / before (0.25 is +25 %).")
    not_measured: str | None = Field(description="Why the change is unknown, if it is.")


class PlatformImpact(BaseModel):
    platform: str
    affected: bool = Field(description="The incident names this platform.")
    streams: list[StreamChange]


class Impact(BaseModel):
    incident_id: str
    start: datetime
    end: datetime = Field(description="The incident's end, or the time of computing if open.")
    open: bool
    before_minutes: int
    platforms: list[PlatformImpact]
    definition: str


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def _why(before: list[int], during: list[int], minutes: int) -> str | None:
    if not before and not during:
        return f"no audience samples in the {minutes} min before nor during the incident"
    if not before:
        return f"no audience samples in the {minutes} min before the incident"
    if not during:
        return "no audience samples during the incident"
    return None


def audience_impact(
    session: Session,
    incident: WatchIncident,
    event: Event,
    *,
    now: datetime | None = None,
    before_minutes: int = BEFORE_MINUTES,
) -> Impact:
    """The audience change on every platform of `event` during `incident` (see the module
    docstring for exactly what is computed)."""
    start = incident.started_at
    end = incident.ended_at or now or utc_now()
    since = start - timedelta(minutes=before_minutes)
    wanted: dict[int, str] = {}
    for stream in event.streams:
        metric = audience_metric(CONNECTORS[stream.kind])
        if metric is not None:
            wanted[stream.id] = metric
    before: dict[int, list[int]] = defaultdict(list)
    during: dict[int, list[int]] = defaultdict(list)
    if wanted:
        rows = session.execute(
            select(Sample.stream_id, Sample.metric, Sample.observed_at, Sample.value).where(
                Sample.stream_id.in_(list(wanted)),
                Sample.metric.in_(set(wanted.values())),
                Sample.observed_at >= since,
                Sample.observed_at <= end,
            )
        )
        for stream_id, metric, at, value in rows:
            if wanted[stream_id] == metric:
                (before if at < start else during)[stream_id].append(value)

    by_platform: dict[str, list[StreamChange]] = defaultdict(list)
    for stream in event.streams:
        cls = CONNECTORS[stream.kind]
        metric = wanted.get(stream.id)
        b, d = before[stream.id], during[stream.id]
        level, now_level = _mean(b), _mean(d)
        change = None if level is None or now_level is None else now_level - level
        reason = (
            _why(b, d, before_minutes)
            if metric
            else f"audience unknown ({cls.title}'s API gives no viewer count)"
        )
        by_platform[cls.platform].append(
            StreamChange(
                stream_id=stream.id,
                label=stream.label or cls.title,
                kind=stream.kind,
                metric=metric,
                unit=get_metric(metric).unit if metric else None,
                before=level,
                before_samples=len(b),
                during=now_level,
                during_min=min(d) if d else None,
                during_samples=len(d),
                change=change,
                relative=None if change is None or not level else change / level,
                not_measured=reason,
            )
        )
    affected = set(incident.platforms)
    names = sorted(affected | set(by_platform), key=lambda p: (p not in affected, p))
    return Impact(
        incident_id=incident.id,
        start=start,
        end=end,
        open=incident.ended_at is None,
        before_minutes=before_minutes,
        definition=DEFINITION.format(minutes=before_minutes),
        platforms=[
            PlatformImpact(platform=p, affected=p in affected, streams=by_platform.get(p, []))
            for p in names
        ],
    )
