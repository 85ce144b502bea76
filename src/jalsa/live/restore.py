"""Live figures rebuilt from the store: what a tracker finds after a restart and what a reader
of stored polls starts from. The latest and peak reading of every metric, the spend and polls so
far, each stream's last status, and the combined sum replayed over every stored audience sample.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jalsa.live.aggregate import LiveAggregate, Point
from jalsa.platforms.base import StreamStatus
from jalsa.store import Store
from jalsa.store.models import Sample
from jalsa.store.repo import last_polls, latest_samples, peak_samples, stream_totals


def restore(store: Store, aggregate: LiveAggregate) -> None:
    """Rebuild the figures of the aggregate's streams from the store: latest and peak readings,
    spend so far, the last status of each stream, and the combined sum replayed over every
    stored audience sample."""
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
