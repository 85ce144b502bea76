"""Facebook: comments (and their replies) on a live video or a post, as inbox items.

Reuses the conversation collector of `GET /{object-id}/comments` (`filter=stream`, fields
`id,message,created_time,from{id,name},parent{id},...,permalink_url`, paging by
`paging.cursors.after`, later rounds from the newest comment's time with `since`). For an
event's Facebook stream (`FacebookInbox`), the inbox collects the live video's comments.
"""

from __future__ import annotations

from typing import Any, Self

import httpx

from jalsa.config import Settings
from jalsa.platforms.collect.base import secret
from jalsa.platforms.collect.inbox import (
    InboxSource,
    InboxTap,
    Job,
    ident,
    obj,
    parse_time,
    text_of,
)
from jalsa.platforms.facebook.comments import FacebookCommentsCollector
from jalsa.platforms.inbox_record import InboxItem


def graph_comment_items(
    page: Any, platform: str, thread_id: str, **extra: Any
) -> tuple[list[InboxItem], int]:
    """Items of a Graph comments page (Facebook's shape). A comment without `from` (Graph
    leaves it out when the token may not see who wrote it) keeps an empty author."""
    items: list[InboxItem] = []
    skipped = 0
    data = page.get("data") if isinstance(page, dict) else None
    for comment in data if isinstance(data, list) else []:
        created = parse_time(comment.get("created_time")) if isinstance(comment, dict) else None
        comment_id = ident(comment.get("id")) if isinstance(comment, dict) else ""
        if created is None or not comment_id:
            skipped += 1
            continue
        author = obj(comment.get("from"))
        parent = obj(comment.get("parent"))
        parent_id = ident(parent.get("id")) or None
        items.append(
            InboxItem(
                platform=platform,
                external_id=comment_id,
                kind="reply" if parent_id else "comment",
                thread_id=thread_id,
                parent_id=parent_id,
                author_id=text_of(author.get("id")),
                author_name=text_of(author.get("name")),
                text=text_of(comment.get("message")),
                created_at=created,
                permalink=text_of(comment.get("permalink_url")) or None,
                extra={"object_id": thread_id, **extra},
            )
        )
    return items, skipped


class FacebookCommentsInbox(InboxTap, FacebookCommentsCollector):
    """The comments of one LiveVideo or post (`object_id`) as inbox items."""

    @classmethod
    def from_settings(
        cls, client: httpx.AsyncClient, settings: Settings, object_id: str, **options: Any
    ) -> Self:
        token = secret(settings.facebook_access_token)
        kwargs = {"interval": settings.facebook_interval, **options}
        return cls(client, settings.facebook_base_url, token, object_id, **kwargs)

    def page_items(self, page: Any) -> tuple[list[InboxItem], int]:
        return graph_comment_items(page, "facebook", self.object_id)


class FacebookInbox(InboxSource):
    """The comments of a live video."""

    platform = "facebook"

    def stream_jobs(self, kind: str, external_id: str) -> list[Job]:
        ctx = self.ctx
        comments = FacebookCommentsInbox.from_settings(
            ctx.client, ctx.settings, external_id, **ctx.options
        )
        return [ctx.run(comments)]
