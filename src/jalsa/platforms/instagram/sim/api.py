"""Instagram's simulated Graph API: a professional account, its live media, and the comments
under the live media for the inbox, hidden and replied to through the Graph API's shared comment
endpoints (`jalsa.sim.graph`).

    GET  /graph/v21.0/{ig_user_id}?fields=...
    GET  /graph/v21.0/{ig_user_id}/live_media?fields=...
    GET  /graph/v21.0/{ig-media-id}/comments?fields=..[&after=..]
    GET  /graph/v21.0/{ig-comment-id}?fields=hidden,..
    POST /graph/v21.0/{ig-comment-id}?hide=true|false
    POST /graph/v21.0/{ig-comment-id}/replies?message=..    (a reply)

Comments are drawn from the kit's INBOX_PHRASES, a share of the audience per minute.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from jalsa.sim.curves import uniform
from jalsa.sim.graph import GRAPH_PATH, GraphApi, graph_api
from jalsa.sim.kit import (
    CHAT_AUTHOR_POOL,
    CommentThreads,
    Reply,
    decode_position,
    encode_position,
    iso_graph,
    person_name,
    phrase,
    pick,
    requested,
    spread_ms,
    zipf_rank,
)
from jalsa.sim.scenario import Stream
from jalsa.sim.simulator import Simulator

BASE_URLS = {"instagram_base_url": GRAPH_PATH}
COMMENTS_PER_VIEWER_MINUTE = 0.0005
# Every field of a comment, for a GET of the comment itself.
COMMENT_FIELDS = {
    "id",
    "text",
    "username",
    "timestamp",
    "from",
    "like_count",
    "hidden",
    "parent_id",
}


class InstagramGraph:
    """The scenario's Instagram accounts and their live media on the simulator's Graph API."""

    name = "instagram"
    fallback = False
    hide_param = "hide"
    reply_edge = "replies"

    def __init__(self, sim: Simulator, graph: GraphApi) -> None:
        self.sim = sim
        self.graph = graph
        self.threads = CommentThreads(sim.scenario, "ig", COMMENTS_PER_VIEWER_MINUTE)

    def streams(self) -> list[Stream]:
        return self.sim.scenario.streams_of("instagram")

    def media_id(self, stream: Stream) -> str:
        """The id of a stream's live media."""
        return str(18 * 10**15 + int(uniform(self.sim.seed, "ig-media", stream.id) * 10**15))

    def media(self, media_id: str) -> Stream | None:
        return next((s for s in self.streams() if self.media_id(s) == media_id), None)

    # -- the Graph dispatch --

    def claims(self, node_id: str, edge: str | None) -> bool:
        if self.media(node_id) is not None or self.find(node_id) is not None:
            return True
        user = self.sim.scenario.stream("instagram", node_id)
        return edge == "live_media" or (edge is None and user is not None)

    def comment(self, node_id: str) -> dict[str, Any] | None:
        found = self.find(node_id)
        if found is None or f"instagram:{node_id}" in self.sim.deleted:
            return None
        return self.comment_at(*found, COMMENT_FIELDS)

    def node(self, node_id: str, request: Request, now: datetime) -> Reply | None:
        ig = self.sim.scenario.stream("instagram", node_id)
        if ig is None:
            return None
        wanted = requested(request.query_params.get("fields")) or {"status"}
        user = {"id": ig.id, "username": "jalsa.sim", "name": ig.label, "media_count": 1}
        return Reply(200, pick(user, wanted))

    def edge(self, node_id: str, edge: str, request: Request, now: datetime) -> Reply | None:
        media = self.media(node_id)
        if media is not None and edge == "comments":
            return self.comments(media, request, now)
        user = self.sim.scenario.stream("instagram", node_id)
        if edge == "live_media":
            if user is None:
                return self.graph.not_found(node_id)
            return self.live_media(user, request, now)
        if user is not None:
            return self.graph.no_field(edge, "User")
        return None

    def reply_id(self, node_id: str) -> str:
        return str(17_900_000_000_000_000 + self.sim.serial + 1)

    # -- the account's live media --

    def live_media(self, stream: Stream, request: Request, now: datetime) -> Reply:
        sc = self.sim.scenario
        if sc.phase(now) != "live":
            return Reply(200, {"data": []})
        media_id = self.media_id(stream)
        full = {
            "id": media_id,
            "media_type": "BROADCAST",
            "media_product_type": "LIVE",
            "timestamp": iso_graph(sc.start_utc),
            "comments_count": sc.expected_comments(stream, now),
            "like_count": sc.expected_likes(stream, now),
            "username": "jalsa.sim",
            "caption": stream.label,
        }
        item = pick(full, requested(request.query_params.get("fields")))
        cursor = base64.b64encode(media_id.encode()).decode()
        return Reply(
            200, {"data": [item], "paging": {"cursors": {"before": cursor, "after": cursor}}}
        )

    # -- comments --

    def comment_id(self, stream: Stream, minute: int, k: int) -> str:
        return f"179{minute:08d}{k:04d}{self.streams().index(stream):02d}"

    def find(self, comment_id: str) -> tuple[Stream, int, int] | None:
        """The comment an id names, if it has been posted by now."""
        if len(comment_id) != 17 or not comment_id.startswith("179") or not comment_id.isdigit():
            return None
        minute, k, index = int(comment_id[3:11]), int(comment_id[11:15]), int(comment_id[15:])
        streams = self.streams()
        if index >= len(streams):
            return None
        n = self.threads.count(streams[index], minute)
        if k >= n or spread_ms(minute, k, n) > self.sim.clock.now().timestamp() * 1000:
            return None
        return streams[index], minute, k

    def comment_at(self, stream: Stream, minute: int, k: int, wanted: set[str]) -> dict[str, Any]:
        seed = self.sim.seed
        n = self.threads.count(stream, minute)
        rank = zipf_rank(uniform(seed, "ig-commenter", stream.id, minute, k), CHAT_AUTHOR_POOL)
        first, last = person_name(seed, "ig", rank)
        username = f"{first.lower()}.{last.lower()}{rank}"
        comment_id = self.comment_id(stream, minute, k)
        full: dict[str, Any] = {
            "id": comment_id,
            "text": phrase(seed, "ig", stream.id, minute, k),
            "username": username,
            "timestamp": iso_graph(datetime.fromtimestamp(spread_ms(minute, k, n) // 1000, UTC)),
            "from": {"id": str(17_841_400_000_000_000 + rank), "username": username},
            "like_count": int(uniform(seed, "ig-likes", stream.id, minute, k) * 10),
            "hidden": self.sim.hidden.get(f"instagram:{comment_id}", False),
        }
        parent = self.threads.parent(stream, minute, k)
        if parent is not None:
            full["parent_id"] = self.comment_id(stream, *parent)
        return pick(full, wanted)

    def comments(self, stream: Stream, request: Request, now: datetime) -> Reply:
        """GET /{ig-media-id}/comments, newest first, with nested `replies{...}` fields and
        `after` cursor paging."""
        params = request.query_params
        fields = params.get("fields") or "id,text,timestamp"
        wanted = requested(fields)
        reply_fields = (
            requested(fields.split("replies{", 1)[1].split("}", 1)[0])
            if ("replies{" in fields)
            else {"id", "text", "timestamp"}
        )
        raw_limit = params.get("limit", "25")
        limit = min(max(int(raw_limit), 1), 50) if raw_limit.isdigit() else 25
        start = decode_position(params["after"], "igc") if params.get("after") else None
        if params.get("after") and start is None:
            return self.graph.error("(#100) The after cursor is invalid", 100)
        cutoff = int(now.timestamp() * 1000)
        last = min(cutoff // 60_000, int(self.sim.scenario.end_utc.timestamp() // 60))
        page, more = self.threads.top_level_page(
            stream,
            start,
            cutoff,
            last,
            limit,
            skip=lambda minute, k: (
                f"instagram:{self.comment_id(stream, minute, k)}" in self.sim.deleted
            ),
        )
        data = []
        for minute, k in page:
            comment = self.comment_at(stream, minute, k, wanted)
            if "replies" in wanted:
                replies = [
                    self.comment_at(stream, minute + 1, j, reply_fields)
                    for j in self.threads.replies_of(stream, minute, k, cutoff)
                ]
                if replies:
                    comment["replies"] = {"data": replies}
            data.append(comment)
        if not data:
            return Reply(200, {"data": []})
        paging: dict[str, Any] = {
            "cursors": {
                "before": encode_position("igc", *page[0]),
                "after": encode_position("igc", *page[-1]),
            }
        }
        if more:
            url = request.url.remove_query_params(["after", "before"])
            paging["next"] = str(url.include_query_params(after=paging["cursors"]["after"]))
        return Reply(200, {"data": data, "paging": paging})


def routes(sim: Simulator) -> list[Route]:
    """The Graph API's routes (shared with Facebook), with Instagram's nodes on them; its
    state is `sim.parts["instagram"]`."""
    graph = graph_api(sim)
    instagram = sim.parts["instagram"] = InstagramGraph(sim, graph)
    graph.add(instagram)
    return graph.routes
