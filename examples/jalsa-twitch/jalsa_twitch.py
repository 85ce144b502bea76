"""Twitch for jalsa: the number of people watching a channel's live stream, read from the Helix
API's Get Streams endpoint (https://dev.twitch.tv/docs/api/reference/#get-streams):

    GET https://api.twitch.tv/helix/streams?user_login=<login>
    Authorization: Bearer <app access token>
    Client-Id: <the app's client id>

    {"data": [{"id": "40952121085", "user_login": "afro", "type": "live",
               "viewer_count": 1490, "started_at": "2021-03-10T03:18:11Z", ...}],
     "pagination": {}}

A channel that is not live is absent from `data`. This is the worked example of
docs/adding-a-platform.md: one module, one entry point."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from jalsa.metrics import Kind, Metric
from jalsa.platforms.base import (
    Connector,
    PollError,
    PollResult,
    Reading,
    StreamStatus,
    Target,
    Usage,
    as_count,
    shape_error,
)
from jalsa.platforms.plugin import Platform, hookimpl

VIEWERS = Metric(
    name="twitch.viewer_count",
    platform="twitch",
    label="Twitch viewers",
    unit="viewers",
    kind=Kind.CONCURRENT,
    definition=(
        "Number of people watching the channel's live stream when asked, as Twitch counts them; "
        "absent while the channel is offline."
    ),
    source="GET /helix/streams?user_login= -> data[].viewer_count",
)


class TwitchConnector(Connector):
    kind = "twitch"
    platform = "twitch"
    title = "Twitch"
    id_help = "the channel's login name (twitch.tv/<login>)"
    metrics = (VIEWERS.name,)
    base_url_setting = "twitch_base_url"
    credential_setting = "twitch_app_token"
    interval_setting = "twitch_interval"

    def __init__(
        self,
        client: httpx.AsyncClient | None,
        base_url: str,
        credential: str | None,
        client_id: str = "",
    ) -> None:
        super().__init__(client, base_url, credential)
        self.client_id = client_id

    @classmethod
    def settings_options(cls, settings: Any) -> dict[str, Any]:
        return {"client_id": settings.twitch_client_id}

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return {"Authorization": f"Bearer {self.credential}", "Client-Id": self.client_id}, {}

    def platform_error(
        self, status_code: int, payload: Any, headers: httpx.Headers
    ) -> PollError | None:
        # Helix errors: {"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"}
        if status_code in (400, 401) and isinstance(payload, dict) and "message" in payload:
            status = StreamStatus.AUTH_FAILED if status_code == 401 else StreamStatus.BAD_RESPONSE
            return PollError(status, f"Twitch: {str(payload['message'])[:200]}")
        return None

    @classmethod
    def expected_units(cls, batch: int = 1) -> Usage:
        return Usage(requests=1)

    async def poll(self, target: Target, now: datetime) -> PollResult:
        usage = Usage()
        payload = await self.fetch(usage, "/streams", {"user_login": target.external_id})
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise shape_error("no data list")
        live = [s for s in data if isinstance(s, dict) and s.get("type") == "live"]
        if not live:
            return PollResult(StreamStatus.NOT_LIVE, usage=usage, detail="the channel is offline")
        viewers = as_count(live[0].get("viewer_count"), "viewer_count")
        return PollResult(StreamStatus.OK, [Reading(VIEWERS.name, viewers)], usage)


PLATFORM = Platform(
    name="twitch",
    title="Twitch",
    metrics=(VIEWERS,),
    connectors=(TwitchConnector,),
    settings={
        "twitch_base_url": (str, "https://api.twitch.tv/helix"),
        "twitch_client_id": (str, ""),
        "twitch_app_token": (SecretStr | None, None),
        "twitch_interval": (float, 30.0),
    },
)


@hookimpl
def jalsa_platforms() -> list[Platform]:
    return [PLATFORM]
