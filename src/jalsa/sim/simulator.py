"""The state every simulated platform shares, and the way each request goes through it.

`Simulator` holds the scenario, the shared clock, the fault counters (requests answered,
garbled, blocked), what moderators did through the APIs (hidden, deleted, posted items), and
each platform simulator's own part. Every platform request passes, in this order: network
blocking (hang or reset), the platform's `Gate` (credential present, credential expired,
rate-limit burst), the endpoint; finally a seeded fraction of answers is garbled (truncated
JSON, an HTML error or block page), as proxies and censors do.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from jalsa.clock import Clock
from jalsa.sim.curves import uniform
from jalsa.sim.kit import BodyHandler, Handler, Reply, etag, iso_ms_z, iso_z, json_body
from jalsa.sim.scenario import Scenario, floor_minute

JSON_TYPE = "application/json; charset=UTF-8"
BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
BLOCK_PAGE_HTML = (
    "<!DOCTYPE html><html><head><title>Site blocked</title></head><body>"
    "<h1>Surf safely!</h1><p>The site you are trying to access contains content that is "
    "prohibited for viewership from within this country.</p></body></html>"
)

Endpoint = Callable[[Request], Awaitable[Response]]
# The scenario platform a request belongs to (its credential, bursts and blocking), fixed or
# read from the request (Graph: Facebook or Instagram, by the node asked for).
PlatformOf = str | Callable[[Request], str]


class Gate:
    """The checks every request of one API passes before its endpoint runs, and the headers
    that API adds to every answer. `family` names a rate-limit window when the API counts
    them per endpoint (X)."""

    def check(
        self, request: Request, platform: str, now: datetime, family: str | None
    ) -> Reply | None:
        return None

    def headers(
        self, request: Request, platform: str, now: datetime, family: str | None
    ) -> dict[str, str]:
        return {}


class Simulator:
    """Request handling state: the scenario, the clock, counters that make garbling realistic,
    the moderation record, and each platform simulator's part (`parts["x"]`)."""

    def __init__(
        self,
        scenario: Scenario,
        clock: Clock,
        *,
        hang_seconds: float = 60.0,
        stream_seconds: float = 300.0,
    ) -> None:
        self.scenario = scenario
        self.clock = clock
        self.hang_seconds = hang_seconds
        self.stream_seconds = stream_seconds  # X ends a stream connection after this long
        self.requests = 0  # platform requests answered (garbled or not)
        self.garbled = 0
        self.blocked = 0
        # What was done through the moderation endpoints, keyed "<platform>:<id>".
        self.hidden: dict[str, bool] = {}
        self.deleted: set[str] = set()
        self.posted: list[dict[str, Any]] = []  # replies and chat messages
        self.serial = 0  # of everything posted, across platforms
        # Each platform simulator's own state, by name, and what it adds to /_sim/status and
        # /_sim/moderation.
        self.parts: dict[str, Any] = {}
        self.status_parts: list[Callable[[], dict[str, Any]]] = []
        self.moderation_parts: list[Callable[[], dict[str, Any]]] = []

    @property
    def seed(self) -> int:
        return self.scenario.seed

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{etag('posted', self.seed, self.serial)[:16]}"

    # -- plumbing --

    def endpoint(
        self, platform: PlatformOf, handler: Handler, gate: Gate, family: str | None = None
    ) -> Endpoint:
        """A Starlette endpoint running `handler` behind the network, `gate` and garbling."""

        async def run(request: Request) -> Response:
            name = platform(request) if callable(platform) else platform
            return await self.handle(request, name, handler, gate, family)

        return run

    def endpoint_with_body(
        self, platform: PlatformOf, handler: BodyHandler, gate: Gate, family: str | None = None
    ) -> Endpoint:
        """As `endpoint`, for a handler that reads the request's body."""

        async def run(request: Request) -> Response:
            body = await request.body()
            name = platform(request) if callable(platform) else platform
            return await self.handle(
                request, name, lambda r, now: handler(r, now, body), gate, family
            )

        return run

    async def handle(
        self,
        request: Request,
        platform: str,
        handler: Handler,
        gate: Gate,
        family: str | None = None,
    ) -> Response:
        """Run one platform request through the network, the gate, the endpoint and the
        garbling step."""
        now = self.clock.now()
        blocked = self.unanswered(platform, now)
        if blocked is not None:
            return blocked
        number = self.requests
        self.requests += 1
        reply = gate.check(request, platform, now, family) or handler(request, now)
        headers = gate.headers(request, platform, now, family)
        if headers:
            reply.headers = {**headers, **reply.headers}
        return self.render(reply, number)

    def unanswered(self, platform: str, now: datetime) -> Response | None:
        """What the network does to a request for `platform` now: nothing (None), or swallow
        it (a hang, or a reset)."""
        blocking = self.scenario.blocking(platform, self.scenario.minutes(now))
        if blocking is None:
            return None
        self.blocked += 1
        return Unanswered(self.hang_seconds if blocking == "unreachable" else 0.0)

    def render(self, reply: Reply, number: int) -> Response:
        if reply.status == 204:  # No Content: a body would break the HTTP exchange
            return Response(status_code=204, headers=reply.headers)
        body = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode()
        seed = self.scenario.seed
        if uniform(seed, "malformed", number) < self.scenario.malformed_rate:
            self.garbled += 1
            kind = int(uniform(seed, "malformed-kind", number) * 3)
            if kind == 0:  # the connection dropped mid-body; headers already said JSON
                cut = max(1, int(len(body) * (0.2 + 0.6 * uniform(seed, "cut", number))))
                return Response(body[:cut], reply.status, reply.headers, media_type=JSON_TYPE)
            if kind == 1:
                return Response(BAD_GATEWAY_HTML, 502, media_type="text/html")
            return Response(BLOCK_PAGE_HTML, 200, media_type="text/html")
        return Response(body, reply.status, reply.headers, media_type=JSON_TYPE)

    # -- the simulator's own endpoints --

    def status(self) -> dict[str, Any]:
        sc = self.scenario
        now = self.clock.now()
        minutes = sc.minutes(now)
        streams = []
        for stream in sc.streams:
            entry: dict[str, Any] = {
                "platform": stream.platform,
                "id": stream.id,
                "title": stream.label,
            }
            if stream.platform == "x_counts":
                last = floor_minute(now) - timedelta(minutes=1)
                entry["expected_audience"] = None
                entry["expected_posts_last_minute"] = sc.expected_posts(stream, last)
            else:
                entry["expected_audience"] = sc.expected_audience(stream, now)
            entry["audience_factor"] = sc.audience_factor(stream.platform, minutes)
            entry["blocking"] = sc.blocking(stream.platform, minutes)
            entry["rate_limited"] = sc.burst(stream.service, minutes) is not None
            entry["token_expired"] = sc.token_expired(stream.service, minutes) is not None
            streams.append(entry)
        status: dict[str, Any] = {
            "scenario": sc.name,
            "now": iso_ms_z(now),
            "now_local": now.astimezone(sc.tz).isoformat(timespec="seconds"),
            "speed": self.clock.speed,
            "minutes_from_start": round(minutes, 3),
            "phase": sc.phase(now),
            "start": iso_z(sc.start_utc),
            "end": iso_z(sc.end_utc),
            "requests": self.requests,
            "garbled": self.garbled,
            "blocked": self.blocked,
        }
        for part in self.status_parts:
            status.update(part())
        status["streams"] = streams
        return status

    def moderation_state(self) -> dict[str, Any]:
        """Everything done through the moderation endpoints so far."""
        state: dict[str, Any] = {"hidden": sorted(k for k, v in self.hidden.items() if v)}
        for part in self.moderation_parts:
            state.update(part())
        state["deleted"] = sorted(self.deleted)
        state["posted"] = list(self.posted)
        return state

    async def status_endpoint(self, request: Request) -> Response:
        """GET /_sim/status"""
        return JSONResponse(self.status())

    async def moderation_endpoint(self, request: Request) -> Response:
        """GET /_sim/moderation"""
        return JSONResponse(self.moderation_state())

    async def delete_item(self, request: Request) -> Response:
        """POST /_sim/moderation/delete {"platform", "id"}: an author deletes an item; later
        actions on it find nothing."""
        payload = json_body(await request.body()) or {}
        key = f"{payload.get('platform')}:{payload.get('id')}"
        self.deleted.add(key)
        return JSONResponse({"deleted": key})


class Unanswered(Response):
    """A request the network swallows. With `hang_seconds` > 0 nothing comes back until the
    client gives up (a timeout, as with dropped packets); after `hang_seconds`, or at once with
    0, the connection is closed mid-response (a reset, as SNI filtering does)."""

    def __init__(self, hang_seconds: float) -> None:
        super().__init__()
        self.hang_seconds = hang_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hang_seconds > 0:
            try:
                await asyncio.wait_for(_client_gone(receive), self.hang_seconds)
                return  # the client hung up: nothing left to do
            except TimeoutError:
                pass
        # Headers promising a body that never comes; the server closes the connection when we
        # return without finishing the response.
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")],
            }
        )


async def _client_gone(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
