"""YouTube live chat: every liveChatMessages.list page into `youtube-chat-<liveChatId>.jsonl`.

Requests (API key in `key`; the key's errors, quota and rate limits are mapped by
`jalsa.platforms.youtube.connector`):
  GET {base}/liveChat/messages?liveChatId=..&part=snippet,authorDetails&maxResults=2000
      [&pageToken=..]                       5 quota units per call, failed calls included
  GET {base}/videos?part=liveStreamingDetails&id={video_id}      1 unit: the chat's id

YouTube says how long to wait before the next call (`pollingIntervalMillis`) and where to go on
from (`nextPageToken`, kept in the state file, so a restart neither skips nor repeats messages).
The chat is over when a page carries `offlineAt` (the stream went offline) or the call fails
with `liveChatEnded`, `liveChatDisabled` or `liveChatNotFound`: the collector then stops.
"""

from __future__ import annotations

from typing import Any, Unpack

import httpx

from jalsa.config import Settings
from jalsa.platforms.base import PollError, StreamStatus, Usage, shape_error
from jalsa.platforms.collect.base import (
    CollectError,
    Collector,
    CollectorOptions,
    CollectResult,
    given,
    secret,
)
from jalsa.platforms.collect.rawlog import source_name
from jalsa.platforms.youtube.connector import YouTubeConnector

MESSAGES_PATH = "/liveChat/messages"
CHAT_QUOTA_UNITS = 5  # liveChatMessages.list, per the API reference
MAX_RESULTS = 2000  # the largest page YouTube serves
# Until YouTube has said how often to poll, and never faster than this.
DEFAULT_POLL_SECONDS = 5.0
MIN_POLL_SECONDS = 1.0

# Reasons that mean the chat is over (or never was): stop, do not retry.
CHAT_OVER = {
    "liveChatEnded": (StreamStatus.NOT_LIVE, "the live chat has ended"),
    "liveChatDisabled": (StreamStatus.NOT_LIVE, "live chat is disabled for this broadcast"),
    "liveChatNotFound": (StreamStatus.NOT_FOUND, "YouTube has no live chat with this id"),
}


class ChatOver(PollError):
    """The chat cannot be read any more; `reason` is YouTube's."""

    def __init__(self, status: StreamStatus, detail: str, reason: str) -> None:
        super().__init__(status, detail)
        self.reason = reason


class YouTubeChatApi(YouTubeConnector):
    """videos.list's key handling and error mapping, with liveChatMessages.list's price and
    its own end-of-chat reasons."""

    title = "YouTube live chat"

    def request_usage(self, payload: Any) -> Usage:
        return Usage(requests=1, quota_units=CHAT_QUOTA_UNITS)

    def expected_usage(self, batch: int = 1) -> Usage:
        return Usage(requests=1, quota_units=CHAT_QUOTA_UNITS)

    def platform_error(
        self, status_code: int, payload: Any, headers: httpx.Headers
    ) -> PollError | None:
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            error = payload["error"]
            for item in error.get("errors") or []:
                reason = item.get("reason") if isinstance(item, dict) else None
                if reason in CHAT_OVER:
                    status, why = CHAT_OVER[reason]
                    said = str(error.get("message") or "").strip()
                    return ChatOver(status, f"{why} ({reason}: {said})", str(reason))
        return super().platform_error(status_code, payload, headers)


async def active_live_chat_id(
    client: httpx.AsyncClient,
    base_url: str,
    api_key: str | None,
    video_id: str,
    usage: Usage | None = None,
) -> str | None:
    """The `liveStreamingDetails.activeLiveChatId` of a video (1 quota unit): None when the
    video has no chat now (not a live broadcast, over, or chat turned off). Raises PollError
    (NOT_FOUND for an unknown video) as the connectors do."""
    connector = YouTubeConnector(client, base_url, api_key)
    spent = usage if usage is not None else Usage()
    payload = await connector.fetch(
        spent, "/videos", {"part": "liveStreamingDetails", "id": video_id.strip()}
    )
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise shape_error("videos.list answer has no items list")
    item = next((i for i in items if isinstance(i, dict) and i.get("id") == video_id.strip()), None)
    if item is None:
        raise PollError(
            StreamStatus.NOT_FOUND,
            f"YouTube has no video {video_id!r}: check the id (the 11 characters after v=)",
        )
    details = item.get("liveStreamingDetails")
    chat = details.get("activeLiveChatId") if isinstance(details, dict) else None
    return chat if isinstance(chat, str) and chat else None


