"""Instagram Live: whether the account is broadcasting, and the comments on its live video.

Instagram's API gives no viewer count for a live video, so this connector never reports an
audience; see the `instagram.live_media` catalogue entry.

Request (Graph API, token in the `access_token` query parameter):
  GET {base}/{ig_user_id}/live_media
      ?fields=id,media_type,media_product_type,timestamp,comments_count
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jalsa.platforms.base import (
    MAX_COUNT,
    PollError,
    PollResult,
    Reading,
    StreamStatus,
    Target,
    Usage,
    as_count,
    charge_errors,
    shape_error,
)
from jalsa.platforms.graph import GraphConnector, graph_path

LIVE_MEDIA_FIELDS = "id,media_type,media_product_type,timestamp,comments_count"


class InstagramConnector(GraphConnector):
    kind = "instagram"
    platform = "instagram"
    title = "Instagram Live"
    id_help = (
        "the Instagram professional account's IG User id (a number, from "
        "/{page-id}?fields=instagram_business_account), not the @username"
    )
    metrics = ("instagram.live_media", "instagram.live_comments")
    base_url_setting = "instagram_base_url"
    credential_setting = "instagram_access_token"
    interval_setting = "instagram_interval"

    async def live_media(self, usage: Usage, ig_user_id: str) -> list[dict[str, Any]]:
        """The account's live media objects now (none when it is not broadcasting); the inbox
        collects their comments. PollError when the answer cannot be had or is malformed."""
        payload = await self.fetch(
            usage, graph_path(ig_user_id, "live_media"), {"fields": LIVE_MEDIA_FIELDS}
        )
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise shape_error("live_media has no data list")
        if not all(isinstance(item, dict) for item in data):
            raise shape_error("live_media data holds a non-object")
        return data

    async def poll(self, target: Target, now: datetime) -> PollResult:
        usage = Usage()
        with charge_errors(usage):
            data = await self.live_media(usage, target.external_id)
            readings = [Reading("instagram.live_media", len(data))]
            if not data:
                return PollResult(
                    StreamStatus.NOT_LIVE,
                    readings,
                    usage,
                    "the account is not broadcasting live",
                )
            detail = ""
            if all("comments_count" in item for item in data):
                try:
                    comments = sum(
                        as_count(item["comments_count"], f"data[{i}].comments_count")
                        for i, item in enumerate(data)
                    )
                    readings.append(Reading("instagram.live_comments", min(comments, MAX_COUNT)))
                except PollError as exc:  # the broadcast count stands without the comments
                    detail = f"{exc.detail}; comments unknown"
            else:
                detail = "comments_count missing from the live media; comments unknown"
        return PollResult(StreamStatus.OK, readings, usage, detail)

    @classmethod
    def expected_units(cls, batch: int = 1) -> Usage:
        return Usage(requests=1)
