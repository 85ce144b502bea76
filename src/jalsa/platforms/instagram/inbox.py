"""Instagram: comments (and their replies) on an IG media object, as inbox items.

  GET {base}/{ig-media-id}/comments?fields=id,text,username,timestamp,from,like_count,hidden,
      replies{id,text,username,timestamp,from,parent_id,hidden}&limit=50[&after=..]

The edge has no `since`: comments come newest first, and a round pages back (by
`paging.cursors.after`) until it reaches comments no newer than the newest one the previous
round saw, so later rounds read one page.

For an event's Instagram stream (an account id, `InstagramInbox`), the inbox looks up the
account's live media as the connector does and collects each one's comments.
"""

from __future__ import annotations

import asyncio
from typing import Any, Unpack

import httpx

from jalsa.config import Settings
from jalsa.platforms.base import PollError, Usage
from jalsa.platforms.collect.base import (
    NEEDS_A_PERSON,
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
from jalsa.platforms.facebook.comments import fetch_comments_page, graph_after
from jalsa.platforms.inbox_record import InboxItem
from jalsa.platforms.instagram.connector import InstagramConnector

REPLY_FIELDS = "id,text,username,timestamp,from,parent_id,hidden"
FIELDS = f"id,text,username,timestamp,from,like_count,hidden,replies{{{REPLY_FIELDS}}}"
# Why an event's Instagram stream is not collected (its line in the run's summary).
SKIPPED_INSTAGRAM = "skipped: set JALSA_INSTAGRAM_ACCESS_TOKEN to collect comments"


class InstagramCommentsApi(InstagramConnector):
    title = "Instagram comments"
    id_help = "the IG media id (of the live video or post) whose comments to collect"


def ig_item(comment: Any, media_id: str, parent_id: str | None, live: bool) -> InboxItem | None:
    if not isinstance(comment, dict):
        return None
    created = parse_time(comment.get("timestamp"))
    author = obj(comment.get("from"))
    username = text_of(comment.get("username")) or text_of(author.get("username"))
    author_id = ident(author.get("id")) or username
    comment_id = ident(comment.get("id"))
    if not comment_id or created is None or not author_id:
        return None
    parent = parent_id or ident(comment.get("parent_id")) or None
    return InboxItem(
        platform="instagram",
        external_id=comment_id,
        kind="reply" if parent else "comment",
        thread_id=media_id,
        parent_id=parent,
        author_id=author_id,
        author_name=username,
        text=text_of(comment.get("text")),
        created_at=created,
        extra={
            "media_id": media_id,
            "username": username,
            "live": live,
            "hidden": comment.get("hidden"),
        },
    )


def ig_comment_items(page: Any, media_id: str, live: bool = False) -> tuple[list[InboxItem], int]:
    """Items of an IG comments page: each comment, then the replies it carries."""
    items: list[InboxItem] = []
    skipped = 0
    data = page.get("data") if isinstance(page, dict) else None
    for comment in data if isinstance(data, list) else []:
        item = ig_item(comment, media_id, None, live)
        if item is None:
            skipped += 1
            continue
        items.append(item)
        replies = obj(comment.get("replies"))
        for reply in entries(replies.get("data")):
            answer = ig_item(reply, media_id, item.external_id, live)
            if answer is None:
                skipped += 1
            else:
                items.append(answer)
    return items, skipped


class InstagramCommentsInbox(InboxTap, PagedCollector):
    """The comments of one IG media object (`live`: it is a live video, whose comments take no
    replies through the API)."""

    page_token = "after"

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        access_token: str | None,
        media_id: str,
        *,
        live: bool = False,
        interval: float = 30.0,
        max_pages: int = 20,
        limit: int = 50,
        **options: Unpack[CollectorOptions],
    ) -> None:
        media_id = given(media_id, "IG media id")
        super().__init__(source_name("instagram-comments", media_id), **options)
        self.api = InstagramCommentsApi(client, base_url, access_token)
        self.media_id = media_id
        self.live = live
        self.interval = interval
        self.max_pages = max_pages
        self.limit = limit

    @classmethod
    def from_settings(
        cls, client: httpx.AsyncClient, settings: Settings, media_id: str, **options: Any
    ) -> InstagramCommentsInbox:
        token = secret(settings.instagram_access_token)
        return cls(client, settings.instagram_base_url, token, media_id, **options)

    def round_params(self, cursor: dict[str, Any]) -> dict[str, str]:
        return {}

    def page_params(self) -> dict[str, str]:
        return {"fields": FIELDS, "limit": str(self.limit)}

    def advance(self, cursor: dict[str, Any], page: Any) -> dict[str, Any]:
        data = page.get("data") if isinstance(page, dict) else None
        comments = data if isinstance(data, list) else []
        stamps = [c.get("timestamp") for c in comments if isinstance(c, dict)]
        return newest_first(cursor, self.page_token, graph_after(page), stamps)

    async def fetch_page(self, result: CollectResult, params: dict[str, str]) -> dict[str, Any]:
        return await fetch_comments_page(
            self.api, result.usage, self.media_id, params, "IG comments"
        )

    def tally(self, result: CollectResult, page: dict[str, Any]) -> None:
        result.items += len(page["data"])

    def page_items(self, page: Any) -> tuple[list[InboxItem], int]:
        return ig_comment_items(page, self.media_id, self.live)


class InstagramInbox(InboxSource):
    """The comments of an account's live videos (the stream's id is the IG user id)."""

    platform = "instagram"

    def stream_jobs(self, kind: str, external_id: str) -> list[Job]:
        if self.ctx.settings.instagram_access_token is None:
            self.ctx.sources[f"instagram-live-{external_id}"] = SKIPPED_INSTAGRAM
            return []
        return [self.live_comments(external_id)]

    async def live_comments(self, ig_user_id: str) -> None:
        """The account's live media are looked up as the Instagram connector does, every
        `instagram_interval` seconds, and each new one gets a comments collector, which runs
        until `stop`."""
        ctx = self.ctx
        api = InstagramCommentsApi.from_settings(ctx.client, ctx.settings)
        source = source_name("instagram-live", ig_user_id)
        running: dict[str, asyncio.Task[None]] = {}
        try:
            while not ctx.stop.is_set():
                try:
                    media = await api.live_media(Usage(), ig_user_id)
                except PollError as exc:
                    ctx.sources[source] = f"{exc.status.value}: {exc.detail}"
                    if exc.status in NEEDS_A_PERSON:
                        return
                else:
                    for media_id in (str(m.get("id") or "") for m in media):
                        if media_id and media_id not in running:
                            comments = InstagramCommentsInbox.from_settings(
                                ctx.client, ctx.settings, media_id, live=True, **ctx.options
                            )
                            running[media_id] = asyncio.create_task(ctx.run(comments))
                    live = f"live media {', '.join(running)}" if running else "not live yet"
                    ctx.sources[source] = f"ok: {live}"
                if await pause(ctx.clock, ctx.settings.instagram_interval, ctx.stop):
                    return
        finally:
            await asyncio.gather(*running.values(), return_exceptions=True)
