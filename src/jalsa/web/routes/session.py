"""Logging in and out, and joining the team through an invitation link."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.store.models import User
from jalsa.team import (
    accept_invitation,
    create_session,
    end_session,
    log_in,
    lookup_session,
    open_invitation,
)
from jalsa.web.deps import SESSION_COOKIE, client_ip, db
from jalsa.web.services import services
from jalsa.web.templating import templates
from jalsa.web.throttle import DEVICE_COOKIE, DEVICE_DAYS, device_cookie, known_device

LOGIN_CSRF_COOKIE = "jalsa_login_csrf"

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only local paths: an attacker's link must not bounce a volunteer to another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def _login_response(request: Request, session: Session, user: User, target: str) -> Response:
    settings = services(request).settings
    token, _csrf = create_session(session, user, settings.session_hours)
    response = RedirectResponse(_safe_next(target), status_code=303)
    secure = settings.cookie_secure
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" if secure is None else secure,
    )
    return response


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _login_page(
    request: Request, next: str, error: str | None, status: int = 200, **headers: str
) -> Response:
    """The login form with its CSRF token: a random value in a cookie and in the form, which a
    page on another site can neither read nor set (so it cannot log a volunteer in as the
    attacker, to harvest what they type)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"next": _safe_next(next), "error": error, "user": None, "csrf_token": token},
        status_code=status,
        headers=headers or None,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next, None)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=1000)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    session: Session = Depends(db, scope="function"),
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf_token, expected):
        return _login_page(request, next, "The form had expired. Please log in again.", 403)
    found = services(request)
    throttle = found.login_throttle
    address = client_ip(request)
    device_key = found.device_key
    known = known_device(device_key, request.cookies.get(DEVICE_COOKIE), username)
    wait = throttle.retry_after(username, address, known_device=known)
    if wait is not None:
        minutes = int(wait // 60) + 1
        message = f"Too many failed attempts. Try again in {minutes} minutes."
        return _login_page(request, next, message, 429, **{"Retry-After": str(int(wait) + 1)})
    user = log_in(session, username, password, ip=address)
    if user is None:
        throttle.failed(username, address)
        return _login_page(request, next, "Wrong username or password.", 401)
    throttle.succeeded(username, address)
    response = _login_response(request, session, user, next)
    response.set_cookie(
        DEVICE_COOKIE,
        device_cookie(device_key, user.username),
        max_age=DEVICE_DAYS * 86400,
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    session: Session = Depends(db, scope="function"),
) -> Response:
    """End the session. Only with the session's CSRF token: a page elsewhere must not be able
    to log a moderator out in the middle of the rally."""
    token = request.cookies.get(SESSION_COOKIE)
    found = lookup_session(session, token) if token else None
    if found is not None:
        if not hmac.compare_digest(csrf_token, found[1].csrf_token):
            raise HTTPException(403, "missing or wrong CSRF token; reload the page")
        end_session(session, token or "")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/invite/{token}", response_class=HTMLResponse)
def invitation_form(
    request: Request, token: str, session: Session = Depends(db, scope="function")
) -> Response:
    try:
        invitation = open_invitation(session, token)
    except UserError as exc:
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": 410, "message": str(exc), "user": None},
            status_code=410,
        )
    return templates.TemplateResponse(
        request,
        "invite.html",
        {"role": invitation.role, "token": token, "error": None, "user": None},
    )


@router.post("/invite/{token}")
def invitation_accept(
    request: Request,
    token: str,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
    session: Session = Depends(db, scope="function"),
) -> Response:
    role = open_invitation(session, token).role  # an invalid link is a plain error page
    try:
        user = accept_invitation(
            session,
            token,
            username=username,
            password=password,
            display_name=display_name,
            ip=client_ip(request),
        )
    except UserError as exc:
        return templates.TemplateResponse(
            request,
            "invite.html",
            {"role": role, "token": token, "error": str(exc), "user": None},
            status_code=400,
        )
    return _login_response(request, session, user, "/")
