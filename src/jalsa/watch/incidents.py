"""What the incident detector reports: incidents (platforms failing beyond their baseline at
one or more vantages), the part of one seen from each vantage, the rounds kept for display, and
the changes the detector hands on; with an incident's confidence and its summary in words."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

PLATFORM_NAMES = {"x": "X", "facebook": "Facebook", "instagram": "Instagram", "youtube": "YouTube"}


class SeriesPoint(BaseModel):
    """One round of one series, as kept for display."""

    round_at: datetime
    measured: int
    failed: int
    failure_rate: float
    method: str | None  # the most frequent blocking method of the round
    latency_ms: float | None  # the median latency of the round's answered measurements
    cusum: float


class IncidentSeries(BaseModel):
    """One platform at one vantage within an incident."""

    vantage: str
    city: str
    network: str
    platform: str
    started_at: datetime  # the first failing round
    detected_at: datetime  # the round in which the series alarmed
    ended_at: datetime | None = None  # the first clean round (or the last round seen)
    closed_at: datetime | None = None  # the round in which the end was decided
    end_reason: Literal["lifted", "no data"] | None = None
    max_failure_rate: float = 0.0


class Incident(BaseModel):
    """A disruption: platforms failing beyond their baseline at one or more vantages."""

    id: str
    status: Literal["open", "closed"]
    started_at: datetime  # the first failing round of any of its series
    detected_at: datetime  # the round in which it opened
    ended_at: datetime | None = None
    end_reason: Literal["lifted", "no data"] | None = None
    last_seen_at: datetime  # the latest round of its vantages that was processed
    duration_s: float  # to ended_at, or to last_seen_at while open
    platforms: list[str]
    vantages: list[str]
    cities: list[str]
    networks: list[str]
    method: str  # the dominant blocking method
    methods: dict[str, int]  # failing measurements per method
    evidence: list[str]  # measurement ids: the first and the latest ones
    evidence_count: int
    confidence: float
    summary: str
    series: list[IncidentSeries]


class IncidentChange(BaseModel):
    kind: Literal["opened", "updated", "closed"]
    incident: Incident


def incident_confidence(
    vantages: int, cities: int, consistency: float, control: float, maybe_outage: bool
) -> float:
    """0.3 for one series beyond its baseline, + up to 0.2 as more vantages agree (full at 3),
    + up to 0.15 as more cities agree (full at 3), + 0.2 x the share of failures with the
    dominant method, + 0.15 x the share of failures whose control measurement succeeded;
    halved when every platform fails with timeouts on one network (it may be that network's
    own outage)."""
    score = (
        0.3
        + 0.2 * min(1.0, (vantages - 1) / 2)
        + 0.15 * min(1.0, (cities - 1) / 2)
        + 0.2 * consistency
        + 0.15 * control
    )
    if maybe_outage:
        score /= 2
    return round(min(1.0, max(0.0, score)), 3)


def platform_order(platform: str) -> tuple[int, str]:
    order = list(PLATFORM_NAMES)
    return (order.index(platform) if platform in order else len(order), platform)


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def incident_summary(incident: Incident) -> str:
    names = _join([PLATFORM_NAMES.get(p, p) for p in incident.platforms])
    where = _join(incident.cities or incident.vantages)
    n = len(incident.vantages)
    text = (
        f"{names} failing ({incident.method}) at {n} vantage{'s' if n > 1 else ''} in {where}"
        f" since {incident.started_at:%Y-%m-%d %H:%M} UTC"
    )
    if incident.status == "closed" and incident.ended_at is not None:
        hours = incident.duration_s / 3600
        length = f"{hours:.1f} h" if hours >= 1 else f"{incident.duration_s / 60:.0f} min"
        if incident.end_reason == "no data":
            text += f"; ended: no data after {incident.ended_at:%H:%M} UTC ({length})"
        else:
            text += f"; ended {incident.ended_at:%H:%M} UTC ({length})"
    return text + f"; confidence {incident.confidence:.2f}"
