"""The command center web app: FastAPI, server-rendered pages with light JavaScript, live
updates by Server-Sent Events. Everything it serves comes from this package; no page loads
anything from another host, because the team may sit behind a firewall that blocks them."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from jalsa import __version__
from jalsa.clock import Clock
from jalsa.config import Settings
from jalsa.conversation.panel import ConversationCache
from jalsa.conversation.trend_alerts import TrendAlerts
from jalsa.errors import NotFound, UserError
from jalsa.inbox.service import InboxService
from jalsa.live.feed import Feeds
from jalsa.mobilize.service import SmsService
from jalsa.store import Store
from jalsa.timeutil import utc_now
from jalsa.vault import Vault
from jalsa.watch.service import WatchService
from jalsa.web.deps import SESSION_COOKIE, NotLoggedIn
from jalsa.web.limits import BodyLimit
from jalsa.web.notices import Notices
from jalsa.web.services import Services, app_services
from jalsa.web.templating import WEB, templates
from jalsa.web.throttle import LoginThrottle, device_key

# Security headers on every response; the CSP is why no page can load anything from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(store: Store, settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The web app. `clock`: the time the disruption watch runs on (the demo's is compressed)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = app_services(app)
        await running.watch.start()
        running.sms.start()
        running.trends.start()
        yield
        await running.trends.stop()
        await asyncio.to_thread(running.sms.stop)
        await running.watch.stop()
        await running.inbox.close()
        await running.feeds.close()

    app = FastAPI(
        title="jalsa",
        version=__version__,
        description="Command center for virtual rallies. Every call needs a session cookie or "
        "an API token (`Authorization: Bearer jls_...`) and is checked against the caller's "
        "role; see docs/permissions.md.",
        lifespan=lifespan,
        # The schema only: the interactive docs pages load their code from a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    found = Services(
        store=store,
        settings=settings,
        now=clock.now if clock else utc_now,
        feeds=Feeds(store, settings),
        watch=WatchService(store, settings, clock=clock),
        inbox=InboxService(store, settings, clock=clock),
        sms=SmsService(store, settings, now=clock.now if clock else utc_now),
        conversation=ConversationCache(settings),
        trends=TrendAlerts(store, settings, now=clock.now if clock else utc_now),
        login_throttle=LoginThrottle(),
        device_key=device_key(Vault.key_of(settings)),
        notices=Notices(SESSION_COOKIE),
    )
    app.state.services = found
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    app.add_middleware(BodyLimit)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        if wants_json(request):
            return JSONResponse(
                {"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own handler echoes the input, and fails (a 500) on bytes that are not
        # UTF-8 or text with lone surrogates: the same answer, with such input made printable.
        return JSONResponse({"detail": printable(exc.errors())}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail), exc.headers)

    from jalsa.web.routes import register

    register(app)
    return app


def printable(value: Any) -> Any:
    """`value` with every string valid UTF-8 and every other leaf JSON can carry."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {str(printable(k)): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or Infinity
    if value is None or isinstance(value, bool | int | float):
        return value
    return printable(str(value))


def _error(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "user": None},
        status_code=status,
        headers=headers,
    )
