"""X: replies in a conversation and mentions of the team's account, as inbox items.

Replies reuse the conversation collector of recent search with `conversation_id:<id>` (later
rounds from `since_id`). Mentions:

  GET {base}/users/{id}/mentions?max_results=100&tweet.fields=..&expansions=author_id,..
      &user.fields=..[&since_id=..|&start_time=..][&pagination_token=..]

with the same cursor (`since_id` after a round, `pagination_token` within one).

The conversations to collect replies in are the team's own, found in its mentions
(`team_conversations`): X puts every reply to the account's posts there.

X Spaces have no comments: for an event with an X stream (`XInbox`), the inbox collects the
mentions of the team's account (`inbox_x_user_id`) and the replies in its conversations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self, Unpack
from urllib.parse import quote

import httpx

from jalsa.config import Settings
from jalsa.platforms.base import shape_error
from jalsa.platforms.collect.base import CollectResult
from jalsa.platforms.collect.inbox import (
    InboxSource,
    InboxTap,
    Job,
    entries,
    ident,
    obj,
    parse_time,
    text_of,
)
from jalsa.platforms.collect.rawlog import source_name
from jalsa.platforms.inbox_record import InboxItem, Kind
from jalsa.platforms.x.collect import POST_FIELDS, XQueryOptions, XSearchCollector

MAX_X_CONVERSATIONS = 50  # X conversations whose replies one run collects
# Why the team's account is not collected (its line in the run's summary).
SKIPPED_X_USER = "skipped: set JALSA_INBOX_X_USER_ID (the team's numeric X user id)"
SKIPPED_X_TOKEN = "skipped: set JALSA_X_BEARER_TOKEN to collect mentions and replies"


def post_items(page: Any, kind: Kind, thread: str | None = None) -> tuple[list[InboxItem], int]:
    """Items of an X v2 page of posts (`data` + `includes.users`). `thread`: the conversation
    being collected, whose root post is not an item of its own."""
    items: list[InboxItem] = []
    skipped = 0
    if not isinstance(page, dict):
        return items, skipped
    includes = obj(page.get("includes"))
    users = {ident(u.get("id")): u for u in entries(includes.get("users")) if isinstance(u, dict)}
    data = page.get("data")
    for post in data if isinstance(data, list) else []:
        if not isinstance(post, dict):
            skipped += 1
            continue
        post_id = text_of(post.get("id"))
        author_id = text_of(post.get("author_id"))
        created = parse_time(post.get("created_at"))
        if not post_id or not author_id or created is None:
            skipped += 1
            continue
        conversation = text_of(post.get("conversation_id")) or thread or post_id
        if thread is not None and post_id == thread:
            continue
        refs = entries(post.get("referenced_tweets"))
        parent = next(
            (
                text_of(r.get("id"))
                for r in refs
                if isinstance(r, dict) and r.get("type") == "replied_to"
            ),
            None,
        )
        user = users.get(author_id, {})
        username = text_of(user.get("username"))
        items.append(
            InboxItem(
                platform="x",
                external_id=post_id,
                kind=kind,
                thread_id=conversation,
                parent_id=parent or None,
                author_id=author_id,
                author_name=text_of(user.get("name")) or username,
                text=text_of(post.get("text")),
                created_at=created,
                permalink=f"https://x.com/{username or 'i/web'}/status/{post_id}",
                extra={
                    "conversation_id": conversation,
                    "username": username,
                    "lang": post.get("lang"),
                    "in_reply_to_user_id": post.get("in_reply_to_user_id"),
                },
            )
        )
    return items, skipped


def team_conversations(items: Iterable[InboxItem], user_id: str) -> list[str]:
    """The conversations that posts of the account `user_id` started, as its mentions show
    them: a reply to a conversation's first post, addressed to the account (replies deeper in
    the thread need not mention it; the conversation's collector finds them)."""
    return list(
        dict.fromkeys(
            i.thread_id
            for i in items
            if i.parent_id == i.thread_id and i.extra.get("in_reply_to_user_id") == user_id
        )
    )


