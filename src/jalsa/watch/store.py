"""Reading and writing watch measurements and incidents in the operational store.

Measurements are keyed by the id their agent gave them, so an upload that is repeated after a
lost answer stores nothing twice; incidents are keyed by the detector's deterministic id and
upserted as they change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jalsa.store.db import upsert
from jalsa.store.models import WatchIncident, WatchMeasurement
from jalsa.timeutil import utc_now
from jalsa.watch.record import Measurement


def save_measurements(
    session: Session, measurements: Sequence[Measurement], *, submitted_by: int | None = None
) -> list[Measurement]:
    """Store the measurements not stored yet; return those that were new (in input order)."""
    ids = [m.id for m in measurements]
    known = set(session.scalars(select(WatchMeasurement.id).where(WatchMeasurement.id.in_(ids))))
    new = [m for m in dict((m.id, m) for m in measurements).values() if m.id not in known]
    now = utc_now()
    upsert(
        session,
        WatchMeasurement,
        [
            {
                "id": m.id,
                "round_at": m.round_at,
                "started_at": m.started_at,
                "target": m.target,
                "platform": m.platform,
                "vantage": m.vantage.name,
                "city": m.vantage.city,
                "network": m.vantage.network,
                "method": m.verdict.method,
                "blocked": m.verdict.blocked,
                "latency_ms": m.latency_ms,
                "source": m.source,
                "record": m.model_dump(mode="json"),
                "received_at": now,
                "submitted_by": submitted_by,
            }
            for m in new
        ],
        keys=["id"],
    )
    return new


def measurements_since(session: Session, since: datetime) -> list[Measurement]:
    """Every measurement from `since` on, in round order: what the detector replays after a
    restart."""
    rows = session.scalars(
        select(WatchMeasurement.record)
        .where(WatchMeasurement.round_at >= since)
        .order_by(WatchMeasurement.round_at, WatchMeasurement.id)
    )
    return [Measurement.model_validate(r) for r in rows]


def measurements_by_id(session: Session, ids: Iterable[str]) -> list[Measurement]:
    rows = session.scalars(
        select(WatchMeasurement.record).where(WatchMeasurement.id.in_(list(ids)))
    )
    return [Measurement.model_validate(r) for r in rows]


def save_incident(
    session: Session,
    *,
    id: str,
    status: str,
    started_at: datetime,
    ended_at: datetime | None,
    platforms: list[str],
    method: str,
    confidence: float,
    summary: str,
    record: dict[str, object],
) -> None:
    """Insert or update one incident (the detector's id is the key)."""
    row = {
        "id": id,
        "status": status,
        "started_at": started_at,
        "ended_at": ended_at,
        "platforms": platforms,
        "method": method,
        "confidence": confidence,
        "summary": summary,
        "record": record,
        "updated_at": utc_now(),
    }
    upsert(session, WatchIncident, [row], keys=["id"], update=[k for k in row if k != "id"])


def incidents_between(
    session: Session, start: datetime | None = None, end: datetime | None = None
) -> list[WatchIncident]:
    """Incidents that overlap [start, end] (open ones count as lasting until now), oldest
    first. No bounds: all of them."""
    query = select(WatchIncident).order_by(WatchIncident.started_at, WatchIncident.id)
    if end is not None:
        query = query.where(WatchIncident.started_at <= end)
    if start is not None:
        query = query.where(or_(WatchIncident.ended_at.is_(None), WatchIncident.ended_at >= start))
    return list(session.scalars(query))
