"""What Facebook and Instagram share: Meta's Graph API, its token and its error bodies.

Graph errors look like `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`
whatever the HTTP status; the mapping to what the team sees lives here, once, for both platforms.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from jalsa.platforms.base import Connector, PollError, StreamStatus, parse_retry_after

# Throttling: app (4), user (17), page (32), per-method (613) and business use case limits.
THROTTLING_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
# Temporary problems on Meta's side ("API Unknown", "API Service").
TEMPORARY_CODES = frozenset({1, 2})
# Permission missing or removed: code 10 and the 200-299 range.
PERMISSION_CODES = frozenset({10, *range(200, 300)})
# Application-level limit reached: a temporary limit, like throttling.
APP_LIMIT_CODES = frozenset({341})

# Code 190 subcodes, as documented in the Graph API error-handling guide.
TOKEN_SUBCODES = {
    458: "the app is no longer installed for this user",
    459: "the user must log in at facebook.com to clear a checkpoint",
    460: "the token was invalidated because the user changed their password",
    463: "the access token has expired",
    464: "the user account is not confirmed",
    467: "the access token is invalid (logged out or revoked)",
    492: "the session is invalid",
}

USAGE_HEADERS = ("x-business-use-case-usage", "x-app-usage")


def graph_path(object_id: str, edge: str = "") -> str:
    """`/{id}` or `/{id}/{edge}`, the id escaped so a mistyped id cannot change the path."""
    path = "/" + quote(object_id.strip(), safe="")
    return f"{path}/{edge}" if edge else path


def parse_graph_time(value: Any) -> datetime | None:
    """Graph's `2023-12-17T15:00:00+0000`."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, or year 9999 west of it
        return None


def regain_access_seconds(headers: httpx.Headers) -> float | None:
    """Seconds until Meta lifts a throttle, from `estimated_time_to_regain_access` (minutes) in
    the usage headers; None when no header names a positive wait."""
    minutes: list[float] = []
    for name in USAGE_HEADERS:
        raw = headers.get(name)
        if not raw:
            continue
        try:
            minutes.extend(_find_regain(json.loads(raw)))
        except ValueError:
            continue
    longest = max(minutes, default=0.0)
    return longest * 60.0 if longest > 0 else None


def _find_regain(value: Any) -> list[float]:
    """Every `estimated_time_to_regain_access` in a usage header, however it is nested
    (X-Business-Use-Case-Usage is keyed by business id, each with a list of use cases)."""
    found: list[float] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "estimated_time_to_regain_access" and isinstance(item, int | float):
                found.append(float(item))
            else:
                found.extend(_find_regain(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_find_regain(item))
    return found


class GraphConnector(Connector):
    """Base of the connectors that speak the Graph API: the token goes in `access_token`, and
    Graph error bodies are mapped here."""

    # Wait after a throttling error that says nothing of how long: Meta counts calls made while
    # throttled, so retrying at the normal interval only prolongs the block.
    throttle_backoff: float = 300.0
    temporary_backoff: float = 30.0

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return {}, {"access_token": self.credential or ""}

    def platform_error(
        self, status_code: int, payload: Any, headers: httpx.Headers
    ) -> PollError | None:
        if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
            return None
        error = payload["error"]
        code = error.get("code")
        subcode = error.get("error_subcode")
        message = str(error.get("message") or "no message")
        env = f"JALSA_{self.credential_setting.upper()}"
        if code in (190, 102):
            why = TOKEN_SUBCODES.get(subcode, "the access token is invalid or has expired")
            return PollError(
                StreamStatus.AUTH_FAILED,
                f"{self.title}: {why}. Create a new token and set {env}. ({message})",
            )
        if code in THROTTLING_CODES or code in APP_LIMIT_CODES:
            wait = regain_access_seconds(headers) or parse_retry_after(headers)
            return PollError(
                StreamStatus.RATE_LIMITED,
                f"{self.title} is throttling this app (Graph error #{code}): {message}",
                retry_after=wait if wait is not None else self.throttle_backoff,
            )
        if (code == 100 and subcode == 33) or code == 803:
            return PollError(
                StreamStatus.NOT_FOUND,
                f"{self.title}: the object does not exist or this token cannot see it; "
                f"check the id ({self.id_help}) and the token's permissions. ({message})",
            )
        if code in PERMISSION_CODES:
            return PollError(
                StreamStatus.AUTH_FAILED,
                f"{self.title}: the token lacks a permission this request needs (Graph error "
                f"#{code}); grant it and set {env} again. ({message})",
            )
        if code in TEMPORARY_CODES:
            return PollError(
                StreamStatus.SERVER_ERROR,
                f"{self.title}: temporary Graph API problem (#{code}): {message}",
                retry_after=parse_retry_after(headers) or self.temporary_backoff,
            )
        return PollError(
            StreamStatus.BAD_RESPONSE,
            f"{self.title}: Graph API refused the request (#{code}, subcode {subcode}): {message}",
        )
