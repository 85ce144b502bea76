"""Internet disruptions as the team sees them: the incidents during an event with the audience
change on each platform (the dashboard's panel and chart bands poll this every 30 s), and the
page of every incident with the first measurements that are its evidence."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from jalsa.store.models import Event, WatchIncident
from jalsa.store.repo import events_between, get_event
from jalsa.team import Perm
from jalsa.watch.impact import audience_impact
from jalsa.watch.incident_view import IncidentOut, evidence_ids, incident_out
from jalsa.watch.record import METHODS, Measurement
from jalsa.watch.store import incidents_between, measurements_by_id
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.routes.common import API_ERRORS, app_now, page

router = APIRouter(responses=API_ERRORS)
EVIDENCE_SHOWN = 5  # measurements shown per incident on the incidents page
PAGE_INCIDENTS = 200  # newest incidents on the page


class EventIncidents(BaseModel):
    event: str
    timezone: str = Field(description="The event's time zone, for showing the UTC times.")
    computed_at: datetime
    incidents: list[IncidentOut] = Field(description="Overlapping the event, oldest first.")


def event_incidents(session: Session, event: Event, now: datetime) -> EventIncidents:
    """The incidents overlapping the event's time window, each with its audience change."""
    return EventIncidents(
        event=event.slug,
        timezone=event.timezone,
        computed_at=now,
        incidents=[
            incident_out(i, audience_impact(session, i, event, now=now))
            for i in incidents_between(session, event.starts_at, event.ends_at)
        ],
    )


@router.get(
    "/api/events/{slug}/incidents",
    tags=["watch"],
    dependencies=[Depends(Requires(Perm.VIEW_WATCH))],
)
def api_event_incidents(
    request: Request,
    slug: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_EVENTS)),
) -> EventIncidents:
    """Internet disruptions during the event (incidents overlapping its time window, open
    ones lasting until now), each with the audience change on every platform of the event;
    `impact.definition` says exactly what is computed. A change that cannot be measured is
    null with the reason, never zero."""
    return event_incidents(session, get_event(session, slug), app_now(request))


def _events_during(session: Session, incident: WatchIncident, now: datetime) -> list[Event]:
    return events_between(session, incident.started_at, incident.ended_at or now)


@router.get("/watch/incidents", response_class=HTMLResponse, include_in_schema=False)
def incidents_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_WATCH)),
) -> Response:
    now = app_now(request)
    incidents = incidents_between(session)[::-1][:PAGE_INCIDENTS]
    shown = {i.id: evidence_ids(i)[:EVIDENCE_SHOWN] for i in incidents}
    found = measurements_by_id(session, [m for ids in shown.values() for m in ids])
    by_id: dict[str, Measurement] = {m.id: m for m in found}
    rows = [
        {
            "incident": incident_out(i),
            "evidence": [by_id[m] for m in shown[i.id] if m in by_id],
            "events": _events_during(session, i, now),
        }
        for i in incidents
    ]
    return page(request, "incidents.html", who, {"rows": rows, "methods": METHODS})
