"""The audit log: every write through the web app, the API or the CLI, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jalsa.team import Perm, audit_entries
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.routes.common import API_ERRORS, MAX_ID, IdText, page

router = APIRouter(responses=API_ERRORS)
PAGE_SIZE = 50


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    ip: str


class AuditPage(BaseModel):
    entries: list[AuditOut]
    next_before_id: int | None = Field(
        description="Pass as `before_id` for the next (older) page; null on the last page."
    )


def audit_page(session: Session, before_id: int | None, limit: int) -> AuditPage:
    """Entries older than `before_id` (all when None), newest first."""
    rows, next_before_id = audit_entries(session, before_id, limit)
    return AuditPage(
        entries=[AuditOut.model_validate(r) for r in rows], next_before_id=next_before_id
    )


BeforeId = Annotated[
    int | None, IdText, Query(ge=1, le=MAX_ID, description="Only entries with a smaller id")
]


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_log_page(
    request: Request,
    before_id: BeforeId = None,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_AUDIT)),
) -> Response:
    found = audit_page(session, before_id, PAGE_SIZE)
    return page(
        request,
        "audit.html",
        who,
        {"entries": found.entries, "next_before_id": found.next_before_id, "first": not before_id},
    )


@router.get("/api/audit", tags=["audit"])
def api_audit(
    before_id: BeforeId = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_AUDIT)),
) -> AuditPage:
    """The audit log, newest first, a page at a time."""
    return audit_page(session, before_id, limit)
