"""The audit log: one entry per write, by whom, from where, with what. Each entry is written
in the transaction of the change it records, by the function that makes the change (web app,
API and CLI alike), so a change is never without its entry nor an entry without its change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jalsa.store.models import AuditEntry, User
from jalsa.timeutil import utc_now

# Who did it: an account, a name without an account (the CLI's operator, e.g. "cli:ayesha"),
# or None (anonymous: a failed login, the CLI without a name).
Actor = User | str | None


def audit(
    session: Session,
    *,
    actor: Actor,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    ip: str = "",
) -> None:
    """Record a write. Never pass a secret in `details`."""
    if isinstance(actor, User):
        user_id, name = actor.id, actor.username
    else:
        user_id, name = None, (actor or "anonymous")[:120]
    session.add(
        AuditEntry(
            at=utc_now(),
            user_id=user_id,
            actor=name,
            action=action,
            target=target[:200],
            details=details or {},
            ip=ip[:64],
        )
    )


def audit_entries(
    session: Session, before_id: int | None, limit: int
) -> tuple[list[AuditEntry], int | None]:
    """Up to `limit` entries older than `before_id` (all when None), newest first, and the
    `before_id` of the next (older) page, None on the last page. Paging by id stays correct
    while new entries arrive, unlike an offset."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else None
