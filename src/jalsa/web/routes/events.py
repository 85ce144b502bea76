"""Events: the list, creating and editing one, as pages and as JSON. Both call the same
functions below, so a form and an API call are checked by the same rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jalsa.config import Settings
from jalsa.errors import UserError
from jalsa.store.models import Event
from jalsa.store.repo import create_event, get_event, list_events, update_event
from jalsa.team import Perm, audit
from jalsa.timeutil import parse_duration, parse_local, show, zone
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.routes.common import API_ERRORS, done, from_form, ip, page
from jalsa.web.routes.streams import StreamOut
from jalsa.web.services import services

router = APIRouter(responses=API_ERRORS)

MAX_DURATION = timedelta(days=7)
COMMON_ZONES = (
    "Asia/Karachi",
    "UTC",
    "Asia/Dubai",
    "Asia/Riyadh",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Toronto",
    "Australia/Sydney",
)

_STARTS = (
    "Start in the event's local time: 'YYYY-MM-DD HH:MM' (or ISO 8601; an explicit UTC "
    "offset wins over the time zone)."
)
_DURATION = "How long the event lasts: '2h', '90m', '1h30m' or a number of minutes (≤ 7 days)."
Hashtags = Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=30)]


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    starts: str = Field(min_length=1, max_length=40, description=_STARTS)
    duration: str = Field(min_length=1, max_length=20, description=_DURATION)
    timezone: str | None = Field(
        None, max_length=64, description="IANA time zone; default: the server's setting."
    )
    hashtags: Hashtags = Field(default_factory=list, description="e.g. ['#jalsa', '#rally']")
    slug: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9-]{0,79}$",
        description="Short name in addresses; default: made from the name.",
    )


class EventUpdate(BaseModel):
    """Only the fields given change. The slug and the time zone are fixed at creation."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=200)
    starts: str | None = Field(None, min_length=1, max_length=40, description=_STARTS)
    duration: str | None = Field(None, min_length=1, max_length=20, description=_DURATION)
    hashtags: Hashtags | None = None


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    hashtags: list[str]
    created_at: datetime


class EventDetail(EventOut):
    streams: list[StreamOut]


def _start(text: str, tz: str) -> datetime:
    try:
        start = parse_local(text, tz)
    except OverflowError:
        start = None
    if start is None or not 2000 <= start.year <= 2100:
        raise UserError(f"the start {text!r} is not between the years 2000 and 2100")
    return start


def _duration(text: str) -> timedelta:
    try:
        length: timedelta | None = parse_duration(text)
    except OverflowError:
        length = None
    if length is None or length > MAX_DURATION:
        raise UserError(f"the duration {text!r} is longer than 7 days; split the event")
    return length


def create(request: Request, session: Session, who: Caller, data: EventCreate) -> Event:
    settings: Settings = services(request).settings
    tz = data.timezone or settings.timezone
    zone(tz)
    event = create_event(
        session,
        name=data.name,
        starts_at=_start(data.starts, tz),
        duration=_duration(data.duration),
        timezone=tz,
        hashtags=data.hashtags,
        slug=data.slug,
    )
    audit(
        session,
        actor=who.user,
        action="event.create",
        target=event.slug,
        details={"name": event.name, "starts_at": event.starts_at.isoformat(), "timezone": tz},
        ip=ip(request),
    )
    return event


def update(
    request: Request, session: Session, who: Caller, event: Event, data: EventUpdate
) -> Event:
    changed = update_event(
        session,
        event,
        name=data.name,
        starts_at=_start(data.starts, event.timezone) if data.starts is not None else None,
        duration=_duration(data.duration) if data.duration is not None else None,
        hashtags=data.hashtags,
    )
    if changed:
        audit(
            session,
            actor=who.user,
            action="event.update",
            target=event.slug,
            details={"changed": changed},
            ip=ip(request),
        )
        services(request).feeds.refresh(event.slug)  # its end time feeds the spend forecast
    return event


