"""Live figures for one event: per stream the latest reading, the peak so far and its time, the
stream's health and API spend with a forecast; and the combined concurrent audience.

Only catalogue metrics of kind CONCURRENT enter the combined figure, and only while their latest
sample is fresh; the figure says which streams it includes, so a stale or failing stream makes
it visibly partial instead of silently lower.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from jalsa.platforms.base import StreamStatus, Usage
from jalsa.platforms.registry import get_metric

FRESH_INTERVALS = 3  # a concurrent reading counts in the combined figure for 3 poll intervals


@dataclass
class Point:
    at: datetime
    value: int


@dataclass
class StreamState:
    stream_id: int
    kind: str
    platform: str
    label: str
    external_id: str
    interval: float  # seconds of clock time
    expected_usage: Usage
    audience_metric: str | None  # the concurrent-audience metric, if the platform has one
    status: StreamStatus = StreamStatus.PENDING
    detail: str = ""
    last_poll_at: datetime | None = None
    last_ok_at: datetime | None = None
    next_poll_at: datetime | None = None
    consecutive_errors: int = 0
    errors: int = 0
    polls: int = 0
    spent: Usage = field(default_factory=Usage)
    latest: dict[str, Point] = field(default_factory=dict)
    peak: dict[str, Point] = field(default_factory=dict)

    def fresh_audience(self, now: datetime) -> Point | None:
        """The latest audience reading if it is recent enough to be shown as "now"."""
        name = self.audience_metric
        point = self.latest.get(name) if name else None
        if point is None or self.status is StreamStatus.NOT_LIVE:
            return None
        if now - point.at > timedelta(seconds=self.interval * FRESH_INTERVALS):
            return None
        return point

    def forecast(self, now: datetime, ends_at: datetime) -> Usage:
        """Spend so far plus the expected spend of the polls left until the event ends."""
        remaining = max(0.0, (ends_at - now).total_seconds())
        polls_left = math.ceil(remaining / self.interval) if self.interval > 0 else 0
        total = Usage(**vars(self.spent))
        per_poll = self.expected_usage
        total.add(
            Usage(
                requests=per_poll.requests * polls_left,
                quota_units=per_poll.quota_units * polls_left,
                billed_resources=per_poll.billed_resources * polls_left,
                cost_usd=per_poll.cost_usd * polls_left,
            )
        )
        return total


@dataclass
class Combined:
    value: int
    included: list[int]
    stale: list[int]  # live or failing streams whose audience reading is not fresh
    not_live: list[int]  # streams whose platform says the broadcast is not live

    @property
    def partial(self) -> bool:
        return bool(self.stale)


class RunningSum:
    """The combined figure, kept incrementally: the sum over streams of each stream's latest
    audience reading while it is fresh. The live figure and the replay after a restart both use
    it, so the rule lives in one place; a reading older than its stream's current one is ignored.
    """

    def __init__(self) -> None:
        self.total = 0
        self.fresh_for: dict[int, timedelta] = {}
        self.current: dict[int, Point] = {}
        self.peak: Point | None = None
        self._expiries: list[tuple[datetime, int, datetime]] = []

    def track(self, stream_id: int, interval: float) -> None:
        self.fresh_for[stream_id] = timedelta(seconds=interval * FRESH_INTERVALS)

    def expire(self, now: datetime) -> None:
        while self._expiries and self._expiries[0][0] < now:
            _, sid, at = heapq.heappop(self._expiries)
            held = self.current.get(sid)
            if held is not None and held.at == at:
                self.drop(sid)

    def drop(self, stream_id: int) -> None:
        held = self.current.pop(stream_id, None)
        if held is not None:
            self.total -= held.value

    def set(self, stream_id: int, at: datetime, value: int) -> None:
        self.expire(at)
        held = self.current.get(stream_id)
        if held is not None and held.at > at:
            return
        self.drop(stream_id)
        self.current[stream_id] = Point(at, value)
        self.total += value
        heapq.heappush(self._expiries, (at + self.fresh_for[stream_id], stream_id, at))
        if self.peak is None or self.total > self.peak.value:
            self.peak = Point(at, self.total)


class StoredPoll(Protocol):
    """One stored poll's ledger row: as the tracker writes it (`PollRecord`) or as the store
    gives it back (`Poll`)."""

    @property
    def stream_id(self) -> int: ...
    @property
    def finished_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def requests(self) -> int: ...
    @property
    def quota_units(self) -> int: ...
    @property
    def billed_resources(self) -> int: ...
    @property
    def cost_usd(self) -> float: ...


class LiveAggregate:
    """The live figures of one event: each stream's state, and the combined concurrent audience
    with its peak. Changed only by `apply_poll` (and seeded from the store by restore.py)."""

    def __init__(self, ends_at: datetime, timezone: str) -> None:
        self.ends_at = ends_at
        self.timezone = timezone
        self.streams: dict[int, StreamState] = {}
        self.sum = RunningSum()

    @property
    def peak_of_sum(self) -> Point | None:
        return self.sum.peak

    def add(self, state: StreamState) -> None:
        self.streams[state.stream_id] = state
        if state.audience_metric is not None:
            self.sum.track(state.stream_id, state.interval)

    def seed(self, stream_id: int, metric: str, latest: Point | None, peak: Point | None) -> None:
        """Restore a stream's figures from stored samples after a restart."""
        state = self.streams[stream_id]
        if latest is not None:
            state.latest[metric] = latest
        if peak is not None:
            state.peak[metric] = peak

    def replay(self, history: list[tuple[datetime, int, int]]) -> None:
        """Feed stored audience samples (at, stream id, value), in time order, to the sum."""
        for at, stream_id, value in history:
            if stream_id in self.sum.fresh_for:
                self.sum.set(stream_id, at, value)

    def apply(
        self,
        stream_id: int,
        *,
        finished_at: datetime,
        status: StreamStatus,
        detail: str,
        usage: Usage,
        readings: Sequence[tuple[str, datetime, int]],
    ) -> None:
        state = self.streams[stream_id]
        state.polls += 1
        state.last_poll_at = finished_at
        state.status = status
        state.detail = detail
        state.spent.add(usage)
        if status.is_failure:
            state.errors += 1
        else:
            state.last_ok_at = finished_at
        for name, at, value in readings:
            current = state.latest.get(name)
            if current is None or at >= current.at:
                state.latest[name] = Point(at, value)
            best = state.peak.get(name)
            if best is None or value > best.value:
                state.peak[name] = Point(at, value)
            if name == state.audience_metric:
                self.sum.set(stream_id, at, value)
        if status is StreamStatus.NOT_LIVE:
            self.sum.drop(stream_id)

    def apply_poll(self, poll: StoredPoll, samples: Sequence[tuple[str, datetime, int]]) -> None:
        """Take in one stored poll and the samples it wrote (metric, observed at, value): the
        one way live figures follow polls, for the tracker that wrote it and for a reader that
        finds it in the store alike."""
        self.apply(
            poll.stream_id,
            finished_at=poll.finished_at,
            status=StreamStatus(poll.status),
            detail=poll.detail,
            usage=Usage(poll.requests, poll.quota_units, poll.billed_resources, poll.cost_usd),
            readings=samples,
        )

    def combined(self, now: datetime) -> Combined:
        self.sum.expire(now)
        included = sorted(self.sum.current)
        stale, not_live = [], []
        for state in self.streams.values():
            if state.audience_metric is None or state.stream_id in self.sum.current:
                continue
            if state.status is StreamStatus.NOT_LIVE:
                not_live.append(state.stream_id)
            else:
                stale.append(state.stream_id)
        return Combined(self.sum.total, included, stale, not_live)

    def stream_snapshot(self, state: StreamState, now: datetime) -> dict[str, Any]:
        audience = state.audience_metric
        now_point = state.fresh_audience(now)
        peak = state.peak.get(audience) if audience else None
        forecast = state.forecast(now, self.ends_at)
        return {
            "stream_id": state.stream_id,
            "kind": state.kind,
            "platform": state.platform,
            "label": state.label,
            "external_id": state.external_id,
            "status": state.status.value,
            "detail": state.detail,
            "audience_metric": audience,
            "now": now_point.value if now_point else None,
            "now_at": _iso(now_point.at) if now_point else None,
            "peak": peak.value if peak else None,
            "peak_at": _iso(peak.at) if peak else None,
            "latest": {k: {"value": p.value, "at": _iso(p.at)} for k, p in state.latest.items()},
            "last_poll_at": _iso(state.last_poll_at),
            "next_poll_at": _iso(state.next_poll_at),
            "errors": state.errors,
            "consecutive_errors": state.consecutive_errors,
            "polls": state.polls,
            "spent": vars(state.spent).copy(),
            "forecast": vars(forecast).copy(),
        }

    def snapshot(self, now: datetime) -> dict[str, Any]:
        combined = self.combined(now)
        return {
            "at": _iso(now),
            "combined": {
                "metric": "combined.concurrent_now",
                "value": combined.value if combined.included else None,
                "included": combined.included,
                "stale": combined.stale,
                "not_live": combined.not_live,
                "partial": combined.partial,
                "label": get_metric("combined.concurrent_now").label,
            },
            "peak_of_sum": (
                {"value": self.peak_of_sum.value, "at": _iso(self.peak_of_sum.at)}
                if self.peak_of_sum
                else None
            ),
            "streams": [self.stream_snapshot(s, now) for s in self.streams.values()],
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
