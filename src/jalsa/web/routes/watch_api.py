"""The disruption watch's JSON API: vantage agents upload measurements and ask for control
observations; the team reads incidents and measurements.

Uploads are idempotent (measurements are keyed by the id their agent made), so an agent that
lost an answer simply sends the batch again."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jalsa.store.models import WatchIncident
from jalsa.store.repo import get_event
from jalsa.team import Perm, allowed
from jalsa.watch.record import Measurement, Observations, Target
from jalsa.watch.service import MAX_CONTROL_TARGETS, list_measurements
from jalsa.watch.store import incidents_between
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.routes.common import API_ERRORS, ip
from jalsa.web.services import services

router = APIRouter(responses=API_ERRORS, tags=["watch"])
MAX_BATCH = 500

# A DNS name (not an address): what a target must be.
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
# The store's column widths (see store/models.py WatchMeasurement).
_WIDTHS = {"id": 120, "target": 253, "platform": 32, "source": 200}
_VANTAGE_WIDTH = 100


def _aware(value: datetime | None) -> datetime | None:
    """A query time without a zone is read as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _storable(m: Measurement) -> Measurement:
    """What the store can keep, checked before anything is stored: a bad record is a 422 that
    names it, never a 500 from the database."""
    for name, width in _WIDTHS.items():
        value = getattr(m, name)
        if not value or len(value) > width:
            raise ValueError(f"{name} must have 1 to {width} characters")
    for name in ("name", "city", "network"):
        if len(getattr(m.vantage, name)) > _VANTAGE_WIDTH:
            raise ValueError(f"vantage.{name} must have at most {_VANTAGE_WIDTH} characters")
    if not m.vantage.name:
        raise ValueError("vantage.name must not be empty")
    if len(m.verdict.method) > 32:
        raise ValueError("verdict.method must have at most 32 characters")
    for name in ("round_at", "started_at", "finished_at"):
        if getattr(m, name).tzinfo is None:
            raise ValueError(f"{name} needs a time zone (e.g. 2023-12-17T15:00:00Z)")
    if "\\u0000" in m.model_dump_json():
        raise ValueError("text must not contain NUL characters")
    return m


def _probeable(t: Target) -> Target:
    if not _HOSTNAME.match(t.host):
        raise ValueError(f"host must be a DNS name, not {t.host[:80]!r}")
    if not 1 <= t.port <= 65535:
        raise ValueError("port must be between 1 and 65535")
    if not t.path.startswith("/") or len(t.path) > 2000:
        raise ValueError("path must start with '/' and have at most 2000 characters")
    return t


class MeasurementBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measurements: list[Annotated[Measurement, AfterValidator(_storable)]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"Up to {MAX_BATCH} measurements; ids already stored are skipped.",
    )


class SubmitOut(BaseModel):
    stored: int = Field(description="Measurements stored now.")
    duplicate: int = Field(description="Measurements already stored (a repeated upload).")
    incidents: int = Field(description="Incident changes (opened, updated, closed) they caused.")


class ControlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[Annotated[Target, AfterValidator(_probeable)]] = Field(
        min_length=1, max_length=MAX_CONTROL_TARGETS
    )


class ControlOut(BaseModel):
    host: str
    port: int
    observations: Observations | None = Field(
        description="What the server saw; null when it did not probe (see `error`)."
    )
    error: str | None = None
    cached: bool = Field(description="Observed for an earlier call in the last ~30 s.")


class IncidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    platforms: list[str]
    method: str
    confidence: float
    summary: str
    record: dict[str, Any] = Field(description="The detector's whole incident.")


def check_vantages(who: Caller, vantages: list[str]) -> None:
    """An agent token uploads for the vantage named on it; other callers need
    watch:submit-any (coordinators, admins): a volunteer cannot write as another vantage."""
    if who.scope == "agent":
        others = [name for name in vantages if name != who.vantage]
        if others:
            raise HTTPException(
                403, f"this agent token is for vantage {who.vantage!r}, not {others[0]!r}"
            )
    elif not allowed(who.role, Perm.SUBMIT_ANY_VANTAGE):
        raise HTTPException(
            403, "upload with an agent token made for your vantage (on the Tokens page)"
        )


@router.post("/api/watch/measurements")
async def upload_measurements(
    request: Request,
    batch: MeasurementBatch,
    who: Caller = Depends(Requires(Perm.SUBMIT_WATCH)),
) -> SubmitOut:
    """Upload a vantage agent's measurements. Storing is by id: sending a batch again stores
    nothing twice. New measurements go to the incident detector."""
    check_vantages(who, sorted({m.vantage.name for m in batch.measurements}))
    result = await services(request).watch.submit(batch.measurements, by=who.user, ip=ip(request))
    return SubmitOut(
        stored=result.stored, duplicate=result.duplicate, incidents=len(result.changes)
    )


@router.post("/api/watch/control")
async def control(
    request: Request,
    data: ControlRequest,
    who: Caller = Depends(Requires(Perm.SUBMIT_WATCH)),
) -> list[ControlOut]:
    """Observe the targets from the server's network, for agents to compare with their own
    (one probe per target per ~30 s, shared by every caller). Audited: it makes the server
    connect somewhere on the caller's behalf."""
    results = await services(request).watch.control(data.targets, by=who.user, ip=ip(request))
    return [
        ControlOut(
            host=r.target.host,
            port=r.target.port,
            observations=r.observations,
            error=r.error,
            cached=r.cached,
        )
        for r in results
    ]


@router.get("/api/watch/incidents")
def incidents(
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_WATCH)),
    since: Annotated[datetime | None, Query(description="Incidents lasting until at least")] = None,
    until: Annotated[datetime | None, Query(description="Incidents started by")] = None,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    event: Annotated[str | None, Query(description="Within this event's time (slug)")] = None,
) -> list[IncidentOut]:
    """Disruption incidents that overlap the time span, oldest first."""
    since, until = _aware(since), _aware(until)
    if event is not None:
        found = get_event(session, event)
        since = max(since, found.starts_at) if since else found.starts_at
        until = min(until, found.ends_at) if until else found.ends_at
    rows: list[WatchIncident] = incidents_between(session, since, until)
    return [IncidentOut.model_validate(r) for r in rows if status is None or r.status == status]


@router.get("/api/watch/measurements")
def measurements(
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_WATCH)),
    vantage: Annotated[str | None, Query(max_length=100)] = None,
    platform: Annotated[str | None, Query(max_length=32)] = None,
    target: Annotated[str | None, Query(max_length=253)] = None,
    since: Annotated[datetime | None, Query(description="Started at or after")] = None,
    until: Annotated[datetime | None, Query(description="Started before (to page back)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[Measurement]:
    """Stored measurements, newest first."""
    return list_measurements(
        session,
        vantage=vantage,
        platform=platform,
        target=target,
        since=_aware(since),
        until=_aware(until),
        limit=limit,
    )
