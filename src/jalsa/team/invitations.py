"""One-time invitation links (only their digest is stored), and the first admin's: on a store
without accounts `jalsa serve` prints one link that creates an admin, made once however many
workers start together, and void as soon as an admin exists."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import false, select, text, update
from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.store.models import Invitation, User
from jalsa.team.accounts import create_user
from jalsa.team.audit_log import audit
from jalsa.team.hashing import digest
from jalsa.team.roles import Role
from jalsa.timeutil import utc_now

FIRST_ADMIN_NOTE = "the first admin (printed by jalsa serve)"
FIRST_ADMIN_LOCK = 0x6A616C7361  # PostgreSQL advisory lock key ("jalsa")
PENDING_SHOWN = 50  # pending invitations the team page lists


def create_invitation(
    session: Session, *, role: str, created_by: int | None, note: str = "", hours: float = 72
) -> str:
    """A one-time link's token for a new member with `role`, valid for `hours` (only its
    digest is stored). The caller checks who may invite and audits it (or calls `invite`)."""
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


def invite(
    session: Session, actor: User, *, role: Role, note: str = "", hours: float = 72, ip: str = ""
) -> str:
    """A new invitation by `actor`, audited as "invitation.create"; the link's token (shown
    once). Whether the actor may invite this role (`can_invite`) is the caller's check."""
    token = create_invitation(session, role=role, created_by=actor.id, note=note, hours=hours)
    audit(
        session,
        actor=actor,
        action="invitation.create",
        target=role,
        details={"role": role.value, "note": note, "hours": hours},
        ip=ip,
    )
    return token


def pending_invitations(session: Session) -> list[Invitation]:
    """Invitations not used and not expired, newest first (at most PENDING_SHOWN)."""
    query = (
        select(Invitation)
        .where(Invitation.used_at.is_(None), Invitation.expires_at > utc_now())
        .order_by(Invitation.created_at.desc())
        .limit(PENDING_SHOWN)
    )
    return list(session.scalars(query))


def open_invitation(session: Session, token: str) -> Invitation:
    """The invitation this link opens; a UserError when it is unknown, used, expired, or the
    first admin's link once an admin exists."""
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


def accept_invitation(
    session: Session,
    token: str,
    *,
    username: str,
    password: str,
    display_name: str = "",
    ip: str = "",
) -> User:
    """The account the invitation makes, audited as "user.joined"; the link is used up."""
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
    audit(
        session,
        actor=user,
        action="user.joined",
        target=user.username,
        details={"role": invitation.role},
        ip=ip,
    )
    return user


# -- the first admin -------------------------------------------------------------------------


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
