"""YouTube: live chat messages and comment threads of a video, as inbox items.

Live chat reuses the conversation collector (liveChatMessages.list at YouTube's
`pollingIntervalMillis`, resuming from `nextPageToken`). Comment threads:

  GET {base}/commentThreads?part=snippet,replies&videoId=..&textFormat=plainText&order=time
      &maxResults=100[&pageToken=..]                 1 quota unit per page

Threads come newest first. A round pages back until a page reaches threads no newer than the
newest one the previous round saw (kept in the cursor), so later rounds read one page, not the
whole video. A reply to an old thread is seen only when its thread is on a page read again
(commentThreads carries at most 5 replies per thread; comments.list?parentId= has the rest).

For an event's YouTube stream (`YouTubeInbox`), the inbox collects the video's comment threads
and, once the broadcast has one, its live chat.
"""

from __future__ import annotations

from typing import Any, Self, Unpack, cast

import httpx

from jalsa.config import Settings
from jalsa.platforms.base import PollError, StreamStatus, shape_error
from jalsa.platforms.collect.base import (
    NEEDS_A_PERSON,
    CollectError,
    CollectorOptions,
    CollectResult,
    PagedCollector,
    given,
    pause,
    secret,
)
from jalsa.platforms.collect.inbox import (
    InboxSource,
    InboxTap,
    Job,
    entries,
    ident,
    newest_first,
    obj,
    parse_time,
    text_of,
)
from jalsa.platforms.collect.rawlog import source_name
from jalsa.platforms.inbox_record import InboxItem
from jalsa.platforms.youtube.chat import YouTubeChatCollector
from jalsa.platforms.youtube.connector import YouTubeConnector
from jalsa.platforms.youtube.source import POST_TYPES

THREADS_PATH = "/commentThreads"
THREAD_PARTS = "snippet,replies"


def chat_items(page: Any, video_id: str | None = None) -> tuple[list[InboxItem], int]:
    """Inbox items of a liveChatMessages.list page: the messages people write, with text
    (text messages, Super Chat and milestone comments); chat events (deletions, bans, new
    members, chat ended) are no items, though YouTube gives them a `displayMessage`."""
    items: list[InboxItem] = []
    skipped = 0
    entries = page.get("items") if isinstance(page, dict) else None
    for message in entries if isinstance(entries, list) else []:
        snippet = message.get("snippet") if isinstance(message, dict) else None
        if not isinstance(snippet, dict):
            skipped += 1
            continue
        kind = snippet.get("type")
        details = obj(snippet.get("textMessageDetails"))
        if kind not in (*POST_TYPES, "memberMilestoneChatEvent") and not (kind is None and details):
            continue
        text = (
            text_of(details.get("messageText"))
            or text_of(obj(snippet.get("superChatDetails")).get("userComment"))
            or text_of(obj(snippet.get("memberMilestoneChatDetails")).get("userComment"))
            or (text_of(snippet.get("displayMessage")) if kind == "textMessageEvent" else "")
        )
        if not text:
            continue
        author = obj(message.get("authorDetails"))
        author_id = text_of(author.get("channelId")) or text_of(snippet.get("authorChannelId"))
        created = parse_time(snippet.get("publishedAt"))
        chat_id = text_of(snippet.get("liveChatId"))
        message_id = ident(message.get("id"))
        if not message_id or not author_id or created is None:
            skipped += 1
            continue
        items.append(
            InboxItem(
                platform="youtube",
                external_id=message_id,
                kind="live_chat",
                thread_id=video_id or chat_id,
                author_id=author_id,
                author_name=text_of(author.get("displayName")),
                text=text,
                created_at=created,
                permalink=f"https://www.youtube.com/watch?v={video_id}" if video_id else None,
                extra={
                    "live_chat_id": chat_id,
                    "video_id": video_id,
                    "message_type": snippet.get("type"),
                    "is_moderator": bool(author.get("isChatModerator")),
                    "is_owner": bool(author.get("isChatOwner")),
                },
            )
        )
    return items, skipped


def comment_item(comment: Any, video_id: str, kind: str, parent_id: str | None) -> InboxItem | None:
    """One youtube#comment as an item; None when it lacks an id, author or time."""
    snippet = comment.get("snippet") if isinstance(comment, dict) else None
    if not isinstance(snippet, dict):
        return None
    channel = snippet.get("authorChannelId")
    author_id = text_of(channel.get("value")) if isinstance(channel, dict) else ""
    created = parse_time(snippet.get("publishedAt"))
    comment_id = ident(comment.get("id"))
    if not comment_id or not author_id or created is None:
        return None
    video = text_of(snippet.get("videoId")) or video_id
    return InboxItem(
        platform="youtube",
        external_id=comment_id,
        kind="reply" if kind == "reply" else "comment",
        thread_id=video,
        parent_id=parent_id,
        author_id=author_id,
        author_name=text_of(snippet.get("authorDisplayName")),
        text=text_of(snippet.get("textOriginal")) or text_of(snippet.get("textDisplay")),
        created_at=created,
        permalink=f"https://www.youtube.com/watch?v={video}&lc={comment_id}",
        extra={
            "video_id": video,
            "moderation_status": snippet.get("moderationStatus"),
            "can_reply": snippet.get("canReply"),
        },
    )


