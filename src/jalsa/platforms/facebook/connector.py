"""Facebook Live: concurrent viewers of a LiveVideo, plus the lifetime 3-second views of the
video it produces (Video Insights).

Requests (Graph API, token in the `access_token` query parameter):
  GET {base}/{live_video_id}?fields=status,live_views,video
  GET {base}/{video_id}/video_insights?metric=total_video_views,total_video_views_unique
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jalsa.platforms.base import (
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

INSIGHT_METRICS = {
    "total_video_views": "facebook.total_video_views",
    "total_video_views_unique": "facebook.total_video_views_unique",
}


class FacebookConnector(GraphConnector):
    kind = "facebook"
    platform = "facebook"
    title = "Facebook Live"
    id_help = (
        "the LiveVideo id of the broadcast (from Live Producer or /{page-id}/live_videos), "
        "not the Page id and not the id of the video post"
    )
    metrics = (
        "facebook.live_views",
        "facebook.total_video_views",
        "facebook.total_video_views_unique",
    )
    base_url_setting = "facebook_base_url"
    credential_setting = "facebook_access_token"
    interval_setting = "facebook_interval"

    async def poll(self, target: Target, now: datetime) -> PollResult:
        usage = Usage()
        with charge_errors(usage):
            live = await self.fetch(
                usage,
                graph_path(target.external_id),
                {"fields": "status,live_views,video"},
            )
            if not isinstance(live, dict):
                raise shape_error("live video is not an object")
            state = live.get("status")
            if not isinstance(state, str):
                raise shape_error("live video has no status")
            readings: list[Reading] = []
            notes: list[str] = []
            is_live = state == "LIVE"
            if is_live:
                views = as_count(live.get("live_views"), "live_views")
                readings.append(Reading("facebook.live_views", views))
            else:
                notes.append(f"the live video's status is {state}")
            video = live.get("video")
            video_id = video.get("id") if isinstance(video, dict) else None
            if isinstance(video_id, str) and video_id:
                try:
                    insights = await self.fetch(
                        usage,
                        graph_path(video_id, "video_insights"),
                        {"metric": ",".join(INSIGHT_METRICS)},
                    )
                    found, missing = parse_insights(insights)
                    readings.extend(found)
                    if missing:
                        notes.append("video insights lack " + ", ".join(missing))
                except PollError as exc:
                    # Insights need more permissions than live_views (read_insights / the Page's
                    # ANALYZE task); a refusal must not cost the team the live figure.
                    kept = "live viewers kept" if is_live else "no insights this time"
                    notes.append(f"video insights unavailable ({exc.status}: {exc.detail}); {kept}")
            else:
                notes.append("no video id yet, so no video insights")
        return PollResult(
            status=StreamStatus.OK if is_live else StreamStatus.NOT_LIVE,
            readings=readings,
            usage=usage,
            detail="; ".join(notes),
        )

    @classmethod
    def expected_units(cls, batch: int = 1) -> Usage:
        return Usage(requests=2)


def parse_insights(payload: Any) -> tuple[list[Reading], list[str]]:
    """Readings from a video_insights answer and the names of requested metrics it lacked."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise shape_error("video_insights has no data list")
    readings: list[Reading] = []
    seen: set[str] = set()
    failures: list[PollError] = []
    for entry in data:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or name not in INSIGHT_METRICS or name in seen:
            continue  # one reading a metric: the first entry of it that reads
        try:
            values = entry.get("values")
            if not isinstance(values, list) or not values or not isinstance(values[0], dict):
                raise shape_error(f"video_insights {name} has no values")
            value = as_count(values[0].get("value"), f"{name}.values[0].value")
        except PollError as exc:
            failures.append(exc)
            continue
        readings.append(Reading(INSIGHT_METRICS[name], value))
        seen.add(name)
    if failures and not readings:
        raise failures[0]
    return readings, [name for name in INSIGHT_METRICS if name not in seen]
