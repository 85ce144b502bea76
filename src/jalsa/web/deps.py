"""Request dependencies: who is calling (session cookie or API token), whether their role
allows the route, CSRF for cookie-authenticated writes, and the open store."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from jalsa.store import Store
from jalsa.store.models import User
from jalsa.team import Perm, allowed, lookup_api_token, lookup_session, token_allows
from jalsa.web.services import services

SESSION_COOKIE = "jalsa_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotLoggedIn(Exception):
    """No valid session or token: pages redirect to the login form, the API answers 401."""


def get_store(request: Request) -> Store:
    return services(request).store


def db(request: Request) -> Iterator[Session]:
    """A session in a transaction for the request: committed if the handler succeeds."""
    with get_store(request).session() as session:
        yield session


@dataclass
class Caller:
    user: User
    csrf_token: str | None  # None for API-token callers (no cookie, so no CSRF risk)
    via_token: bool
    scope: str | None = None  # an API token's scope ("api", "agent"); None for a session
    vantage: str | None = None  # the vantage an agent token is for

    @property
    def role(self) -> str:
        return self.user.role


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def _csrf_from(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def caller(request: Request) -> Caller:
    """Who is calling. A plain function, so FastAPI runs it in a worker thread (database work
    must never block the event loop), with its own short transaction: a live stream that runs
    for hours must not hold a database connection."""
    with get_store(request).session() as session:
        return _identify(request, session)


def _identify(request: Request, session: Session) -> Caller:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        found = lookup_api_token(session, auth[7:].strip())
        if found is None:
            raise NotLoggedIn("invalid or revoked API token")
        user, token = found
        return Caller(user, None, via_token=True, scope=token.scope, vantage=token.vantage)
    cookie = request.cookies.get(SESSION_COOKIE)
    found_session = lookup_session(session, cookie) if cookie else None
    if found_session is None:
        raise NotLoggedIn("not logged in")
    user, web_session = found_session
    return Caller(user, web_session.csrf_token, via_token=False)


class Requires:
    """`Depends(Requires(Perm.X))`: the caller, if their role has permission X; else 403.
    The permission is kept on the object so tests can read every route's requirement."""

    def __init__(self, perm: Perm) -> None:
        self.perm = perm

    async def __call__(self, request: Request, who: Caller = Depends(caller)) -> Caller:
        if not who.via_token and request.method not in SAFE_METHODS:
            sent = await _csrf_from(request)
            if not sent or not hmac.compare_digest(sent, who.csrf_token or ""):
                raise HTTPException(403, "missing or wrong CSRF token; reload the page")
        if not allowed(who.role, self.perm):
            raise HTTPException(403, f"your role ({who.role}) may not do this ({self.perm})")
        if who.scope is not None and not token_allows(who.scope, self.perm):
            raise HTTPException(
                403, f"this API token's scope ({who.scope}) does not allow this ({self.perm})"
            )
        return who
