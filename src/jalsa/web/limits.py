"""Request body limits, per kind of route, enforced while the body streams in.

A body is refused with 413 before the route runs: at once when its declared Content-Length is
over the limit (nothing is read), else as soon as the bytes received pass it (at most the limit
plus one read buffer is held). Authentication comes later, so an anonymous 200 MB POST costs the
server one buffer, not 200 MB parsed into Python objects.

The table is the one place the limits are written; docs/decisions.md explains them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
MIB = 1024 * KIB

# (path pattern, limit in bytes), the first match wins.
BODY_LIMITS: Sequence[tuple[re.Pattern[str], int]] = (
    # A username, a password and two tokens.
    (re.compile(r"^/(login|logout|invite/[^/]+)$"), 16 * KIB),
    # Gateways post one message or receipt at a time.
    (re.compile(r"^/api/sms/(inbound|receipts)/"), 64 * KIB),
    # A vantage agent's batch: up to 500 measurements of a few KB each.
    (re.compile(r"^/api/watch/measurements$"), 8 * MIB),
)
DEFAULT_LIMIT = 1 * MIB  # every other form and JSON body: events, replies, campaigns, claims


def body_limit(path: str) -> int:
    for pattern, limit in BODY_LIMITS:
        if pattern.match(path):
            return limit
    return DEFAULT_LIMIT


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over this route's limit of {limit:,} bytes")


class BodyLimit:
    """ASGI middleware applying `body_limit` to every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(scope, send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    detail = BodyTooLarge(limit).detail
    if scope["path"].startswith("/api/"):
        body, kind = json.dumps({"detail": detail}).encode(), b"application/json"
    else:
        body, kind = detail.encode(), b"text/plain; charset=utf-8"
    headers: list[Any] = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
