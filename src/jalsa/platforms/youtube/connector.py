"""YouTube Live: concurrent viewers and views of a broadcast, from the YouTube Data API v3.

Request (API key in the `key` query parameter; costs 1 quota unit, even when it fails):
  GET {base}/videos?part=liveStreamingDetails,statistics&id={video_id}&key={api_key}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from jalsa.platforms.base import (
    BatchConnector,
    PollError,
    PollResult,
    Reading,
    StreamStatus,
    Target,
    Usage,
    as_count,
    charge_errors,
    entries_by_id,
    first_readable,
    parse_retry_after,
    shape_error,
    utc_now,
)

# YouTube's daily quota resets at midnight Pacific time.
QUOTA_TIME_ZONE = ZoneInfo("America/Los_Angeles")
QUOTA_UNITS_PER_REQUEST = 1  # videos.list

QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
AUTH_REASONS = frozenset(
    {"keyInvalid", "keyExpired", "authError", "ipRefererBlocked", "accessNotConfigured"}
)
# google.rpc.ErrorInfo reasons in `error.details` of newer error bodies.
AUTH_DETAIL_REASONS = frozenset(
    {"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED", "SERVICE_DISABLED"}
)


def seconds_until_quota_reset(now: datetime) -> float:
    """Seconds from `now` to the next midnight in America/Los_Angeles."""
    local = now.astimezone(QUOTA_TIME_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=QUOTA_TIME_ZONE)
    return (midnight - now).total_seconds()


def _plain(message: str) -> str:
    """YouTube's quota message carries an HTML link; the team sees plain text."""
    return re.sub(r"<[^>]+>", "", message).strip()


