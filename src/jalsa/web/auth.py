"""Team accounts: passwords (argon2), browser sessions, one-time invitations, API tokens and
the audit log (login throttling is in throttle.py). Only hashes of sessions, invitations and
tokens are stored: a copy of the database opens no account."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import false, select, text, update
from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.store.models import ApiToken, AuditEntry, Invitation, User, WebSession
from jalsa.timeutil import utc_now
from jalsa.web.permissions import TOKEN_SCOPES, Role

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a real password, used to keep timing equal")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "jls_"
TOKEN_TOUCH = timedelta(minutes=5)
FIRST_ADMIN_NOTE = "the first admin (printed by jalsa serve)"
FIRST_ADMIN_LOCK = 0x6A616C7361  # PostgreSQL advisory lock key ("jalsa")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_username(username: str) -> str:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise UserError(
            "a username is 2-64 characters: lower-case letters, digits, '.', '_' or '-'"
        )
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    return password


def create_user(
    session: Session, *, username: str, password: str, role: str, display_name: str = ""
) -> User:
    username = check_username(username)
    try:
        Role(role)
    except ValueError:
        raise UserError(
            f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}"
        ) from None
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"the username {username!r} is taken")
    user = User(
        username=username,
        display_name=display_name.strip()[:200],
        password_hash=_hasher.hash(check_password(password)),
        role=role,
        active=True,
        created_at=utc_now(),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else None (same work either way)."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utc_now()
    return user


# -- sessions ------------------------------------------------------------------------------


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
    row = session.get(WebSession, digest(token))
    if row is None or row.expires_at < utc_now():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def end_access(session: Session, user: User) -> dict[str, int]:
    """Deactivation: every session of the user ends and every token is revoked, for good, so
    reactivating the account later revives none of them (counts returned for the audit)."""
    sessions = list(session.scalars(select(WebSession).where(WebSession.user_id == user.id)))
    for row in sessions:
        session.delete(row)
    now = utc_now()
    tokens = list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        )
    )
    for token in tokens:
        token.revoked_at = now
    return {"sessions": len(sessions), "tokens": len(tokens)}


def end_session(session: Session, token: str) -> None:
    row = session.get(WebSession, digest(token))
    if row is not None:
        session.delete(row)


# -- invitations ---------------------------------------------------------------------------


def create_invitation(
    session: Session, *, role: str, created_by: int | None, note: str = "", hours: float = 72
) -> str:
    Role(role)
    token = secrets.token_urlsafe(24)
    now = utc_now()
    session.add(
        Invitation(
            token_hash=digest(token),
            role=role,
            note=note.strip()[:200],
            created_by=created_by,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return token


def open_invitation(session: Session, token: str) -> Invitation:
    invitation = session.get(Invitation, digest(token))
    if invitation is None or invitation.used_at is not None:
        raise UserError("this invitation link is not valid or was already used")
    if invitation.expires_at < utc_now():
        raise UserError("this invitation link has expired; ask for a new one")
    if _is_first_admin_link(invitation) and _admin_exists(session):
        raise UserError(
            "this first-admin link is void: an admin account exists now. Ask an admin for an "
            "invitation."
        )
    return invitation


@dataclass(frozen=True)
class FirstAdminLink:
    """The link that creates the first admin: `token` when this call created it, None when it
    existed already (another worker printed it; only its hash is stored)."""

    token: str | None
    expires_at: datetime


def first_admin_link(session: Session, hours: float = 24) -> FirstAdminLink | None:
    """On a store without accounts, the one-time link for the first admin, made once however
    many workers start together: they take a lock in the database in turn, and the first one
    makes the link. None when an account exists. The link is void as soon as an admin exists,
    whoever created that admin."""
    _lock_first_admin(session)
    if session.scalar(select(User.id).limit(1)) is not None:
        return None
    existing = session.scalar(
        select(Invitation)
        .where(
            Invitation.note == FIRST_ADMIN_NOTE,
            Invitation.created_by.is_(None),
            Invitation.used_at.is_(None),
            Invitation.expires_at > utc_now(),
        )
        .order_by(Invitation.expires_at.desc())
        .limit(1)
    )
    if existing is not None:
        return FirstAdminLink(None, existing.expires_at)
    token = create_invitation(
        session, role=Role.ADMIN.value, created_by=None, note=FIRST_ADMIN_NOTE, hours=hours
    )
    session.flush()
    created = session.get(Invitation, digest(token))
    assert created is not None
    return FirstAdminLink(token, created.expires_at)


def _lock_first_admin(session: Session) -> None:
    """Serialize first-admin checks until the transaction ends: an advisory lock on
    PostgreSQL; SQLite's write lock (taken by an UPDATE, even one that changes no row)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FIRST_ADMIN_LOCK})
    else:
        session.execute(update(Invitation).where(false()).values(note=Invitation.note))


def _is_first_admin_link(invitation: Invitation) -> bool:
    return invitation.note == FIRST_ADMIN_NOTE and invitation.created_by is None


def _admin_exists(session: Session) -> bool:
    query = select(User.id).where(User.role == Role.ADMIN.value, User.active.is_(True)).limit(1)
    return session.scalar(query) is not None


def accept_invitation(
    session: Session, token: str, *, username: str, password: str, display_name: str = ""
) -> User:
    invitation = open_invitation(session, token)
    user = create_user(
        session,
        username=username,
        password=password,
        role=invitation.role,
        display_name=display_name,
    )
    invitation.used_at = utc_now()
    invitation.used_by = user.id
    return user


# -- API tokens ----------------------------------------------------------------------------


def create_api_token(
    session: Session, user: User, name: str, *, scope: str = "api", vantage: str | None = None
) -> tuple[ApiToken, str]:
    """A new token (its plaintext is returned once). An "agent" token names its vantage."""
    name = name.strip()[:100]
    if not name:
        raise UserError("give the token a name, e.g. the machine it is for")
    if scope not in TOKEN_SCOPES:
        raise UserError(f"unknown token scope {scope!r}; one of {', '.join(TOKEN_SCOPES)}")
    vantage = (vantage or "").strip() or None
    if scope == "agent" and vantage is None:
        raise UserError("an agent token is for one vantage: name it (e.g. karachi-ptcl-1)")
    if vantage is not None and (scope != "agent" or len(vantage) > 100):
        raise UserError("a vantage name (at most 100 characters) belongs on agent tokens only")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=digest(plaintext),
        prefix=plaintext[:10],
        created_at=utc_now(),
        scope=scope,
        vantage=vantage,
    )
    session.add(row)
    session.flush()
    return row, plaintext


def lookup_api_token(session: Session, plaintext: str) -> tuple[User, ApiToken] | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(plaintext)))
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    now = utc_now()
    if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH:
        row.last_used_at = now  # at most once per TOKEN_TOUCH: a write per call is wasteful
    return user, row


# -- audit ---------------------------------------------------------------------------------


def audit(
    session: Session,
    *,
    actor: User | None,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    ip: str = "",
) -> None:
    """Record a write. Never pass a secret in `details`."""
    session.add(
        AuditEntry(
            at=utc_now(),
            user_id=actor.id if actor else None,
            actor=actor.username if actor else "anonymous",
            action=action,
            target=target[:200],
            details=details or {},
            ip=ip[:64],
        )
    )
