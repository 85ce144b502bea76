"""The live dashboard's data: a snapshot, the timeline of stored samples, and the
Server-Sent Events stream that keeps a dashboard current and lets it resume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.ids import MAX_ID, parse_id
from jalsa.live.bus import Message
from jalsa.platforms.registry import CATALOGUE, METRICS, get_metric
from jalsa.store.repo import get_event, timeline_rows
from jalsa.team import Perm
from jalsa.timeutil import utc_now
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.routes.common import API_ERRORS, IdText
from jalsa.web.services import services

router = APIRouter(responses=API_ERRORS)
KEEPALIVE = 15.0  # seconds between SSE comments, so proxies keep the connection open


async def event_slug(request: Request, ref: str) -> str:
    """The event's own slug for a slug-or-id (NotFound if there is none): feeds are keyed by
    it, so `/api/events/1/...` and `/api/events/rally/...` share one feed, and `01` is no
    event at all."""

    def find() -> str:
        with services(request).store.session() as session:
            return get_event(session, ref).slug

    return await asyncio.to_thread(find)


@router.get("/api/metrics", tags=["live"])
async def metric_catalogue(
    who: Caller = Depends(Requires(Perm.VIEW_EVENTS)),
) -> list[dict[str, str]]:
    """Every metric's definition, unit and source field."""
    return [
        {
            "name": m.name,
            "label": m.label,
            "unit": m.unit,
            "kind": m.kind.value,
            "definition": m.definition,
            "source": m.source,
        }
        for m in CATALOGUE
    ]


@router.get("/api/events/{slug}/live", tags=["live"])
async def live_snapshot(
    slug: str, request: Request, who: Caller = Depends(Requires(Perm.VIEW_EVENTS))
) -> dict[str, Any]:
    """The live figures now: per stream the audience, peak, status and spend; the combined
    sum of concurrent audiences (not unique people). `seq` is the last message included."""
    feed = await services(request).feeds.current(await event_slug(request, slug))
    return {"seq": feed.bus.last_seq, **feed.snapshot(utc_now())}


class FeedOut(BaseModel):
    event: str = Field(description="The event's slug")
    listeners: int = Field(description="Live streams (SSE clients) open on this worker")
    following: bool = Field(description="Whether this worker follows the store for the event")
    wake: Literal["notify", "poll", "idle"] = Field(
        description="How it learns of new polls: PostgreSQL notifications, looking every "
        "0.25 s (SQLite, or while the notification connection is down), or not at all"
    )
    store_reads: int = Field(description="Times it read new polls from the store")
    last_poll_id: int = Field(description="The last poll it took in")


@router.get("/api/feeds", tags=["live"])
async def feeds_status(
    request: Request, who: Caller = Depends(Requires(Perm.VIEW_EVENTS))
) -> list[FeedOut]:
    """This worker's live feeds: which events it follows in the store and how, for operators
    (a worker without listeners reads nothing). Each worker answers for itself."""
    return [FeedOut(**status) for status in services(request).feeds.status()]


@router.get("/api/events/{slug}/timeline", tags=["live"])
async def timeline(
    slug: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_EVENTS)),
    since: Annotated[datetime | None, Query(description="Only samples after this time")] = None,
    metric: Annotated[str | None, Query(description="Only this catalogue metric")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 20_000,
) -> dict[str, Any]:
    """Stored samples of the event in time order, for charts: `[observed_at, value]` per
    stream and metric."""
    if metric is not None and metric not in METRICS:
        raise UserError(f"unknown metric {metric[:100]!r}; `jalsa metrics` lists them")
    event = get_event(session, slug)
    series: dict[str, dict[str, Any]] = {}
    count = 0
    for sid, name, at, value in timeline_rows(
        session, event, since=since, metric=metric, limit=limit
    ):
        key = f"{sid}:{name}"
        entry = series.setdefault(
            key, {"stream_id": sid, "metric": name, "unit": get_metric(name).unit, "points": []}
        )
        entry["points"].append([at.isoformat(), value])
        count += 1
    return {
        "event": slug,
        "samples": count,
        "truncated": count == limit,
        "series": list(series.values()),
    }


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


# One Server-Sent Event (in OpenAPI 3.1 the schema of a stream's media type describes each event).
SSE_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "id": {
            "type": "string",
            "description": "A poll id (a snapshot's is the last poll it includes): send it back "
            "as Last-Event-ID to resume",
        },
        "event": {"type": "string", "enum": ["snapshot", "poll"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "`snapshot`: the live figures as `/api/events/{slug}/live` gives "
            "them (first, unless resuming). `poll`: one stored poll: `event`, `stream` (its "
            "figures now), `samples` (`metric`, `at`, `value`), `combined` (`value`, "
            "`partial`, `at`) and `peak_of_sum`.",
        },
    },
}


@router.get(
    "/api/events/{slug}/stream",
    tags=["live"],
    response_class=EventStream,
    responses={
        200: {
            "description": "Server-Sent Events, never ending; a `: keepalive` comment every "
            "15 s when nothing else comes",
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        }
    },
)
async def live_stream(
    slug: str,
    request: Request,
    who: Caller = Depends(Requires(Perm.VIEW_EVENTS)),
    last_event_id: Annotated[
        str | None,
        Header(description="The last message id seen: resume after it (browsers send it)"),
    ] = None,
    after: Annotated[
        int | None, IdText, Query(ge=0, le=MAX_ID, description="Resume after this message id")
    ] = None,
) -> EventStream:
    """A `snapshot` first, then a `poll` message for every stored poll, as it is stored.
    Reconnecting with `Last-Event-ID` (browsers do it by themselves) gets exactly what was
    missed, from any worker that shares the database."""
    feed = await services(request).feeds.get(await event_slug(request, slug))
    sent = parse_id(last_event_id.strip(), minimum=0) if last_event_id else None
    resume = after if sent is None else sent

    async def events() -> AsyncIterator[str]:
        delivery = await feed.messages(resume)
        try:
            if resume is None:
                snapshot = {"seq": feed.bus.last_seq, **feed.snapshot(utc_now())}
                yield Message(feed.bus.last_seq, "snapshot", snapshot).sse
            yield "retry: 2000\n\n"
            while not await request.is_disconnected():
                message = await delivery.next(KEEPALIVE)
                yield message.sse if message is not None else ": keepalive\n\n"
        finally:
            await delivery.close()

    return EventStream(
        events(),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
