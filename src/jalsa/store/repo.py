"""Reading and writing events, streams, samples and polls: the queries every area shares."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Row, case, func, select
from sqlalchemy.orm import Session, selectinload

from jalsa.errors import NotFound, UserError
from jalsa.ids import MAX_SLUG, is_slug, parse_ref
from jalsa.store.db import upsert
from jalsa.store.models import Event, Poll, Sample, Stream
from jalsa.store.notify import notify_polls
from jalsa.timeutil import utc_now, zone

# Poll statuses that are not errors (the platform answered; the stream may just not be live).
HEALTHY = ("ok", "not_live")
_HASHTAG = re.compile(r"^#\w{1,139}$")
# Slugs that would shadow a fixed web path (/events/new).
RESERVED_SLUGS = frozenset({"new"})


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:MAX_SLUG]


def normalise_hashtags(tags: Sequence[str]) -> list[str]:
    out: list[str] = []
    for raw in tags:
        for part in raw.replace(",", " ").split():
            tag = part if part.startswith("#") else f"#{part}"
            if not _HASHTAG.match(tag):
                raise UserError(f"{part!r} is not a hashtag; use letters, digits and _ only")
            if tag not in out:
                out.append(tag)
    return out


def create_event(
    session: Session,
    *,
    name: str,
    starts_at: datetime,
    duration: timedelta,
    timezone: str,
    hashtags: Sequence[str] = (),
    slug: str | None = None,
) -> Event:
    name = name.strip()
    if not name:
        raise UserError("the event needs a name")
    zone(timezone)
    slug = slug or slugify(name) or f"event-{starts_at:%Y%m%d-%H%M}"
    if not is_slug(slug):
        raise UserError(f"the slug {slug!r} may hold only a-z, 0-9 and '-'")
    if slug in RESERVED_SLUGS:
        raise UserError(f"the slug {slug!r} is reserved; choose another")
    if session.scalar(select(Event.id).where(Event.slug == slug)) is not None:
        raise UserError(
            f"an event with the slug {slug!r} exists; choose another slug "
            "(--slug, or the short name in the web form)"
        )
    event = Event(
        slug=slug,
        name=name,
        starts_at=starts_at,
        ends_at=starts_at + duration,
        timezone=timezone,
        hashtags=normalise_hashtags(hashtags),
        created_at=utc_now(),
    )
    session.add(event)
    session.flush()
    return event


def update_event(
    session: Session,
    event: Event,
    *,
    name: str | None = None,
    starts_at: datetime | None = None,
    duration: timedelta | None = None,
    hashtags: Sequence[str] | None = None,
) -> list[str]:
    """Change what is given (the slug and time zone stay); moving the start keeps the duration
    unless a new one is given. Everything is checked before anything changes. Returns the
    names of the fields that changed."""
    new_name = event.name if name is None else name.strip()
    if not new_name:
        raise UserError("the event needs a name")
    start = event.starts_at if starts_at is None else starts_at
    length = event.ends_at - event.starts_at if duration is None else duration
    if length <= timedelta(0):
        raise UserError("the duration must be longer than zero")
    tags = list(event.hashtags) if hashtags is None else normalise_hashtags(hashtags)
    changed = [
        field
        for field, old, new in (
            ("name", event.name, new_name),
            ("starts_at", event.starts_at, start),
            ("ends_at", event.ends_at, start + length),
            ("hashtags", list(event.hashtags), tags),
        )
        if old != new
    ]
    event.name, event.starts_at, event.ends_at, event.hashtags = (
        new_name,
        start,
        start + length,
        tags,
    )
    session.flush()
    return changed


def get_event(session: Session, ref: str) -> Event:
    """An event by slug or id (see `jalsa.ids`: '01' is not event 1), with its streams;
    NotFound says how to list events."""
    query = select(Event).options(selectinload(Event.streams))
    wanted = parse_ref(ref)
    event = None
    if wanted.slug is not None:
        event = session.scalar(query.where(Event.slug == wanted.slug))
    if event is None and wanted.id is not None:
        event = session.scalar(query.where(Event.id == wanted.id))
    if event is None:
        raise NotFound(f"no event {ref[:100]!r}; `jalsa event list` shows the events")
    return event


def list_events(session: Session) -> list[Event]:
    return list(session.scalars(select(Event).order_by(Event.starts_at.desc())))


def events_between(session: Session, start: datetime, end: datetime) -> list[Event]:
    """The events that overlap the span from `start` to `end`, the earliest first."""
    query = select(Event).where(Event.starts_at <= end, Event.ends_at >= start)
    return list(session.scalars(query.order_by(Event.starts_at)))


def add_stream(
    session: Session, event: Event, *, kind: str, external_id: str, label: str = ""
) -> Stream:
    external_id = external_id.strip()
    if not external_id:
        raise UserError("the stream id is empty")
    existing = session.scalar(
        select(Stream).where(
            Stream.event_id == event.id, Stream.kind == kind, Stream.external_id == external_id
        )
    )
    if existing is not None:
        return existing
    stream = Stream(
        event_id=event.id, kind=kind, external_id=external_id, label=label, created_at=utc_now()
    )
    session.add(stream)
    session.flush()
    return stream


@dataclass(frozen=True)
class PollRecord:
    """The outcome of one poll, ready to be written: its samples and its ledger row."""

    stream_id: int
    scheduled_at: datetime
    finished_at: datetime
    status: str
    detail: str
    http_status: int | None
    requests: int
    quota_units: int
    billed_resources: int
    cost_usd: float
    samples: tuple[tuple[str, datetime, int], ...]  # (metric, observed_at, value)


def write_polls(session: Session, records: Sequence[PollRecord]) -> None:
    """Write polls and their samples idempotently. A sample's value is updated on conflict
    because a platform may revise a bucket that was still open (X counts)."""
    samples = [
        {
            "stream_id": r.stream_id,
            "metric": metric,
            "observed_at": observed_at,
            "value": value,
            "fetched_at": r.finished_at,
        }
        for r in records
        for metric, observed_at, value in r.samples
    ]
    # One sample per natural key per statement: PostgreSQL refuses to update a row twice.
    deduped = {(s["stream_id"], s["metric"], s["observed_at"]): s for s in samples}
    upsert(
        session,
        Sample,
        list(deduped.values()),
        keys=("stream_id", "metric", "observed_at"),
        update=("value", "fetched_at"),
    )
    polls = {
        (r.stream_id, r.scheduled_at): {
            "stream_id": r.stream_id,
            "scheduled_at": r.scheduled_at,
            "finished_at": r.finished_at,
            "status": r.status,
            "detail": r.detail[:2000],
            "http_status": r.http_status,
            "requests": r.requests,
            "quota_units": r.quota_units,
            "billed_resources": r.billed_resources,
            "cost_usd": r.cost_usd,
        }
        for r in records
    }
    upsert(session, Poll, list(polls.values()), keys=("stream_id", "scheduled_at"))
    notify_polls(session, (r.stream_id for r in records))  # sent when this commits


@dataclass(frozen=True)
class StreamTotals:
    polls: int
    requests: int
    quota_units: int
    billed_resources: int
    cost_usd: float
    last_scheduled_at: datetime | None
    errors: int


def stream_totals(session: Session, stream_ids: Sequence[int]) -> dict[int, StreamTotals]:
    """API spend so far per stream, from the poll ledger (survives restarts)."""
    rows = session.execute(
        select(
            Poll.stream_id,
            func.count(),
            func.coalesce(func.sum(Poll.requests), 0),
            func.coalesce(func.sum(Poll.quota_units), 0),
            func.coalesce(func.sum(Poll.billed_resources), 0),
            func.coalesce(func.sum(Poll.cost_usd), 0.0),
            func.max(Poll.scheduled_at),
            func.coalesce(func.sum(case((Poll.status.in_(HEALTHY), 0), else_=1)), 0),
        )
        .where(Poll.stream_id.in_(stream_ids))
        .group_by(Poll.stream_id)
    )
    out = {}
    for sid, n, req, units, res, cost, last, errors in rows:
        out[sid] = StreamTotals(n, int(req), int(units), int(res), float(cost), last, int(errors))
    return out


def iter_samples(
    session: Session, event: Event, batch: int = 10_000
) -> Iterator[tuple[Stream, Sample]]:
    """Every sample of the event in time order, streamed in batches."""
    streams = {s.id: s for s in event.streams}
    if not streams:
        return
    query = (
        select(Sample)
        .where(Sample.stream_id.in_(list(streams)))
        .order_by(Sample.observed_at, Sample.stream_id, Sample.metric)
        .execution_options(yield_per=batch)
    )
    for sample in session.scalars(query):
        yield streams[sample.stream_id], sample


def timeline_rows(
    session: Session,
    event: Event,
    *,
    since: datetime | None = None,
    metric: str | None = None,
    limit: int,
) -> Sequence[Row[int, str, datetime, int]]:
    """The event's samples in time order, at most `limit`: (stream id, metric, time, value),
    only after `since` (naive means UTC) and of `metric` when given."""
    query = select(Sample.stream_id, Sample.metric, Sample.observed_at, Sample.value).where(
        Sample.stream_id.in_([s.id for s in event.streams])
    )
    if since is not None:
        query = query.where(
            Sample.observed_at > (since if since.tzinfo else since.replace(tzinfo=UTC))
        )
    if metric is not None:
        query = query.where(Sample.metric == metric)
    return session.execute(query.order_by(Sample.observed_at).limit(limit)).all()


def latest_samples(session: Session, stream_ids: Sequence[int]) -> list[Sample]:
    """The latest sample of each (stream, metric), to seed live aggregates after a restart."""
    newest = (
        select(Sample.stream_id, Sample.metric, func.max(Sample.observed_at).label("at"))
        .where(Sample.stream_id.in_(stream_ids))
        .group_by(Sample.stream_id, Sample.metric)
        .subquery()
    )
    query = select(Sample).join(
        newest,
        (Sample.stream_id == newest.c.stream_id)
        & (Sample.metric == newest.c.metric)
        & (Sample.observed_at == newest.c.at),
    )
    return list(session.scalars(query))


def peak_samples(session: Session, stream_ids: Sequence[int]) -> list[Sample]:
    """The highest sample (earliest on ties) of each (stream, metric)."""
    ranked = (
        select(
            Sample.id,
            func.row_number()
            .over(
                partition_by=(Sample.stream_id, Sample.metric),
                order_by=(Sample.value.desc(), Sample.observed_at),
            )
            .label("rank"),
        )
        .where(Sample.stream_id.in_(stream_ids))
        .subquery()
    )
    query = select(Sample).join(ranked, Sample.id == ranked.c.id).where(ranked.c.rank == 1)
    return list(session.scalars(query))


def last_polls(session: Session, stream_ids: Sequence[int]) -> dict[int, Poll]:
    """The most recent poll of each stream: its status, detail and time."""
    newest = (
        select(Poll.stream_id, func.max(Poll.scheduled_at).label("at"))
        .where(Poll.stream_id.in_(stream_ids))
        .group_by(Poll.stream_id)
        .subquery()
    )
    query = select(Poll).join(
        newest, (Poll.stream_id == newest.c.stream_id) & (Poll.scheduled_at == newest.c.at)
    )
    return {poll.stream_id: poll for poll in session.scalars(query)}
