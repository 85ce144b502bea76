"""X's problem bodies (`title`, `detail`, `type`; `errors[]` per value) and the checks every
simulated X request passes: a bearer token, not expired, no rate-limit burst; and the
`x-rate-limit-*` headers X adds to every answer, counted per endpoint family in 15-minute
windows of clock time."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

from starlette.requests import Request

from jalsa.sim.kit import READONLY_PREFIX, Reply, bearer, token_of
from jalsa.sim.scenario import SERVICE_OF
from jalsa.sim.simulator import Gate, Simulator

X_WINDOW_SECONDS = 15 * 60
# Requests per 15-minute window (app auth), per endpoint family; the inbox and moderation's
# last: hide replies, post, mentions.
X_LIMITS = {
    "spaces": 300,
    "counts": 300,
    "search": 450,
    "stream": 50,
    "rules": 450,
    "hide": 50,
    "manage": 100,
    "mentions": 450,
}


def x_family(platform: str) -> str:
    return "counts" if platform == "x_counts" else "spaces"


def x_invalid_request(parameter: str, message: str) -> Reply:
    return Reply(
        400,
        {
            "errors": [{"parameters": {parameter: []}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )


def x_not_found(value: str, resource: str = "space", parameter: str = "id") -> dict[str, str]:
    """X's error for an unknown Space or post; `parameter` is `ids` in the multi-Space
    lookup."""
    return {
        "value": value,
        "detail": f"Could not find {resource} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource,
        "parameter": parameter,
        "resource_id": value,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


def x_forbidden(request: Request) -> Reply | None:
    """A moderation request with a token that lacks the permission."""
    if token_of(request).startswith(READONLY_PREFIX):
        return Reply(
            403,
            {
                "title": "Forbidden",
                "type": "about:blank",
                "status": 403,
                "detail": "You are not permitted to perform this action.",
            },
        )
    return None


class XGate(Gate):
    """Bearer token present, not expired, no burst; rate-limit headers on every answer."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.windows: dict[str, tuple[int, int]] = {}  # family -> (window, requests in it)

    def check(
        self, request: Request, platform: str, now: datetime, family: str | None
    ) -> Reply | None:
        scenario = self.sim.scenario
        service = SERVICE_OF[platform]
        minutes = scenario.minutes(now)
        if not bearer(request) or scenario.token_expired(service, minutes):
            return Reply(
                401,
                {
                    "title": "Unauthorized",
                    "type": "about:blank",
                    "status": 401,
                    "detail": "Unauthorized",
                },
            )
        burst = scenario.burst(service, minutes)
        if burst is not None:
            reset = time.time() + (burst.end_minutes - minutes) * 60.0
            limit = X_LIMITS[family or x_family(platform)]
            body: dict[str, Any] = {
                "title": "Too Many Requests",
                "detail": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
            }
            return Reply(
                429,
                body,
                {
                    "x-rate-limit-limit": str(limit),
                    "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": str(math.ceil(reset)),
                },
            )
        return None

    def headers(
        self, request: Request, platform: str, now: datetime, family: str | None
    ) -> dict[str, str]:
        """X's per-endpoint rate-limit headers, counted in 15-minute windows of clock time."""
        family = family or x_family(platform)
        epoch = now.timestamp()
        window = int(epoch // X_WINDOW_SECONDS)
        seen_window, used = self.windows.get(family, (window, 0))
        used = used + 1 if seen_window == window else 1
        self.windows[family] = (window, used)
        limit = X_LIMITS[family]
        reset = time.time() + ((window + 1) * X_WINDOW_SECONDS - epoch)
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, limit - used)),
            "x-rate-limit-reset": str(math.ceil(reset)),
        }
