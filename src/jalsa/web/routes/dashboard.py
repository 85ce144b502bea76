"""The live dashboard page. The page itself carries only what does not change (the event, its
streams, labels, units, the time zone) as JSON; static/dashboard.js loads the history from the
timeline API and follows the SSE stream for everything else."""

from __future__ import annotations

from typing import Any

import anyio.from_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from jalsa.config import Settings
from jalsa.metrics import Kind
from jalsa.platforms.base import Connector, StreamStatus
from jalsa.platforms.registry import CATALOGUE, CONNECTORS, audience_metric, get_metric
from jalsa.store.models import Stream
from jalsa.store.repo import get_event
from jalsa.timeutil import utc_now
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.permissions import Perm
from jalsa.web.routes.common import API_ERRORS, page

router = APIRouter(responses=API_ERRORS)

# What each stream status means for the team, in words (the dashboard shows these).
STATUS_TEXT: dict[StreamStatus, str] = {
    StreamStatus.PENDING: "waiting for the first poll",
    StreamStatus.OK: "OK — live, readings stored",
    StreamStatus.NOT_LIVE: "not live (not started yet, or ended)",
    StreamStatus.RATE_LIMITED: "rate limited — waiting as the platform asked",
    StreamStatus.QUOTA_EXCEEDED: "daily quota used up — no readings until it resets",
    StreamStatus.AUTH_FAILED: "credential missing or refused — check Credentials",
    StreamStatus.NOT_FOUND: "not found — check the stream id",
    StreamStatus.BAD_RESPONSE: "unexpected answer from the platform",
    StreamStatus.SERVER_ERROR: "the platform's server failed (5xx)",
    StreamStatus.TIMEOUT: "no answer in time (slow or blocked network?)",
    StreamStatus.NETWORK_ERROR: "cannot reach the platform (blocked or offline?)",
}

COMBINED_LABEL = "sum of concurrent audiences across platforms — not unique people"


def chart_metric(cls: type[Connector]) -> str | None:
    """The metric drawn for a stream: its live audience, else a per-minute volume (X posts)."""
    audience = audience_metric(cls)
    if audience:
        return audience
    per_minute = [m for m in cls.metrics if get_metric(m).kind is Kind.PER_MINUTE]
    return per_minute[0] if per_minute else None


def stream_info(stream: Stream, settings: Settings) -> dict[str, Any]:
    cls = CONNECTORS[stream.kind]
    audience = audience_metric(cls)
    chart = chart_metric(cls)
    platform = cls.platform
    spend_field, spend_unit = cls.spend  # the spend that matters for the platform
    return {
        "id": stream.id,
        "kind": stream.kind,
        "platform": platform,
        "title": cls.title,
        "label": stream.label or cls.title,
        "external_id": stream.external_id,
        "audience_metric": audience,
        "chart_metric": chart,
        "unit": get_metric(chart).unit if chart else None,
        "chart_label": get_metric(chart).label if chart else None,
        "no_audience": (
            None if chart else f"audience unknown ({platform.title()}'s API gives no viewer count)"
        ),
        # Seconds between polls: a longer silence is drawn as a gap, not as a line.
        "interval": float(getattr(settings, cls.interval_setting)),
        "spend_field": spend_field,
        "spend_unit": spend_unit,
    }


@router.get("/events/{slug}", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(
    request: Request,
    slug: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_EVENTS)),
) -> Response:
    settings: Settings = request.app.state.settings
    event = get_event(session, slug)
    streams = [stream_info(s, settings) for s in event.streams]
    intervals = [s["interval"] for s in streams if s["audience_metric"]]
    snapshot = {
        "seq": None,
        # A worker thread asks the event loop for the feed (built once, in its own thread).
        **anyio.from_thread.run(request.app.state.feeds.current, event.slug).snapshot(utc_now()),
    }
    data = {
        "slug": event.slug,
        "timezone": event.timezone,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "streams": streams,
        "status_text": {s.value: text for s, text in STATUS_TEXT.items()},
        "metrics": {m.name: {"label": m.label, "unit": m.unit} for m in CATALOGUE},
        "youtube_daily_quota": settings.youtube_daily_quota,
        # With no poll received for this long, the figures on screen are old: say so.
        "quiet_after_seconds": 3 * max(intervals, default=60.0),
        "snapshot": snapshot,
    }
    return page(
        request,
        "dashboard.html",
        who,
        {
            "event": event,
            "streams": streams,
            "data": data,
            "combined_label": COMBINED_LABEL,
        },
    )
