"""An event's streams: the page that lists them and attaches one, and the same in JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.platforms.registry import CONNECTORS, connector_for
from jalsa.store.models import Event, Stream
from jalsa.store.repo import add_stream, get_event
from jalsa.team import Perm, audit
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.routes.common import API_ERRORS, done, from_form, ip, page
from jalsa.web.services import services

router = APIRouter(responses=API_ERRORS)


def _known_kind(kind: str) -> str:
    try:
        connector_for(kind)
    except UserError as exc:
        raise ValueError(str(exc)) from None
    return kind


StreamKind = Annotated[
    str,
    AfterValidator(_known_kind),
    WithJsonSchema({"type": "string", "enum": sorted(CONNECTORS)}),
]


class StreamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: StreamKind = Field(description="The platform API: one of the connector kinds.")
    external_id: str = Field(
        min_length=1,
        max_length=200,
        description="The platform's id of the broadcast (what it is depends on the kind).",
    )
    label: str = Field("", max_length=200, description="A name for the team, e.g. 'Main stage'.")


class StreamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    external_id: str
    label: str
    created_at: datetime


def connector_choices() -> list[dict[str, str]]:
    """The stream kinds for a form: kind, title and what the id is."""
    return [
        {"kind": kind, "title": cls.title, "id_help": cls.id_help}
        for kind, cls in sorted(CONNECTORS.items())
    ]


def attach_stream(
    request: Request, session: Session, who: Caller, event: Event, data: StreamCreate
) -> Stream:
    """Attach a stream (idempotent: the same kind and id twice is one stream) and restart the
    event's live feed so dashboards include it."""
    known = {s.id for s in event.streams}
    stream = add_stream(
        session, event, kind=data.kind, external_id=data.external_id, label=data.label
    )
    if stream.id not in known:
        audit(
            session,
            actor=who.user,
            action="stream.add",
            target=event.slug,
            details={
                "stream_id": stream.id,
                "kind": stream.kind,
                "external_id": stream.external_id,
            },
            ip=ip(request),
        )
        services(request).feeds.refresh(event.slug)
    return stream


# -- pages ---------------------------------------------------------------------------------


def _streams_page(
    request: Request,
    who: Caller,
    event: Event,
    *,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "streams.html",
        who,
        {
            "event": event,
            "streams": list(event.streams),
            "titles": {kind: cls.title for kind, cls in CONNECTORS.items()},
            "connectors": connector_choices(),
            "values": values or {},
            "error": error,
        },
        status_code,
    )


@router.get("/events/{slug}/streams", response_class=HTMLResponse, include_in_schema=False)
def streams_page(
    request: Request,
    slug: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_EVENTS)),
) -> Response:
    return _streams_page(request, who, get_event(session, slug))


@router.post("/events/{slug}/streams", include_in_schema=False)
def streams_add_form(
    request: Request,
    slug: str,
    kind: Annotated[str, Form()] = "",
    external_id: Annotated[str, Form()] = "",
    label: Annotated[str, Form()] = "",
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_EVENTS)),
) -> Response:
    event = get_event(session, slug)
    values = {"kind": kind, "external_id": external_id, "label": label}
    try:
        stream = attach_stream(request, session, who, event, from_form(StreamCreate, values))
    except UserError as exc:
        return _streams_page(request, who, event, error=str(exc), values=values, status_code=400)
    return done(
        request,
        f"/events/{event.slug}/streams",
        f"Stream {stream.label or stream.external_id} ({stream.kind}) is attached.",
    )


# -- JSON API ------------------------------------------------------------------------------


@router.get("/api/events/{slug}/streams", tags=["events"])
def api_streams(
    slug: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_EVENTS)),
) -> list[StreamOut]:
    """The event's streams."""
    return [StreamOut.model_validate(s) for s in get_event(session, slug).streams]


@router.post("/api/events/{slug}/streams", tags=["events"], status_code=201)
def api_stream_add(
    request: Request,
    slug: str,
    data: StreamCreate,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_EVENTS)),
) -> StreamOut:
    """Attach a stream to the event. The same kind and id again returns the existing one."""
    stream = attach_stream(request, session, who, get_event(session, slug), data)
    return StreamOut.model_validate(stream)
