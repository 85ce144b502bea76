"""YouTube's error bodies (the classic `errors[].reason` list, plus google.rpc details for a
rejected key) and the checks every simulated YouTube request passes: a key or token present,
not expired, no quota or rate-limit burst."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request

from jalsa.sim.kit import READONLY_PREFIX, Reply, bearer, token_of
from jalsa.sim.scenario import SERVICE_OF
from jalsa.sim.simulator import Gate, Simulator


def youtube_error(
    code: int,
    message: str,
    reason: str,
    *,
    domain: str = "global",
    status: str | None = None,
    extra: dict[str, str] | None = None,
) -> Reply:
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason, **(extra or {})}],
    }
    if status:
        error["status"] = status
    return Reply(code, {"error": error})


def youtube_key_invalid() -> Reply:
    """Google's answer to a rejected key: the classic `keyInvalid` reason plus the newer
    google.rpc.ErrorInfo detail, so clients reading either recognise it."""
    message = "API key not valid. Please pass a valid API key."
    reply = youtube_error(
        400, message, "keyInvalid", domain="usageLimits", status="INVALID_ARGUMENT"
    )
    reply.body["error"]["details"] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "youtube.googleapis.com"},
        }
    ]
    return reply


def required(parameter: str) -> Reply:
    """A required parameter is missing."""
    return youtube_error(
        400,
        f"Required parameter: {parameter}",
        "required",
        extra={"location": parameter, "locationType": "parameter"},
        status="INVALID_ARGUMENT",
    )


def forbidden(request: Request) -> Reply | None:
    """A moderation request with a token that lacks the permission."""
    if token_of(request).startswith(READONLY_PREFIX):
        return youtube_error(
            403,
            "The request is not properly authorized to moderate these comments.",
            "forbidden",
            status="PERMISSION_DENIED",
        )
    return None


class YouTubeGate(Gate):
    """Key or OAuth token present, not expired, no quota or rate-limit burst."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def check(
        self, request: Request, platform: str, now: datetime, family: str | None
    ) -> Reply | None:
        scenario = self.sim.scenario
        service = SERVICE_OF[platform]
        minutes = scenario.minutes(now)
        if not (request.query_params.get("key") or bearer(request)):
            return youtube_error(
                403,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to "
                "call this API.",
                "forbidden",
                status="PERMISSION_DENIED",
            )
        if scenario.token_expired(service, minutes):
            return youtube_key_invalid()
        burst = scenario.burst(service, minutes)
        if burst is not None:
            if burst.reason == "quotaExceeded":
                return youtube_error(
                    403,
                    "The request cannot be completed because you have exceeded your "
                    '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                    "quotaExceeded",
                    domain="youtube.quota",
                )
            return youtube_error(
                403, "Rate Limit Exceeded", "rateLimitExceeded", domain="usageLimits"
            )
        return None
