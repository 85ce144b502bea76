"""Body limits: refused with 413 while streaming in, before authentication, reading no more than
the limit and one buffer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
from webkit import Site

from jalsa.web.limits import DEFAULT_LIMIT, MIB, BodyLimit, body_limit

CHUNK = 64 * 1024


def test_each_kind_of_route_has_its_limit() -> None:
    assert body_limit("/login") == 16 * 1024
    assert body_limit("/api/sms/inbound/kannel") == 64 * 1024
    assert body_limit("/api/watch/measurements") == 8 * MIB
    assert body_limit("/api/events") == DEFAULT_LIMIT


def _run(total: int, *, declared: bool) -> tuple[int, int, bool]:
    """Feed `total` bytes in CHUNKs through the middleware to an app that reads everything;
    (status, bytes pulled from the client, whether the app saw the end of the body)."""
    pulled = 0
    sent: list[dict[str, Any]] = []
    finished = False

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        size = min(CHUNK, total - pulled)
        pulled += size
        return {"type": "http.request", "body": b"x" * size, "more_body": pulled < total}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal finished
        while (await receive()).get("more_body"):
            pass
        finished = True
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    headers = [(b"content-length", str(total).encode())] if declared else []
    scope = {"type": "http", "path": "/api/watch/measurements", "headers": headers}
    asyncio.run(BodyLimit(app)(scope, receive, send))
    return sent[0]["status"], pulled, finished


def test_a_body_over_the_limit_is_refused_having_read_at_most_one_buffer_more() -> None:
    limit = 8 * MIB
    assert _run(200 * MIB, declared=True) == (413, 0, False)  # nothing read at all
    status, pulled, finished = _run(200 * MIB, declared=False)  # chunked: no length given
    assert status == 413 and not finished and limit < pulled <= limit + CHUNK
    assert _run(limit, declared=False) == (200, limit, True)


def _stream(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        sent += CHUNK
        yield b"[" * CHUNK


def test_an_anonymous_giant_post_gets_413_not_401_and_not_a_parse(sqlite_site: Site) -> None:
    with httpx.Client(base_url=sqlite_site.url, timeout=30) as client:
        big = client.post(
            "/api/watch/measurements",
            content=b"[" * (9 * MIB),
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413 and "limit" in big.json()["detail"]
        streamed = client.post(
            "/api/events",
            content=_stream(50 * MIB),
            headers={"content-type": "application/json"},
        )
        assert streamed.status_code == 413
        login = client.post("/login", data={"username": "x" * (20 * 1024), "password": "y"})
        assert login.status_code == 413
        small = client.post("/api/watch/measurements", json={"measurements": []})
        assert small.status_code == 401  # under the limit: on to authentication


def test_hostile_json_gets_a_4xx_that_says_why(sqlite_site: Site) -> None:
    """Lone surrogates, bytes that are not UTF-8 and NaN each gave a 500 (the database could not
    store the text, or FastAPI's error answer could not echo the input)."""
    with sqlite_site.client("coordinator", "token") as coordinator:
        for body in (b'{"name": "\\ud800 rally"}', b'{"name": "ok", "x": ["\\udfff"]}'):
            answer = coordinator.http.post(
                "/api/events", content=body, headers={"content-type": "application/json"}
            )
            assert answer.status_code == 400 and "lone surrogate" in answer.json()["detail"]
        paired = coordinator.http.post(  # an emoji written as its two escapes is fine
            "/api/events",
            content=b'{"name": "Jalsa \\ud83d\\ude00", "starts": "2026-12-17 20:00",'
            b' "duration": "2h"}',
            headers={"content-type": "application/json"},
        )
        assert paired.status_code < 400, paired.text
        for body, kind in (
            (b"\xaf\xfe\x00 not text", ""),
            (b"[NaN, Infinity]", "application/json"),
            (b'{"name": NaN}', "application/json"),
        ):
            answer = coordinator.http.post(
                "/api/events", content=body, headers={"content-type": kind} if kind else {}
            )
            assert 400 <= answer.status_code < 500, (body, answer.status_code, answer.text)
