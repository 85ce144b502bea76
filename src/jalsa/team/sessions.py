"""Browser sessions: a random cookie value (only its digest is stored) with its CSRF token,
valid for a number of hours, ended by logging out or by deactivating the account."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.orm import Session

from jalsa.store.models import User, WebSession
from jalsa.team.hashing import digest
from jalsa.timeutil import utc_now


def create_session(session: Session, user: User, hours: float) -> tuple[str, str]:
    """A new browser session: (cookie value, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utc_now()
    session.add(
        WebSession(
            token_hash=digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return token, csrf


def lookup_session(session: Session, token: str) -> tuple[User, WebSession] | None:
    """The active user and the session this cookie value opens; None when it is unknown,
    expired, or its account is deactivated."""
    row = session.get(WebSession, digest(token))
    if row is None or row.expires_at < utc_now():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def end_session(session: Session, token: str) -> None:
    """Log out: the session this cookie value opens ends (nothing happens if there is none)."""
    row = session.get(WebSession, digest(token))
    if row is not None:
        session.delete(row)
