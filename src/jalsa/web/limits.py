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
        if _is_json(scope) and scope.get("method") in ("POST", "PUT", "PATCH", "DELETE"):
            await self._json(scope, receive, send, limit)
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

    async def _json(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """A JSON body is read whole (it is within its limit), refused if a string in it holds
        a lone surrogate (JSON allows the escape, no database or encoder takes the result),
        and handed on as it came."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if has_lone_surrogate(body):
            await _answer(scope, send, 400, LONE_SURROGATE)
            return
        await self.app(scope, _replay(chunks, None, receive), send)


LONE_SURROGATE = (
    "a string in the JSON holds a lone surrogate escape (\\ud800-\\udfff without its pair): "
    "send valid Unicode text"
)
_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F][0-9a-fA-F]{2}")


def has_lone_surrogate(body: bytes) -> bool:
    """Whether a JSON text has a string with an unpaired surrogate. Cheap when there is no
    surrogate escape at all (nearly always); else the document is parsed and its strings
    checked. A body that is not JSON is left for the route to refuse."""
    if not _SURROGATE_ESCAPE.search(body):
        return False
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return False
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";")[0].strip().lower().endswith(b"json")
    return False


def _replay(chunks: list[bytes], last: Message | None, then: Receive | None = None) -> Receive:
    """A receive that gives the body read so far as one message, then what `then` gives."""
    pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks)}] if chunks else []
    if last is not None:
        pending.append(last)
    elif not chunks:
        pending.append({"type": "http.request", "body": b""})

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    await _answer(scope, send, 413, BodyTooLarge(limit).detail)


async def _answer(scope: Scope, send: Send, status: int, detail: str) -> None:
    if scope["path"].startswith("/api/"):
        body, kind = json.dumps({"detail": detail}).encode(), b"application/json"
    else:
        body, kind = detail.encode(), b"text/plain; charset=utf-8"
    headers: list[Any] = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