class XRepliesInbox(InboxTap, XSearchCollector):
    """Replies in one conversation (the id of its root post), from recent search."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        bearer_token: str | None,
        conversation_id: str,
        *,
        max_results: int = 100,
        **options: Unpack[XQueryOptions],
    ) -> None:
        conversation_id = conversation_id.strip()
        if not conversation_id.isdigit():
            raise ValueError("the conversation id is the numeric id of the root post")
        options.setdefault("source", source_name("x-replies", conversation_id))
        super().__init__(
            client,
            base_url,
            bearer_token,
            f"conversation_id:{conversation_id}",
            max_results=max_results,
            **options,
        )
        self.conversation_id = conversation_id

    @classmethod
    def for_conversation(
        cls, client: httpx.AsyncClient, settings: Settings, conversation_id: str, **options: Any
    ) -> Self:
        return cls(
            client, conversation_id=conversation_id, **{**cls.settings_kwargs(settings), **options}
        )

    def page_items(self, page: Any) -> tuple[list[InboxItem], int]:
        return post_items(page, "reply", self.conversation_id)


class XMentionsInbox(InboxTap, XSearchCollector):
    """Posts mentioning one account (`user_id`, its numeric id), newest first."""

    page_token = "pagination_token"

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        bearer_token: str | None,
        user_id: str,
        *,
        max_results: int = 100,
        **options: Unpack[XQueryOptions],
    ) -> None:
        user_id = user_id.strip()
        if not user_id.isdigit():
            raise ValueError("the X user id is a number (not the @username)")
        options.setdefault("source", source_name("x-mentions", user_id))
        # The query is the search collector's; here it only names the account.
        super().__init__(
            client, base_url, bearer_token, user_id, max_results=max_results, **options
        )
        self.user_id = user_id

    @classmethod
    def for_user(
        cls, client: httpx.AsyncClient, settings: Settings, user_id: str, **options: Any
    ) -> Self:
        return cls(client, user_id=user_id, **{**cls.settings_kwargs(settings), **options})

    def page_params(self) -> dict[str, str]:
        return {"max_results": str(self.max_results), **POST_FIELDS}

    def advance(self, cursor: dict[str, Any], page: Any) -> dict[str, Any]:
        moved = super().advance(cursor, page)
        round_ = moved.get("round")
        if isinstance(round_, dict) and "next_token" in round_:
            round_ = dict(round_)
            round_[self.page_token] = round_.pop("next_token")
            moved = {**moved, "round": round_}
        return moved

    async def fetch_page(self, result: CollectResult, params: dict[str, str]) -> dict[str, Any]:
        path = f"/users/{quote(self.user_id, safe='')}/mentions"
        page = await self.api.fetch(result.usage, path, params)
        if not isinstance(page, dict):
            raise shape_error("mentions answer is not an object")
        return page

    def page_items(self, page: Any) -> tuple[list[InboxItem], int]:
        return post_items(page, "mention")


class XInbox(InboxSource):
    """The mentions of the team's X account and the replies in its conversations, for an
    event with an X stream (a Space's or the counts' id names no comments)."""

    platform = "x"

    def event_jobs(self) -> list[Job]:
        ctx = self.ctx
        user_id = (ctx.settings.inbox_x_user_id or "").strip()
        if not user_id.isdigit():
            ctx.sources["x-mentions"] = SKIPPED_X_USER
        elif ctx.settings.x_bearer_token is None:
            ctx.sources["x-mentions"] = SKIPPED_X_TOKEN
        else:
            return [self.account(user_id)]
        return []

    async def account(self, user_id: str) -> None:
        """The mentions of the account, and the replies in the conversations its posts
        started: those its mentions show (`team_conversations`), stored ones included, up to
        MAX_X_CONVERSATIONS (each is a search request per round)."""
        ctx = self.ctx
        running: dict[str, asyncio.Task[None]] = {}

        def follow(conversations: Sequence[str]) -> None:
            for conversation in conversations:
                if conversation in running or ctx.stop.is_set():
                    continue
                if len(running) >= MAX_X_CONVERSATIONS:
                    ctx.sources["x-replies"] = (
                        f"following {MAX_X_CONVERSATIONS} conversations, the limit; "
                        "newer ones are not followed"
                    )
                    return
                replies = XRepliesInbox.for_conversation(
                    ctx.client, ctx.settings, conversation, **ctx.options
                )
                running[conversation] = asyncio.create_task(ctx.run(replies))

        def mentioned(items: list[InboxItem], stored: Callable[[], None]) -> None:
            ctx.arrived(items, stored)
            follow(team_conversations(items, user_id))

        def known() -> list[str]:
            return team_conversations(ctx.first_answers("x", "mention"), user_id)

        follow(await asyncio.to_thread(known))
        mentions = XMentionsInbox.for_user(ctx.client, ctx.settings, user_id, **ctx.options)
        try:
            await ctx.run(mentions, on_items=mentioned)
        finally:
            await asyncio.gather(*running.values(), return_exceptions=True)