def duration_text(event: Event) -> str:
    minutes = int((event.ends_at - event.starts_at).total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{rest}m" if rest or not hours else "")


def form_values(event: Event) -> dict[str, str]:
    return {
        "name": event.name,
        "starts": show(event.starts_at, event.timezone, "%Y-%m-%dT%H:%M"),
        "duration": duration_text(event),
        "timezone": event.timezone,
        "hashtags": " ".join(event.hashtags),
    }


# -- pages ---------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def events_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_EVENTS)),
) -> Response:
    return page(
        request,
        "events.html",
        who,
        {"events": list_events(session), "duration_text": duration_text},
    )


class EventFields(BaseModel):
    """The edit form as posted: text, which EventUpdate (or EventCreate) then checks."""

    name: str = ""
    starts: str = ""
    duration: str = ""
    hashtags: str = ""


class NewEventFields(EventFields):
    """The new-event form also sets what is fixed at creation."""

    timezone: str = ""
    slug: str = ""


def _form_page(
    request: Request,
    who: Caller,
    *,
    event: Event | None,
    values: dict[str, Any],
    error: UserError | None = None,
) -> Response:
    context = {"event": event, "values": values, "zones": COMMON_ZONES}
    return page(request, "event_form.html", who, context, error=error)


@router.get("/events/new", response_class=HTMLResponse, include_in_schema=False)
def new_event_page(request: Request, who: Caller = Depends(Requires(Perm.EDIT_EVENTS))) -> Response:
    settings: Settings = services(request).settings
    values = {"timezone": settings.timezone, "duration": "2h"}
    return _form_page(request, who, event=None, values=values)


@router.post("/events/new", include_in_schema=False)
def new_event_form(
    request: Request,
    form: Annotated[NewEventFields, Form()],
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_EVENTS)),
) -> Response:
    values = form.model_dump()
    data = {
        **values,
        "hashtags": [form.hashtags],
        "timezone": form.timezone or None,
        "slug": form.slug or None,
    }
    try:
        event = create(request, session, who, from_form(EventCreate, data))
    except UserError as exc:
        return _form_page(request, who, event=None, values=values, error=exc)
    return done(request, f"/events/{event.slug}/streams", f"Event {event.name} is created.")


@router.get("/events/{slug}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_event_page(
    request: Request,
    slug: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_EVENTS)),
) -> Response:
    event = get_event(session, slug)
    return _form_page(request, who, event=event, values=form_values(event))


@router.post("/events/{slug}/edit", include_in_schema=False)
def edit_event_form(
    request: Request,
    slug: str,
    form: Annotated[EventFields, Form()],
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_EVENTS)),
) -> Response:
    event = get_event(session, slug)
    values = form.model_dump()
    try:
        data = from_form(EventUpdate, {**values, "hashtags": [form.hashtags]})
        update(request, session, who, event, data)
    except UserError as exc:  # raised before anything changed
        shown = {**values, "timezone": event.timezone}
        return _form_page(request, who, event=event, values=shown, error=exc)
    return done(request, f"/events/{event.slug}", f"Event {event.name} is saved.")


# -- JSON API ------------------------------------------------------------------------------


@router.get("/api/events", tags=["events"])
def api_events(
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_EVENTS)),
) -> list[EventOut]:
    """Every event, newest start first. Times are UTC; `timezone` is how the team shows them."""
    return [EventOut.model_validate(e) for e in list_events(session)]


@router.post("/api/events", tags=["events"], status_code=201)
def api_event_create(
    request: Request,
    data: EventCreate,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_EVENTS)),
) -> EventDetail:
    """Create an event. A clash of slugs or an unreadable time is a 400 with the reason."""
    return EventDetail.model_validate(create(request, session, who, data))


@router.get("/api/events/{slug}", tags=["events"])
def api_event(
    slug: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_EVENTS)),
) -> EventDetail:
    """One event (by slug or id) with its streams."""
    return EventDetail.model_validate(get_event(session, slug))


@router.patch("/api/events/{slug}", tags=["events"])
def api_event_update(
    request: Request,
    slug: str,
    data: EventUpdate,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_EVENTS)),
) -> EventDetail:
    """Change an event's name, start, duration or hashtags."""
    event = update(request, session, who, get_event(session, slug), data)
    return EventDetail.model_validate(event)
