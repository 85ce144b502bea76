"""Team accounts: usernames and passwords, logging in, the team list, and changing an
account's role or deactivating it (which ends its sessions and revokes its tokens at once).
Who may change whom is checked by the callers; the rule that holds whoever calls is here: the
team never loses its last active admin."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jalsa.errors import NotFound, UserError
from jalsa.store.models import ApiToken, User, WebSession
from jalsa.team.audit_log import audit
from jalsa.team.hashing import hash_password, needs_rehash, verify_password
from jalsa.team.roles import Perm, Role, allowed
from jalsa.timeutil import utc_now

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10


def check_username(username: str) -> str:
    """The username as stored (trimmed, lower case); a UserError says what a username is."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise UserError(
            "a username is 2-64 characters: lower-case letters, digits, '.', '_' or '-'"
        )
    return username


def check_password(password: str) -> str:
    """The password, if it is long enough (MIN_PASSWORD); else a UserError."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    return password


def create_user(
    session: Session, *, username: str, password: str, role: str, display_name: str = ""
) -> User:
    """A new active account (flushed, so it has its id); a taken username or an unknown
    role is a UserError. The caller audits it."""
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
        password_hash=hash_password(check_password(password)),
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
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utc_now()
    return user


def log_in(session: Session, username: str, password: str, *, ip: str = "") -> User | None:
    """`authenticate`, with its audit entry: "login", or "login.failed" naming the username
    tried (login throttling is the web app's, in front of this)."""
    user = authenticate(session, username, password)
    if user is None:
        audit(session, actor=None, action="login.failed", target=username[:64], ip=ip)
    else:
        audit(session, actor=user, action="login", ip=ip)
    return user


# -- the team --------------------------------------------------------------------------------


def find_user(session: Session, user_id: int) -> User | None:
    """The account with this id, active or not; None if there is none."""
    return session.get(User, user_id)


def members(session: Session) -> list[User]:
    """Every account, the active ones first, by username."""
    return list(session.scalars(select(User).order_by(User.active.desc(), User.username)))


def members_who_may(session: Session, perm: Perm) -> list[User]:
    """The active accounts whose role has `perm`, by username."""
    users = session.scalars(select(User).where(User.active).order_by(User.username))
    return [u for u in users if allowed(u.role, perm)]


def display_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Each account's display name (else its username), by id."""
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    users = session.scalars(select(User).where(User.id.in_(wanted)))
    return {u.id: u.display_name or u.username for u in users}


def active_admins(session: Session) -> int:
    """How many active admins the team has."""
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)
    return session.scalar(query) or 0


def change_user(
    session: Session,
    actor: User,
    user_id: int,
    *,
    role: str | None = None,
    active: bool | None = None,
    ip: str = "",
) -> User:
    """Change a role or deactivate (audited as "user.update"); the team never loses its last
    active admin."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    role = role if role is not None else user.role
    active = active if active is not None else user.active
    was_admin = user.role == Role.ADMIN and user.active
    if was_admin and not (role == Role.ADMIN and active) and active_admins(session) <= 1:
        raise UserError(f"{user.username} is the last active admin; make someone else admin first")
    details: dict[str, object] = {}
    if role != user.role:
        details["role"] = [user.role, role]
    if active != user.active:
        details["active"] = active
    if details:
        if user.active and not active:
            details["ended"] = end_access(session, user)
        user.role, user.active = role, active
        audit(
            session,
            actor=actor,
            action="user.update",
            target=user.username,
            details=details,
            ip=ip,
        )
    return user


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
