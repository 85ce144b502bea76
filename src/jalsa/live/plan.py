"""How an event's streams are polled: grouped by kind (a platform whose API reads several ids in
one request gets them in one group), each group's interval and phase, and each stream's live
state with the spend it is expected to make.

Planning reads only what the connector classes declare (`jalsa.platforms.registry`): it builds
no connector and needs no HTTP client, so a reader of stored polls plans exactly the states the
tracker plans; only the tracker builds a connector per group, to poll.
"""

from __future__ import annotations

from dataclasses import dataclass

from jalsa.config import Settings
from jalsa.live.aggregate import LiveAggregate, StreamState
from jalsa.live.schedule import phase
from jalsa.platforms.base import Connector
from jalsa.platforms.registry import audience_metric, connector_for
from jalsa.store.models import Stream


@dataclass
class Member:
    stream: Stream
    state: StreamState


@dataclass
class Group:
    """Streams polled together: one connector call per slot. A platform whose API reads many
    ids in one request (YouTube, X Spaces) gets up to `batch_size` streams per group, which
    also saves quota; every other stream is a group of one."""

    connector_class: type[Connector]  # built by the tracker, which alone polls
    members: list[Member]
    interval: float
    offset: float
    consecutive_errors: int = 0


def plan_groups(streams: list[Stream], settings: Settings) -> list[Group]:
    """Group the streams (by kind, in id order, chunked by the connector's batch size) and
    give each stream its live state."""
    by_kind: dict[str, list[Stream]] = {}
    for stream in sorted(streams, key=lambda s: s.id):
        by_kind.setdefault(stream.kind, []).append(stream)
    groups = []
    for kind, same_kind in by_kind.items():
        cls = connector_for(kind)
        interval = float(getattr(settings, cls.interval_setting))
        audience = audience_metric(cls)
        for start in range(0, len(same_kind), cls.batch_size):
            chunk = same_kind[start : start + cls.batch_size]
            shares = cls.planned_usage(settings, len(chunk)).share(len(chunk))
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
                        audience_metric=audience,
                    ),
                )
                for stream, share in zip(chunk, shares, strict=True)
            ]
            groups.append(Group(cls, members, interval, phase(chunk[0].id, interval)))
    return groups


def add_streams(aggregate: LiveAggregate, streams: list[Stream], settings: Settings) -> None:
    """Give the aggregate the planned state of each of `streams` it does not have yet."""
    for group in plan_groups(streams, settings):
        for member in group.members:
            if member.stream.id not in aggregate.streams:
                aggregate.add(member.state)