class YouTubeChatCollector(Collector):
    """Live chat messages of one chat (`live_chat_id`), one call per round, at the pace
    YouTube sets. Use `for_video` to start from a video id."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        live_chat_id: str,
        *,
        max_results: int = MAX_RESULTS,
        **options: Unpack[CollectorOptions],
    ) -> None:
        live_chat_id = given(live_chat_id, "live chat id")
        if not 200 <= max_results <= MAX_RESULTS:
            raise ValueError("max_results must be between 200 and 2000 (YouTube's limits)")
        super().__init__(source_name("youtube-chat", live_chat_id), **options)
        self.api = YouTubeChatApi(client, base_url, api_key)
        self.live_chat_id = live_chat_id
        self.max_results = max_results
        self.interval = DEFAULT_POLL_SECONDS

    @classmethod
    async def for_video(
        cls,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        video_id: str,
        **options: Any,
    ) -> YouTubeChatCollector:
        """The collector of the video's active chat; CollectError when it has none."""
        usage = Usage()
        try:
            chat_id = await active_live_chat_id(client, base_url, api_key, video_id, usage)
        except PollError as exc:
            result = CollectResult(source_name("youtube-video", video_id), usage=usage)
            result.fail(exc)
            raise CollectError(result) from None
        if chat_id is None:
            result = CollectResult(
                source_name("youtube-video", video_id),
                status=StreamStatus.NOT_LIVE,
                usage=usage,
                detail="the video has no active live chat (not live, over, or chat turned off)",
            )
            raise CollectError(result)
        return cls(client, base_url, api_key, chat_id, **options)

    @classmethod
    def from_settings(
        cls, client: httpx.AsyncClient, settings: Settings, live_chat_id: str, **options: Any
    ) -> YouTubeChatCollector:
        key = secret(settings.youtube_api_key)
        return cls(client, settings.youtube_base_url, key, live_chat_id, **options)

    def advance(self, cursor: dict[str, Any], page: Any) -> dict[str, Any]:
        if not isinstance(page, dict):
            return cursor
        moved = dict(cursor)
        token = page.get("nextPageToken")
        if isinstance(token, str) and token:
            moved["page_token"] = token
        interval = page.get("pollingIntervalMillis")
        if isinstance(interval, int | float) and not isinstance(interval, bool):
            moved["polling_interval_ms"] = int(interval)
        if page.get("offlineAt"):
            moved["finished"] = True
            moved["offline_at"] = page["offlineAt"]
        return moved

    def poll_seconds(self) -> float:
        millis = self.cursor.get("polling_interval_ms")
        if isinstance(millis, int) and millis > 0:
            return max(millis / 1000.0, MIN_POLL_SECONDS)
        return DEFAULT_POLL_SECONDS

    async def run_once(self) -> CollectResult:
        await self.open()
        result = CollectResult(self.source)
        cursor = dict(self.cursor)
        if cursor.get("finished"):
            result.finished = True
            result.status = StreamStatus.NOT_LIVE
            result.detail = (
                cursor.get("over") or f"the chat went offline at {cursor.get('offline_at')}"
            )
            return result
        params = {
            "liveChatId": self.live_chat_id,
            "part": "snippet,authorDetails",
            "maxResults": str(self.max_results),
        }
        if cursor.get("page_token"):
            params["pageToken"] = str(cursor["page_token"])
        try:
            page = await self.api.fetch(result.usage, MESSAGES_PATH, params)
            items = page.get("items") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise shape_error("liveChatMessages.list answer has no items list")
            cursor = self.advance(cursor, page)
            await self.commit(page, cursor)
            result.pages, result.items = 1, len(items)
            if cursor.get("finished"):
                result.finished = True
                result.detail = f"the stream went offline at {cursor.get('offline_at')}"
        except ChatOver as exc:
            result.fail(exc)
            result.finished = True
            await self.save_cursor({**cursor, "finished": True, "over": exc.detail})
        except PollError as exc:
            result.fail(exc)
        self.interval = self.poll_seconds()
        return result
