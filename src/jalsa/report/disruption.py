"""The disruption part of the report: the incidents during the event with their evidence, and an
estimate of the audience each affected stream lost during each incident.

The estimate compares what was observed with what the audience would have been without the
incident (a counterfactual), three ways, from the stream's concurrent-audience samples:

- level: the mean of the samples in the LEVEL_MINUTES just before the incident;
- trend: the least-squares line through the samples of the PRE_MINUTES before it, carried
  into the incident for at most as long as those samples span (then held level; never below
  zero), averaged over the sample times during it;
- unaffected: the level, times how the platforms the incident does not name moved (the sum
  of their means during / the sum of their means before) - the rally's own rise or fall.

Lost = counterfactual mean - observed mean during the incident, for each way that can be
computed; the estimate is their mean. The range runs from the lowest to the highest of them,
widened on each side by two standard errors of the level before (standard deviation of the
samples around the trend line / sqrt(samples)). Viewer-minutes = lost x the incident's minutes
(within the event). Fewer than MIN_SAMPLES samples on either side: not measured."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from jalsa.platforms.registry import CONNECTORS, audience_metric, get_metric
from jalsa.report.figures import Figure, Source, measured, not_measured
from jalsa.store.models import Event, Sample, Stream, WatchIncident
from jalsa.watch.incident_view import IncidentOut, incident_out
from jalsa.watch.store import incidents_between

PRE_MINUTES = 30
LEVEL_MINUTES = 5
MIN_SAMPLES = 3
# The module docstring's method, with the numbers filled in, for the report's readers.
METHOD = (
    " ".join((__doc__ or "").split("\n\n", 1)[-1].split())
    .replace("PRE_MINUTES", f"{PRE_MINUTES} min")
    .replace("LEVEL_MINUTES", f"{LEVEL_MINUTES} min")
    .replace("MIN_SAMPLES", str(MIN_SAMPLES))
)


class IncidentReport(BaseModel):
    incident: IncidentOut
    window_start: datetime = Field(description="The incident's start (or the event's, if later).")
    window_end: datetime = Field(description="Its end (or the event's end, if earlier).")
    losses: list[Figure] = Field(description="Per affected stream: audience lost, with a range.")


class DisruptionSection(BaseModel):
    measured: bool
    note: str | None
    method: str
    incidents: list[IncidentReport]


Points = list[tuple[datetime, int]]


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def _mean(points: Points) -> float:
    return sum(v for _, v in points) / len(points)


def _level(points: Points, start: datetime) -> float:
    """The mean of the samples in the LEVEL_MINUTES before `start` (all of them if none is)."""
    recent = [p for p in points if _minutes(p[0], start) <= LEVEL_MINUTES]
    return _mean(recent or points)


def _trend(points: Points, origin: datetime) -> tuple[float, float, float]:
    """(intercept at origin, slope per minute, standard deviation around the line)."""
    xs = [_minutes(origin, at) for at, _ in points]
    ys = [float(v) for _, v in points]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    intercept = my - slope * mx
    residuals = [y - (intercept + slope * x) for x, y in zip(xs, ys, strict=True)]
    sd = math.sqrt(sum(r * r for r in residuals) / (n - 2)) if n > 2 else 0.0
    return intercept, slope, sd


def estimate(
    pre: Points, during: Points, start: datetime, comparison: list[tuple[Points, Points]]
) -> dict[str, float] | None:
    """The estimate's numbers (see the module docstring), or None without enough samples.
    `comparison`: (before, during) samples of each stream of an unaffected platform."""
    if len(pre) < MIN_SAMPLES or len(during) < MIN_SAMPLES:
        return None
    observed = _mean(during)
    level = _level(pre, start)
    intercept, slope, sd = _trend(pre, start)
    span = _minutes(pre[0][0], pre[-1][0])

    def carried(at: datetime) -> float:
        return max(0.0, intercept + slope * min(_minutes(start, at), span))

    trend = sum(carried(at) for at, _ in during) / len(during)
    ways = {"level": level - observed, "trend": trend - observed}
    usable = [(b, d) for b, d in comparison if len(b) >= MIN_SAMPLES and len(d) >= MIN_SAMPLES]
    if usable:
        before_sum = sum(_level(b, start) for b, _ in usable)
        if before_sum > 0:
            ratio = sum(_mean(d) for _, d in usable) / before_sum
            ways["unaffected"] = level * ratio - observed
    se = sd / math.sqrt(len(pre))
    lost = sum(ways.values()) / len(ways)
    return {
        "observed": observed,
        "lost": lost,
        "low": min(ways.values()) - 2 * se,
        "high": max(ways.values()) + 2 * se,
        **{f"lost_{k}": v for k, v in ways.items()},
    }


def _audience_points(
    session: Session, streams: list[Stream], since: datetime, until: datetime
) -> dict[int, Points]:
    wanted = {s.id: m for s in streams if (m := audience_metric(CONNECTORS[s.kind]))}
    found: dict[int, Points] = {sid: [] for sid in wanted}
    if not wanted:
        return found
    rows = session.execute(
        select(Sample.stream_id, Sample.metric, Sample.observed_at, Sample.value)
        .where(
            Sample.stream_id.in_(list(wanted)),
            Sample.observed_at >= since,
            Sample.observed_at <= until,
        )
        .order_by(Sample.observed_at, Sample.stream_id)
    )
    for sid, metric, at, value in rows:
        if wanted[sid] == metric:
            found[sid].append((at, value))
    return found


def _split(points: Points, start: datetime, end: datetime) -> tuple[Points, Points]:
    pre = [p for p in points if start - timedelta(minutes=PRE_MINUTES) <= p[0] < start]
    during = [p for p in points if start <= p[0] <= end]
    return pre, during


def _losses(
    session: Session,
    event: Event,
    incident: WatchIncident,
    labels: dict[int, str],
    start: datetime,
    end: datetime,
) -> list[Figure]:
    streams = sorted(event.streams, key=lambda s: s.id)
    points = _audience_points(session, streams, start - timedelta(minutes=PRE_MINUTES), end)
    affected = set(incident.platforms)
    # The streams of platforms the incident does not name, with enough samples on both sides.
    unaffected = {
        labels[s.id]: split
        for s in streams
        if s.id in points and CONNECTORS[s.kind].platform not in affected
        if min(map(len, split := _split(points[s.id], start, end))) >= MIN_SAMPLES
    }
    comparison = list(unaffected.values())
    minutes = _minutes(start, end)
    figures = []
    for stream in streams:
        cls = CONNECTORS[stream.kind]
        if cls.platform not in affected or stream.id not in points:
            continue
        metric = get_metric(audience_metric(cls) or "")
        pre, during = _split(points[stream.id], start, end)
        key = f"disruption.{incident.id}.{stream.id}"
        label = f"{labels[stream.id]}: concurrent audience lost (mean over the incident)"
        source = Source(
            data=f"jalsa's samples of {metric.name} for {labels[stream.id]}"
            + (f"; for comparison, of {', '.join(unaffected)}" if unaffected else ""),
            endpoint=metric.source,
            rule=f"counterfactual from the {PRE_MINUTES} min before and the platforms not "
            "affected (see the method)",
            since=pre[0][0] if pre else start,
            until=during[-1][0] if during else end,
            count=len(pre) + len(during),
        )
        definition = (
            f"What the audience would have been without the incident minus what it was, mean "
            f"over the incident's {minutes:.0f} min within the event, in {metric.unit}; "
            + (
                "compared with " + ", ".join(unaffected)
                if unaffected
                else "no unaffected platform had enough samples to compare with, so only the "
                "level and trend before it are used"
            )
            + "."
        )
        numbers = estimate(pre, during, start, comparison)
        if numbers is None:
            why = (
                f"fewer than {MIN_SAMPLES} samples before ({len(pre)}) or during "
                f"({len(during)}) the incident"
            )
            figures.append(not_measured(key, label, metric.unit, definition, source, why))
            continue
        lost = measured(key, label, round(numbers["lost"], 1), metric.unit, definition, source)
        lost.low, lost.high = round(numbers["low"], 1), round(numbers["high"], 1)
        figures.append(lost)
        minutes_figure = measured(
            f"{key}.viewer_minutes",
            f"{labels[stream.id]}: viewer-minutes lost",
            round(numbers["lost"] * minutes),
            "viewer-minutes",
            f"The audience lost times the incident's {minutes:.0f} min within the event.",
            source,
        )
        minutes_figure.low = round(numbers["low"] * minutes)
        minutes_figure.high = round(numbers["high"] * minutes)
        figures.append(minutes_figure)
    return figures


def disruption_section(
    session: Session, event: Event, labels: dict[int, str], now: datetime
) -> DisruptionSection:
    incidents = incidents_between(session, event.starts_at, event.ends_at)
    if not incidents:
        return DisruptionSection(
            measured=False,
            note="not measured: the disruption watch recorded no incident during the event "
            "(no vantage reported a block, or none was running)",
            method=METHOD,
            incidents=[],
        )
    reports = []
    for incident in incidents:
        start = max(incident.started_at, event.starts_at)
        end = min(incident.ended_at or now, event.ends_at)
        reports.append(
            IncidentReport(
                incident=incident_out(incident),
                window_start=start,
                window_end=end,
                losses=_losses(session, event, incident, labels, start, end),
            )
        )
    return DisruptionSection(measured=True, note=None, method=METHOD, incidents=reports)
