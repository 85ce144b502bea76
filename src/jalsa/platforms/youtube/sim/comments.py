"""Comments under a YouTube video, simulated for the inbox: commentThreads.list (newest first,
paged by token, with replies), comments.list (which shows moderationStatus), comments.insert (a
reply) and comments.setModerationStatus (hold, publish, reject, optionally banning the author).

Texts are drawn from the kit's INBOX_PHRASES; a held, rejected or deleted comment, and every
comment of an author banned from the channel, leaves the listing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from jalsa.platforms.youtube.sim.errors import forbidden, youtube_error
from jalsa.sim.curves import uniform
from jalsa.sim.kit import (
    CommentThreads,
    Reply,
    decode_position,
    encode_position,
    etag,
    iso_z,
    json_body,
    person_name,
    phrase,
    requested,
    spread_ms,
    zipf_rank,
)
from jalsa.sim.scenario import Stream
from jalsa.sim.simulator import Simulator

COMMENTS_PER_VIEWER_MINUTE = 0.0005


class Comments:
    """The comments under the scenario's YouTube videos, and their moderation."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.threads = CommentThreads(sim.scenario, "yt", COMMENTS_PER_VIEWER_MINUTE)
        self.statuses: dict[str, str] = {}  # comment id -> moderation status
        self.author_bans: set[str] = set()  # channels whose comments go

    def streams(self) -> list[Stream]:
        return self.sim.scenario.streams_of("youtube")

    def comment_id(self, stream: Stream, minute: int, k: int) -> str:
        index = self.streams().index(stream)
        return "Ugx" + encode_position(f"ytc{index}", minute, k)

    def find(self, comment_id: str) -> tuple[Stream, int, int] | None:
        """The comment an id names, if it exists now (a reply: `<parent>.<reply>`)."""
        own = comment_id.split(".")[-1]
        if not own.startswith("Ugx"):
            return None
        for index, stream in enumerate(self.streams()):
            position = decode_position(own[3:], f"ytc{index}")
            if position is None:
                continue
            minute, k = position
            n = self.threads.count(stream, minute)
            if k < n and spread_ms(minute, k, n) <= self.sim.clock.now().timestamp() * 1000:
                return stream, minute, k
        return None

    def comment(self, stream: Stream, minute: int, k: int) -> dict[str, Any]:
        seed = self.sim.seed
        n = self.threads.count(stream, minute)
        rank = zipf_rank(uniform(seed, "yt-commenter", stream.id, minute, k), 3000)
        channel = "UC" + etag("yt-user", seed, rank)[:22]
        first, last = person_name(seed, "yt", rank)
        text = phrase(seed, "yt", stream.id, minute, k)
        when = iso_z(datetime.fromtimestamp(spread_ms(minute, k, n) / 1000, UTC))
        comment_id = self.comment_id(stream, minute, k)
        parent = self.threads.parent(stream, minute, k)
        if parent is not None:
            comment_id = f"{self.comment_id(stream, *parent)}.{comment_id}"
        snippet: dict[str, Any] = {
            "channelId": "UC" + etag("channel", seed)[:22],
            "videoId": stream.id,
            "textDisplay": text,
            "textOriginal": text,
            "authorDisplayName": f"@{first}{last}{rank}",
            "authorProfileImageUrl": f"https://yt3.ggpht.com/ytc/{channel[2:14]}=s48-c-k-no-rj",
            "authorChannelUrl": f"http://www.youtube.com/@{first}{last}{rank}",
            "authorChannelId": {"value": channel},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": int(uniform(seed, "yt-likes", stream.id, minute, k) * 20),
            "publishedAt": when,
            "updatedAt": when,
        }
        if parent is not None:
            snippet["parentId"] = self.comment_id(stream, *parent)
        status = self.statuses.get(comment_id.split(".")[-1])
        if status is None and channel in self.author_bans:
            status = "rejected"
        if status and status != "published":
            snippet["moderationStatus"] = status
        return {
            "kind": "youtube#comment",
            "etag": etag("yt-comment-etag", comment_id, status),
            "id": comment_id,
            "snippet": snippet,
        }

    def visible(self, comment: dict[str, Any]) -> bool:
        """A comment others can see: not held, rejected or deleted."""
        own = comment["id"].split(".")[-1]
        deleted = f"youtube:{own}" in self.sim.deleted
        return "moderationStatus" not in comment["snippet"] and not deleted

    def comment_threads(self, request: Request, now: datetime) -> Reply:
        """GET /commentThreads?videoId=..&part=snippet,replies[&pageToken=..]"""
        params = request.query_params
        video = params.get("videoId")
        stream = self.sim.scenario.stream("youtube", video or "")
        if not video or stream is None:
            return youtube_error(
                404,
                'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/'
                'list#videoId">videoId</a></code> parameter could not be found.',
                "videoNotFound",
            )
        raw_max = params.get("maxResults", "20")
        limit = min(max(int(raw_max), 1), 100) if raw_max.isdigit() else 20
        start = decode_position(params.get("pageToken", ""), "ytthreads")
        cutoff = int(now.timestamp() * 1000)
        last = min(cutoff // 60_000, int(self.sim.scenario.end_utc.timestamp() // 60) + 60)
        page, more = self.threads.top_level_page(stream, start, cutoff, last, limit)
        items = []
        for minute, k in page:
            top = self.comment(stream, minute, k)
            if not self.visible(top):
                continue
            thread: dict[str, Any] = {
                "kind": "youtube#commentThread",
                "etag": etag("yt-thread", top["id"]),
                "id": top["id"],
                "snippet": {
                    "channelId": top["snippet"]["channelId"],
                    "videoId": stream.id,
                    "topLevelComment": top,
                    "canReply": True,
                    "totalReplyCount": 0,
                    "isPublic": True,
                },
            }
            replies = [
                self.comment(stream, minute + 1, j)
                for j in self.threads.replies_of(stream, minute, k, cutoff)
            ]
            replies = [r for r in replies if self.visible(r)]
            replies += [p["resource"] for p in self.sim.posted if p.get("parent") == top["id"]]
            thread["snippet"]["totalReplyCount"] = len(replies)
            if replies and "replies" in requested(params.get("part")):
                thread["replies"] = {"comments": replies[:5]}
            items.append(thread)
        body: dict[str, Any] = {
            "kind": "youtube#commentThreadListResponse",
            "etag": etag("yt-threads", stream.id, page[:1], len(page)),
        }
        if more:
            body["nextPageToken"] = encode_position("ytthreads", *page[-1])
        body["pageInfo"] = {"totalResults": len(items), "resultsPerPage": limit}
        body["items"] = items
        return Reply(200, body)

    def comments_list(self, request: Request, now: datetime) -> Reply:
        """GET /comments?id=..&part=snippet"""
        ids = [i for i in request.query_params.get("id", "").split(",") if i]
        items = [self.comment(*found) for found in (self.find(i) for i in ids) if found is not None]
        items = [i for i in items if f"youtube:{i['id'].split('.')[-1]}" not in self.sim.deleted]
        return Reply(
            200,
            {
                "kind": "youtube#commentListResponse",
                "etag": etag("yt-comments", ids),
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
                "items": items,
            },
        )

    def set_moderation_status(self, request: Request, now: datetime) -> Reply:
        """POST /comments/setModerationStatus?id=..&moderationStatus=..[&banAuthor=true]"""
        params = request.query_params
        status = params.get("moderationStatus", "")
        if status not in ("heldForReview", "published", "rejected"):
            return youtube_error(400, "Invalid value for moderationStatus", "invalidValue")
        ban = params.get("banAuthor", "false").lower() == "true"
        if ban and status != "rejected":
            return youtube_error(
                400,
                "The banAuthor parameter can only be used with moderationStatus rejected.",
                "banWithoutReject",
            )
        refused = forbidden(request)
        if refused is not None:
            return refused
        ids = [i for i in params.get("id", "").split(",") if i]
        found = [(i, self.find(i)) for i in ids]
        if not ids or any(
            f is None or f"youtube:{i.split('.')[-1]}" in self.sim.deleted for i, f in found
        ):
            return youtube_error(
                404,
                "One or more comments that the request is trying to update cannot be found.",
                "commentNotFound",
            )
        for comment_id, where in found:
            assert where is not None
            self.statuses[comment_id.split(".")[-1]] = status
            if ban:
                channel = self.comment(*where)["snippet"]["authorChannelId"]["value"]
                self.author_bans.add(channel)
        return Reply(204, {})

    def insert(self, request: Request, now: datetime, body: bytes) -> Reply:
        """POST /comments?part=snippet (comments.insert): the team replies to a comment."""
        refused = forbidden(request)
        if refused is not None:
            return refused
        snippet = (json_body(body) or {}).get("snippet") or {}
        parent = snippet.get("parentId")
        text = snippet.get("textOriginal")
        if not parent or not text:
            return youtube_error(400, "snippet.parentId and textOriginal are required", "required")
        if self.find(str(parent)) is None or f"youtube:{parent}" in self.sim.deleted:
            return youtube_error(404, "The parent comment was not found.", "parentNotFound")
        comment_id = f"{parent}.{self.sim.next_id('Ugz')}"
        resource = {
            "kind": "youtube#comment",
            "etag": etag("yt-posted", comment_id),
            "id": comment_id,
            "snippet": {
                "textOriginal": text,
                "textDisplay": text,
                "parentId": parent,
                "authorDisplayName": "@jalsaTeam",
                "authorChannelId": {"value": "UC" + etag("channel", self.sim.seed)[:22]},
                "publishedAt": iso_z(now),
                "updatedAt": iso_z(now),
            },
        }
        self.sim.posted.append(
            {
                "platform": "youtube",
                "parent": parent,
                "text": text,
                "id": comment_id,
                "resource": resource,
            }
        )
        return Reply(200, resource)

    def state(self) -> dict[str, Any]:
        """Statuses set and authors banned, for /_sim/moderation."""
        return {
            "youtube_moderation_status": dict(self.statuses),
            "youtube_comment_bans": sorted(self.author_bans),
        }
