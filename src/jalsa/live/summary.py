"""The closing summary of a tracking run: what was stored and what it says, from the store."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from jalsa.live.aggregate import Point
from jalsa.platforms.registry import get_metric
from jalsa.store import Poll, Sample, Store
from jalsa.store.repo import get_event, peak_samples


@dataclass
class StreamSummary:
    label: str
    kind: str
    samples: int
    polls: int
    statuses: Counter[str] = field(default_factory=Counter)
    peaks: dict[str, Point] = field(default_factory=dict)


@dataclass
class Summary:
    event: str
    timezone: str
    samples: int
    polls: int
    streams: list[StreamSummary]


def summarize(store: Store, event_ref: str) -> Summary:
    """What the store holds for the event's streams, for the summary printed at the end."""
    with store.session() as session:
        event = get_event(session, event_ref)
        ids = [s.id for s in event.streams]
        sample_counts = dict(
            session.execute(
                select(Sample.stream_id, func.count())
                .where(Sample.stream_id.in_(ids))
                .group_by(Sample.stream_id)
            ).all()
        )
        statuses: dict[int, Counter[str]] = {i: Counter() for i in ids}
        for sid, status, n in session.execute(
            select(Poll.stream_id, Poll.status, func.count())
            .where(Poll.stream_id.in_(ids))
            .group_by(Poll.stream_id, Poll.status)
        ):
            statuses[sid][status] = n
        peaks: dict[int, dict[str, Point]] = {i: {} for i in ids}
        for sample in peak_samples(session, ids):
            if get_metric(sample.metric).is_audience:
                peaks[sample.stream_id][sample.metric] = Point(sample.observed_at, sample.value)
        streams = [
            StreamSummary(
                label=s.label or s.kind,
                kind=s.kind,
                samples=int(sample_counts.get(s.id, 0)),
                polls=sum(statuses[s.id].values()),
                statuses=statuses[s.id],
                peaks=peaks[s.id],
            )
            for s in event.streams
        ]
        return Summary(
            event=event.slug,
            timezone=event.timezone,
            samples=sum(x.samples for x in streams),
            polls=sum(x.polls for x in streams),
            streams=streams,
        )