class YouTubeConnector(BatchConnector):
    kind = "youtube"
    platform = "youtube"
    title = "YouTube Live"
    id_help = "the video id of the live broadcast: the 11 characters after v= in its watch URL"
    metrics = ("youtube.concurrent_viewers", "youtube.view_count")
    base_url_setting = "youtube_base_url"
    credential_setting = "youtube_api_key"
    interval_setting = "youtube_interval"
    batch_size = 50  # videos.list takes up to 50 ids
    spend = ("quota_units", "quota units")

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return {}, {"key": self.credential or ""}

    def request_usage(self, payload: Any) -> Usage:
        # YouTube charges invalid requests too, so every request that got an answer costs.
        return Usage(requests=1, quota_units=QUOTA_UNITS_PER_REQUEST)

    @classmethod
    def expected_units(cls, batch: int = 1) -> Usage:
        return Usage(requests=1, quota_units=QUOTA_UNITS_PER_REQUEST)

    def platform_error(
        self, status_code: int, payload: Any, headers: httpx.Headers
    ) -> PollError | None:
        if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
            return None
        error = payload["error"]
        reasons = {str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)}
        details = {str(d.get("reason")) for d in error.get("details") or [] if isinstance(d, dict)}
        message = _plain(str(error.get("message") or ""))
        env = f"JALSA_{self.credential_setting.upper()}"
        if reasons & QUOTA_REASONS:
            return PollError(
                StreamStatus.QUOTA_EXCEEDED,
                "YouTube daily quota used up; it resets at midnight Pacific time. "
                "Poll less often or use a key from another project.",
                retry_after=seconds_until_quota_reset(utc_now()),
            )
        if reasons & RATE_REASONS:
            wait = parse_retry_after(headers)
            return PollError(
                StreamStatus.RATE_LIMITED,
                f"YouTube is rate limiting this key: {message}",
                retry_after=wait if wait is not None else 60.0,
            )
        key_rejected = (
            bool(reasons & AUTH_REASONS)
            or bool(details & AUTH_DETAIL_REASONS)
            or status_code == 401
            or ("badRequest" in reasons and "api key" in message.lower())
        )
        if key_rejected:
            if "accessNotConfigured" in reasons or "SERVICE_DISABLED" in details:
                hint = "enable the YouTube Data API v3 in the key's Google Cloud project"
            elif "keyExpired" in reasons or "API_KEY_EXPIRED" in details:
                hint = f"the API key has expired: renew it and set {env}"
            else:
                hint = f"check the API key in {env}"
            return PollError(
                StreamStatus.AUTH_FAILED, f"YouTube refused the key ({message}): {hint}"
            )
        if "videoNotFound" in reasons:
            return PollError(StreamStatus.NOT_FOUND, f"YouTube: {message}")
        return self.other_error(status_code, error, message)

    def other_error(
        self, status_code: int, error: dict[str, Any], message: str
    ) -> PollError | None:
        """An error body no rule above knows: YouTube's own reason and words are kept
        (`errors[0].reason`, else `status`, e.g. forbidden, PERMISSION_DENIED), with the
        credential that may fix it; a 5xx is left to the shared handling (retry)."""
        first = next((e for e in error.get("errors") or [] if isinstance(e, dict)), {})
        reason = str(first.get("reason") or error.get("status") or "no reason given")
        said = f"YouTube said {reason}: {message}" if message else f"YouTube said {reason}"
        if status_code in (401, 403):
            return PollError(StreamStatus.AUTH_FAILED, f"{said}. {self.credential_hint()}")
        if status_code == 404:
            return PollError(StreamStatus.NOT_FOUND, said)
        if 400 <= status_code < 500:
            return PollError(StreamStatus.BAD_RESPONSE, f"HTTP {status_code}: {said}")
        return None

    def credential_hint(self) -> str:
        """Which credential a refused request needs."""
        env = f"JALSA_{self.credential_setting.upper()}"
        return (
            f"The API key ({env}) reads public data only; a private or members-only chat "
            "and every moderation call need an OAuth token of the channel's owner or a "
            "moderator (JALSA_YOUTUBE_OAUTH_TOKEN)"
        )

    async def poll_many(
        self, targets: Sequence[Target], now: datetime
    ) -> tuple[list[PollResult | PollError], Usage]:
        """One videos.list request for up to 50 ids: it costs 1 quota unit however many."""
        usage = Usage()
        ids = [t.external_id.strip() for t in targets]
        params = {"part": "liveStreamingDetails,statistics", "id": ",".join(ids)}
        try:
            with charge_errors(usage):
                payload = await self.fetch(usage, "/videos", params)
                items = payload.get("items") if isinstance(payload, dict) else None
                if not isinstance(items, list):
                    raise shape_error("videos.list answer has no items list")
        except PollError as exc:
            if exc.status is StreamStatus.QUOTA_EXCEEDED:
                exc.retry_after = seconds_until_quota_reset(now)  # in the poller's time
            return [exc] * len(ids), exc.usage
        by_id = entries_by_id(items)
        outcomes: list[PollResult | PollError] = []
        for video_id in ids:
            found = by_id.get(video_id)
            if not found:
                outcomes.append(
                    PollError(
                        StreamStatus.NOT_FOUND,
                        f"YouTube has no video {video_id!r}: check the id; private and "
                        "deleted videos are not returned",
                    )
                )
                continue
            outcomes.append(first_readable(found, self._read))
        return outcomes, usage

    def _read(self, item: dict[str, Any]) -> PollResult:
        if not isinstance(item.get("statistics"), dict):
            raise shape_error("items[].statistics missing")
        views = as_count(item["statistics"].get("viewCount"), "statistics.viewCount")
        readings = [Reading("youtube.view_count", views)]
        live = item.get("liveStreamingDetails")
        if not isinstance(live, dict):
            why = "the video is not a live broadcast"
        elif live.get("actualEndTime"):
            why = f"the broadcast ended at {live['actualEndTime']}"
        elif "concurrentViewers" in live:
            viewers = as_count(live["concurrentViewers"], "liveStreamingDetails.concurrentViewers")
            readings.insert(0, Reading("youtube.concurrent_viewers", viewers))
            return PollResult(StreamStatus.OK, readings)
        elif not live.get("actualStartTime"):
            when = live.get("scheduledStartTime") or "an unknown time"
            why = f"the broadcast has not started (scheduled for {when})"
        else:
            why = (
                "the broadcast is live but YouTube gives no concurrent viewer count "
                "(the owner hid it, or nobody is watching)"
            )
        return PollResult(StreamStatus.NOT_LIVE, readings, detail=why)
