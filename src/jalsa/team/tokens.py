"""API tokens for scripts and vantage agents: each user manages their own. A new token is
returned once; only its digest and first characters are kept. A token's scope limits it
further than its owner's role (`jalsa.team.roles.TOKEN_SCOPES`)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jalsa.errors import NotFound, UserError
from jalsa.store.models import ApiToken, User
from jalsa.team.audit_log import audit
from jalsa.team.hashing import digest
from jalsa.team.roles import TOKEN_SCOPES
from jalsa.timeutil import utc_now

TOKEN_PREFIX = "jls_"
TOKEN_TOUCH = timedelta(minutes=5)


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


def issue_token(
    session: Session,
    user: User,
    name: str,
    *,
    scope: str = "api",
    vantage: str | None = None,
    ip: str = "",
) -> tuple[ApiToken, str]:
    """`create_api_token` for the user themselves, audited as "token.create"."""
    row, plaintext = create_api_token(session, user, name, scope=scope, vantage=vantage)
    _audit(session, user, "token.create", row, ip)
    return row, plaintext


def revoke_token(session: Session, user: User, token_id: int, *, ip: str = "") -> ApiToken:
    """Revoke one of the user's own tokens (audited as "token.revoke"; revoking twice is
    harmless); someone else's is "not found" to them."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"you have no API token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utc_now()
        _audit(session, user, "token.revoke", row, ip)
    return row


def own_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, those in use first, newest first."""
    query = (
        select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
    )
    return list(session.scalars(query))


def lookup_api_token(session: Session, plaintext: str) -> tuple[User, ApiToken] | None:
    """The active user and the token this plaintext is; None when it is unknown, revoked, or
    its owner is deactivated. Its last use is noted at most once per TOKEN_TOUCH."""
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


def _audit(session: Session, user: User, action: str, row: ApiToken, ip: str) -> None:
    details = {"token_id": row.id}
    audit(session, actor=user, action=action, target=row.name, details=details, ip=ip)
