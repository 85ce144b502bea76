"""How an event's streams are polled (groups, intervals, phases, expected spend) and how live
figures are rebuilt from the store: shared by the tracker and the web app's live feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jalsa.config import Settings
from jalsa.live.aggregate import LiveAggregate, Point, StreamState
from jalsa.live.schedule import phase
from jalsa.platforms.base import Connector, StreamStatus
from jalsa.platforms.registry import connector_for, get_metric
from jalsa.store import Store
from jalsa.store.models import Sample, Stream
from jalsa.store.repo import last_polls, latest_samples, peak_samples, stream_totals


@dataclass
class Member:
    stream: Stream
    state: StreamState


@dataclass
class Group:
    """Streams polled together: one connector call per slot. A platform whose API reads many
    ids in one request (YouTube, X Spaces) gets up to `batch_size` streams per group, which
    also saves quota; every other stream is a group of one."""

    connector: Connector
    members: list[Member]
    interval: float
    offset: float
    consecutive_errors: int = 0


def plan_groups(
    streams: list[Stream], settings: Settings, client: httpx.AsyncClient | None
) -> list[Group]:
    """Group the streams (by kind, in id order, chunked by the connector's batch size) and
    give each stream its live state. `client` may be None when nothing will be polled."""
    by_kind: dict[str, list[Stream]] = {}
    for stream in sorted(streams, key=lambda s: s.id):
        by_kind.setdefault(stream.kind, []).append(stream)
    groups = []
    for kind, same_kind in by_kind.items():
        cls = connector_for(kind)
        interval = float(getattr(settings, cls.interval_setting))
        audience = [m for m in cls.metrics if get_metric(m).is_audience]
        for start in range(0, len(same_kind), cls.batch_size):
            chunk = same_kind[start : start + cls.batch_size]
            connector = cls.from_settings(client, settings)
            shares = connector.expected_usage(len(chunk)).share(len(chunk))
            members = [
                Member(
                    stream,
                    StreamState(
                        stream_id=stream.id,
                        kind=stream.kind,
                        platform=cls.platform,
                        label=stream.label or cls.title,
                        external_id=stream.external_id,
                        interval=interval,
                        expected_usage=share,
                        audience_metric=audience[0] if audience else None,
                    ),
                )
                for stream, share in zip(chunk, shares, strict=True)
            ]
            groups.append(Group(connector, members, interval, phase(chunk[0].id, interval)))
    return groups


def restore(store: Store, aggregate: LiveAggregate) -> None:
    """Rebuild live figures from the store: latest and peak readings, spend so far, the last
    status of each stream, and the combined sum replayed over every stored audience sample."""
    ids = list(aggregate.streams)
    if not ids:
        return
    with store.session() as session:
        latest = latest_samples(session, ids)
        peaks = peak_samples(session, ids)
        totals = stream_totals(session, ids)
        last = last_polls(session, ids)
        audience = {
            state.stream_id: state.audience_metric
            for state in aggregate.streams.values()
            if state.audience_metric
        }
        history = audience_history(session, audience)
    for sample in latest:
        aggregate.seed(
            sample.stream_id, sample.metric, Point(sample.observed_at, sample.value), None
        )
    for sample in peaks:
        aggregate.seed(
            sample.stream_id, sample.metric, None, Point(sample.observed_at, sample.value)
        )
    for sid, total in totals.items():
        state = aggregate.streams[sid]
        state.polls = total.polls
        state.errors = total.errors
        state.spent.requests = total.requests
        state.spent.quota_units = total.quota_units
        state.spent.billed_resources = total.billed_resources
        state.spent.cost_usd = total.cost_usd
    for sid, poll in last.items():
        state = aggregate.streams[sid]
        state.status = StreamStatus(poll.status)
        state.detail = poll.detail
        state.last_poll_at = poll.finished_at
    aggregate.replay(history)


def audience_history(session: Session, audience: dict[int, str]) -> list[tuple[datetime, int, int]]:
    """Every stored concurrent-audience sample of the given streams, in time order."""
    if not audience:
        return []
    query = (
        select(Sample.observed_at, Sample.stream_id, Sample.value)
        .where(
            or_(*[(Sample.stream_id == sid) & (Sample.metric == m) for sid, m in audience.items()])
        )
        .order_by(Sample.observed_at)
    )
    return [(at, sid, value) for at, sid, value in session.execute(query)]
