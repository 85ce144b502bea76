"""An incident as pages, the API and the report show it: the stored row with the detector's
record read safely (an older or partial record may lack a field)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from jalsa.store.models import WatchIncident
from jalsa.watch.impact import Impact
from jalsa.watch.record import METHODS


class IncidentOut(BaseModel):
    id: str
    status: str = Field(description="open or closed")
    started_at: datetime
    ended_at: datetime | None = Field(description="None while the incident lasts.")
    platforms: list[str] = Field(description="The platforms it affects.")
    method: str
    method_definition: str = Field(description="What the method means (the verdict list).")
    confidence: float = Field(description="The detector's confidence, 0 to 1.")
    summary: str
    cities: list[str]
    networks: list[str]
    vantages: list[str]
    methods: dict[str, int] = Field(description="Failing measurements per method.")
    evidence_count: int = Field(description="Measurements that are its evidence.")
    impact: Impact | None = Field(description="The audience change during it (event views).")


def _names(record: dict[str, Any], key: str) -> list[str]:
    """A list of strings in the detector's record (`jalsa.watch.incidents.Incident`); an
    older or partial record may lack it."""
    value = record.get(key)
    return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []


def evidence_ids(incident: WatchIncident) -> list[str]:
    """The evidence measurements' ids, the first ones first."""
    return _names(incident.record, "evidence")


def _count(record: dict[str, Any], key: str) -> int | None:
    value = record.get(key)
    return value if isinstance(value, int) else None


def _methods(record: dict[str, Any]) -> dict[str, int]:
    value = record.get("methods")
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int)}


def incident_out(incident: WatchIncident, impact: Impact | None = None) -> IncidentOut:
    record = incident.record
    return IncidentOut(
        id=incident.id,
        status=incident.status,
        started_at=incident.started_at,
        ended_at=incident.ended_at,
        platforms=list(incident.platforms),
        method=incident.method,
        method_definition=METHODS.get(incident.method, "not one of the known methods"),
        confidence=incident.confidence,
        summary=incident.summary,
        cities=_names(record, "cities"),
        networks=_names(record, "networks"),
        vantages=_names(record, "vantages"),
        methods=_methods(record),
        evidence_count=_count(record, "evidence_count") or len(evidence_ids(incident)),
        impact=impact,
    )
