"""Logging in and out, and joining the team through an invitation link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.web.app import templates
from jalsa.web.auth import (
    accept_invitation,
    audit,
    authenticate,
    create_session,
    end_session,
    open_invitation,
)
from jalsa.web.deps import SESSION_COOKIE, client_ip, db

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only local paths: an attacker's link must not bounce a volunteer to another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def _login_response(request: Request, session: Session, user_id: int, target: str) -> Response:
    from jalsa.store.models import User

    user = session.get(User, user_id)
    assert user is not None
    settings = request.app.state.settings
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


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "user": None}
    )


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
    session: Session = Depends(db, scope="function"),
) -> Response:
    limiter = request.app.state.login_limiter
    keys = (f"ip:{client_ip(request)}", f"user:{username.strip().lower()}")
    wait = limiter.retry_after(*keys)
    if wait is not None:
        return templates.TemplateResponse(
            request,
            "login.html",
            {
                "next": next,
                "user": None,
                "error": f"Too many failed attempts. Try again in {int(wait // 60) + 1} minutes.",
            },
            status_code=429,
            headers={"Retry-After": str(int(wait) + 1)},
        )
    user = authenticate(session, username, password)
    if user is None:
        limiter.failed(*keys)
        audit(
            session, actor=None, action="login.failed", target=username[:64], ip=client_ip(request)
        )
        return templates.TemplateResponse(
            request,
            "login.html",
            {"next": next, "user": None, "error": "Wrong username or password."},
            status_code=401,
        )
    limiter.succeeded(*keys)
    audit(session, actor=user, action="login", ip=client_ip(request))
    return _login_response(request, session, user.id, next)


@router.post("/logout")
def logout(request: Request, session: Session = Depends(db, scope="function")) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(session, token)
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
            session, token, username=username, password=password, display_name=display_name
        )
    except UserError as exc:
        return templates.TemplateResponse(
            request,
            "invite.html",
            {"role": role, "token": token, "error": str(exc), "user": None},
            status_code=400,
        )
    audit(
        session,
        actor=user,
        action="user.joined",
        target=user.username,
        details={"role": role},
        ip=client_ip(request),
    )
    return _login_response(request, session, user.id, "/")
