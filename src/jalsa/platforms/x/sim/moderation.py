"""X's simulated inbox and moderation endpoints: replies in a conversation and mentions of the
team's account (in the inbox's words, not the hashtag posts'), hiding replies, and posting.

    GET  /x/2/tweets/search/recent?query=conversation_id:<id>
    GET  /x/2/users/{id}/mentions
    PUT  /x/2/tweets/{id}/hidden  {"hidden": true|false}
    POST /x/2/tweets  {"text", "reply": {"in_reply_to_tweet_id"}}

Injected errors: a token starting with `readonly` lacks the permission (403); a deleted post is
not found afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request

from jalsa.platforms.x.sim.errors import x_forbidden, x_not_found
from jalsa.platforms.x.sim.posts import (
    FIXED_AUTHORS,
    PostRef,
    Posts,
    decode_x_token,
    x_entities,
    x_ms,
    x_page_reply,
)
from jalsa.sim.kit import Handler, Reply, json_body, phrase
from jalsa.sim.simulator import Simulator


def post_not_found(post_id: str) -> Reply:
    error = x_not_found(post_id, "tweet")
    body: dict[str, Any] = {"errors": [error]}
    body.update({k: error[k] for k in ("title", "detail", "type")})
    return Reply(404, body)


class Moderation:
    """What the team's account sees and does on X."""

    def __init__(self, sim: Simulator, posts: Posts) -> None:
        self.sim = sim
        self.posts = posts

    def ref(self, post_id: str) -> PostRef | None:
        """The simulated post an id names, if it has been posted by now."""
        if not post_id.isdigit():
            return None
        value = int(post_id)
        index, k = (value >> 12) & 0x3FF, value & 0xFFF
        streams = self.sim.scenario.streams
        if index >= len(streams) or streams[index].platform != "x_counts":
            return None
        stream = streams[index]
        ms = x_ms(value)
        minute = ms // 60_000
        n = self.posts.minute_count(stream, minute)
        if k >= n or ms > self.sim.clock.now().timestamp() * 1000:
            return None
        ref = PostRef(value, index, stream, minute, k, n)
        return ref if self.posts.minute_posts(index, stream, minute)[k].id == value else None

    def hide(self, request: Request, now: datetime, body: bytes) -> Reply:
        """PUT /2/tweets/{id}/hidden"""
        refused = x_forbidden(request)
        if refused is not None:
            return refused
        post_id = request.path_params["post_id"]
        hidden = (json_body(body) or {}).get("hidden")
        if not isinstance(hidden, bool):
            return Reply(
                400,
                {
                    "errors": [{"message": "hidden must be a boolean", "parameters": {}}],
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": "https://api.twitter.com/2/problems/invalid-request",
                },
            )
        if self.ref(post_id) is None or f"x:{post_id}" in self.sim.deleted:
            return post_not_found(post_id)
        self.sim.hidden[f"x:{post_id}"] = hidden
        return Reply(200, {"data": {"hidden": hidden}})

    def post(self, request: Request, now: datetime, body: bytes) -> Reply:
        """POST /2/tweets: a post, or a reply to one."""
        refused = x_forbidden(request)
        if refused is not None:
            return refused
        payload = json_body(body) or {}
        text = payload.get("text")
        to = str((payload.get("reply") or {}).get("in_reply_to_tweet_id") or "")
        if not isinstance(text, str) or not text.strip():
            return Reply(
                400,
                {
                    "title": "Invalid Request",
                    "detail": "text is required",
                    "type": "https://api.twitter.com/2/problems/invalid-request",
                },
            )
        if to and (self.ref(to) is None or f"x:{to}" in self.sim.deleted):
            return post_not_found(to)
        post_id = str(2_000_000_000_000_000_000 + self.sim.serial)
        self.sim.serial += 1
        self.sim.posted.append({"platform": "x", "parent": to or None, "text": text, "id": post_id})
        return Reply(
            201, {"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}}
        )

    def replies_to(self, root: PostRef, now: datetime) -> list[PostRef]:
        """Posts replying to `root` (the simulator's replies follow within 5 minutes)."""
        found = []
        for minute in range(root.minute + 1, root.minute + 7):
            if minute * 60_000 > now.timestamp() * 1000:
                break
            for ref in self.posts.minute_posts(root.stream_index, root.stream, minute):
                target = self.posts.target(ref)
                if (
                    target is not None
                    and target[0] == "replied_to"
                    and target[1].id == root.id
                    and x_ms(ref.id) <= now.timestamp() * 1000
                ):
                    found.append(ref)
        return found

    def page(self, refs: list[PostRef], request: Request, now: datetime, token_name: str) -> Reply:
        """A search-shaped page of `refs` (newest first), with since_id and paging."""
        params = request.query_params
        raw_max = params.get("max_results", "10")
        limit = min(max(int(raw_max), 5), 100) if raw_max.isdigit() else 10
        since = int(params["since_id"]) if params.get("since_id", "").isdigit() else -1
        below = decode_x_token(params.get(token_name, "")) if params.get(token_name) else None
        upper = int(below) if below else 1 << 63
        chosen = sorted(
            (r for r in refs if since < r.id < upper and f"x:{r.id}" not in self.sim.deleted),
            key=lambda r: r.id,
            reverse=True,
        )
        page = chosen[:limit]
        data, includes = self.posts.render(page, now, params)
        for post in data:  # what people write to the team, not the hashtag posts
            ref = next(r for r in page if str(r.id) == post["id"])
            mention = post["text"].split(" ", 1)[0] if post["text"].startswith("@") else ""
            words = phrase(self.sim.seed, "x", ref.id)
            post["text"] = f"{mention} {words}".strip()
            if "entities" in post:
                post["entities"] = x_entities(post["text"])
        return x_page_reply(page, data, includes, more=len(chosen) > limit)

    def search(self, fallback: Handler) -> Handler:
        """Recent search for `conversation_id:<id>` answered here, any other query by
        `fallback` (the hashtag search)."""

        def run(request: Request, now: datetime) -> Reply:
            query = request.query_params.get("query", "").strip()
            if not query.startswith("conversation_id:"):
                return fallback(request, now)
            root = self.ref(query.split(":", 1)[1].strip())
            if root is None:
                return Reply(200, {"meta": {"result_count": 0}})
            return self.page(self.replies_to(root, now), request, now, "next_token")

        return run

    def mentions(self, request: Request, now: datetime) -> Reply:
        """GET /2/users/{id}/mentions: replies to the account's posts in the last 15 minutes
        (the simulated accounts that are replied to are the fixed ones that open every
        minute)."""
        user_id = request.path_params["user_id"]
        ranks = [i for i, a in enumerate(FIXED_AUTHORS) if a[0] == user_id]
        if not ranks:
            return Reply(200, {"meta": {"result_count": 0}})
        found: list[PostRef] = []
        last = int(now.timestamp() // 60)
        for index, stream in enumerate(self.sim.scenario.streams):
            if stream.platform != "x_counts":
                continue
            for minute in range(last - 15, last + 1):
                for ref in self.posts.minute_posts(index, stream, minute):
                    target = self.posts.target(ref)
                    if (
                        target is not None
                        and target[0] == "replied_to"
                        and self.posts.author_rank(target[1]) == ranks[0]
                        and x_ms(ref.id) <= now.timestamp() * 1000
                    ):
                        found.append(ref)
        return self.page(found, request, now, "pagination_token")