def thread_items(page: Any, video_id: str) -> tuple[list[InboxItem], int]:
    """Items of a commentThreads.list page: each thread's top-level comment and its replies."""
    items: list[InboxItem] = []
    skipped = 0
    threads = page.get("items") if isinstance(page, dict) else None
    for thread in threads if isinstance(threads, list) else []:
        snippet = thread.get("snippet") if isinstance(thread, dict) else None
        top = snippet.get("topLevelComment") if isinstance(snippet, dict) else None
        item = comment_item(top, video_id, "comment", None)
        if item is None:
            skipped += 1
            continue
        items.append(item)
        replies = obj(thread.get("replies"))
        for reply in entries(replies.get("comments")):
            answer = comment_item(reply, video_id, "reply", item.external_id)
            if answer is None:
                skipped += 1
            else:
                items.append(answer)
    return items, skipped


class YouTubeChatInbox(InboxTap, YouTubeChatCollector):
    """A live chat's messages as inbox items; `video_id` dates the thread and the permalink."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        live_chat_id: str,
        *,
        video_id: str | None = None,
        max_results: int = 2000,
        **options: Unpack[CollectorOptions],
    ) -> None:
        super().__init__(
            client, base_url, api_key, live_chat_id, max_results=max_results, **options
        )
        self.video_id = video_id

    @classmethod
    async def for_video(
        cls,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        video_id: str,
        **options: Any,
    ) -> Self:
        collector = cast(
            Self, await super().for_video(client, base_url, api_key, video_id, **options)
        )
        collector.video_id = video_id.strip()
        return collector

    def page_items(self, page: Any) -> tuple[list[InboxItem], int]:
        return chat_items(page, self.video_id)


class YouTubeCommentsApi(YouTubeConnector):
    """The YouTube connector's key and error mapping; disabled comments are the video's state,
    not a failure of the key."""

    title = "YouTube comments"

    def platform_error(
        self, status_code: int, payload: Any, headers: httpx.Headers
    ) -> PollError | None:
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            reasons = {
                e.get("reason") for e in payload["error"].get("errors") or [] if isinstance(e, dict)
            }
            if "commentsDisabled" in reasons:
                return PollError(StreamStatus.NOT_FOUND, "comments are turned off for this video")
        return super().platform_error(status_code, payload, headers)


class YouTubeCommentsInbox(InboxTap, PagedCollector):
    """The comment threads of one video, newest first, as inbox items."""

    page_token = "pageToken"

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        video_id: str,
        *,
        interval: float = 60.0,
        max_pages: int = 20,
        **options: Unpack[CollectorOptions],
    ) -> None:
        video_id = given(video_id, "video id")
        super().__init__(source_name("youtube-comments", video_id), **options)
        self.api = YouTubeCommentsApi(client, base_url, api_key)
        self.video_id = video_id
        self.interval = interval
        self.max_pages = max_pages

    @classmethod
    def from_settings(
        cls, client: httpx.AsyncClient, settings: Settings, video_id: str, **options: Any
    ) -> YouTubeCommentsInbox:
        key = secret(settings.youtube_api_key)
        return cls(client, settings.youtube_base_url, key, video_id, **options)

    def round_params(self, cursor: dict[str, Any]) -> dict[str, str]:
        return {}

    def page_params(self) -> dict[str, str]:
        return {
            "part": THREAD_PARTS,
            "videoId": self.video_id,
            "textFormat": "plainText",
            "order": "time",
            "maxResults": "100",
        }

    def advance(self, cursor: dict[str, Any], page: Any) -> dict[str, Any]:
        token = page.get("nextPageToken") if isinstance(page, dict) else None
        return newest_first(cursor, self.page_token, token, thread_times(page))

    async def fetch_page(self, result: CollectResult, params: dict[str, str]) -> dict[str, Any]:
        page = await self.api.fetch(result.usage, THREADS_PATH, params)
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise shape_error("commentThreads.list answer has no items list")
        return page

    def tally(self, result: CollectResult, page: dict[str, Any]) -> None:
        result.items += len(page["items"])

    def page_items(self, page: Any) -> tuple[list[InboxItem], int]:
        return thread_items(page, self.video_id)


def thread_times(page: Any) -> list[Any]:
    """The top-level comments' publishedAt of a commentThreads page, as sent."""
    found: list[Any] = []
    for thread in entries(page.get("items")) if isinstance(page, dict) else []:
        top = obj(obj(thread).get("snippet")).get("topLevelComment")
        when = obj(obj(top).get("snippet")).get("publishedAt")
        if isinstance(when, str):
            found.append(when)
    return found


class YouTubeInbox(InboxSource):
    """A video's comment threads and, once it has one, its live chat."""

    platform = "youtube"

    def stream_jobs(self, kind: str, external_id: str) -> list[Job]:
        ctx = self.ctx
        comments = YouTubeCommentsInbox.from_settings(
            ctx.client, ctx.settings, external_id, **ctx.options
        )
        return [self.live_chat(external_id), ctx.run(comments)]

    async def live_chat(self, video_id: str) -> None:
        """The video's live chat, once it has one (none before the broadcast starts): looked
        for every minute until then."""
        ctx = self.ctx
        while not ctx.stop.is_set():
            try:
                chat = await YouTubeChatInbox.for_video(
                    ctx.client,
                    ctx.settings.youtube_base_url,
                    secret(ctx.settings.youtube_api_key),
                    video_id,
                    **ctx.options,
                )
            except CollectError as exc:
                ctx.report(exc.result)
                if exc.result.status in NEEDS_A_PERSON or await pause(ctx.clock, 60, ctx.stop):
                    return
                continue
            await ctx.run(chat)
            return
