"""The simulator's inbox and moderation endpoints, in the platforms' documented shapes, and
what was done through them, so the demo and the tests can check that an item was hidden or an
author banned.

    YouTube   GET    /youtube/v3/commentThreads?part=snippet,replies&videoId=..[&pageToken=..]
              GET    /youtube/v3/comments?id=..&part=snippet       (shows moderationStatus)
              POST   /youtube/v3/comments?part=snippet             comments.insert (a reply)
              POST   /youtube/v3/comments/setModerationStatus?id=..&moderationStatus=..
              POST   /youtube/v3/liveChat/bans?part=snippet        liveChatBans.insert
              POST   /youtube/v3/liveChat/messages?part=snippet    liveChatMessages.insert
              DELETE /youtube/v3/liveChat/messages?id=..           liveChatMessages.delete
    Graph     GET    /graph/v21.0/{ig-media-id}/comments?fields=..[&after=..]
              GET    /graph/v21.0/{comment-id}?fields=is_hidden,..  (Facebook and Instagram)
              POST   /graph/v21.0/{comment-id}?is_hidden=true|false (Facebook) / ?hide= (IG)
              POST   /graph/v21.0/{comment-id}/comments?message=..  (Facebook reply)
              POST   /graph/v21.0/{ig-comment-id}/replies?message=.. (Instagram reply)
    X         GET    /x/2/tweets/search/recent?query=conversation_id:<id>
              GET    /x/2/users/{id}/mentions
              PUT    /x/2/tweets/{id}/hidden  {"hidden": true|false}
              POST   /x/2/tweets  {"text", "reply": {"in_reply_to_tweet_id"}}
    Simulator GET    /_sim/moderation  (everything done so far)
              POST   /_sim/moderation/delete  {"platform", "id"}  (an author deletes an item)

Chat messages of a banned author (after the ban) and deleted chat messages leave the chat.
Injected errors: a token starting with `readonly` lacks the moderation permission (YouTube 403
forbidden, Graph #200, X 403); an item deleted (through the API or /_sim/moderation/delete) is
not found afterwards, as on the platforms. Comments here are drawn from `INBOX_PHRASES`:
English, Urdu script and Roman Urdu, with some abuse, personal data (fake phone and CNIC
numbers) and spam, for the classifier and the personal-data rules to find.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jalsa.sim.curves import uniform
from jalsa.sim.scenario import Stream
from jalsa.sim.server import (
    CHAT_AUTHOR_POOL,
    FIXED_AUTHORS,
    Handler,
    PostRef,
    Reply,
    Simulator,
    bearer,
    decode_position,
    decode_x_token,
    encode_position,
    etag,
    iso_graph,
    iso_z,
    live_chat_id,
    minute_start,
    person_name,
    pick,
    requested,
    spread_ms,
    x_entities,
    x_ms,
    x_page_reply,
    youtube_error,
    zipf_rank,
)

# What people write under a rally's video, post or live: (text, category). The category is
# the simulator's ground truth for demos; it is never sent.
INBOX_PHRASES: tuple[tuple[str, str], ...] = (
    ("Pakistan Zindabad! Great jalsa", "ok"),
    ("Khan sahab ki taqreer bohat achi thi", "ok"),
    ("عوام کا جلسہ، عوام کی آواز", "ok"),
    ("Lahore se dekh rahe hain, VPN ke sath", "ok"),
    ("When is the next jalsa? Please share the schedule", "ok"),
    ("آواز نہیں آ رہی، براہ کرم ٹھیک کریں", "ok"),
    ("Sound is breaking again, fix it please", "ok"),
    ("Internet band hai Karachi mein, kya karein?", "ok"),
    ("Tum log sab chor ho, besharam", "abuse"),
    ("You are all idiots and liars", "abuse"),
    ("تم سب غدار ہو، شرم کرو", "abuse"),
    ("Isko ghar se utha lo, pata hai kahan rehta hai", "harassment"),
    ("Mera number 0300-1234567 hai, WhatsApp karo", "personal_data"),
    ("Iska CNIC 35202-1234567-1 hai, sab ko bhejo", "personal_data"),
    ("Call me on +92 321 7654321 for passes", "personal_data"),
    ("Free mobile package!!! 👉 bit.ly/free-pkg-pk", "spam"),
    ("Earn 50000 daily from home, DM now", "spam"),
    ("Cricket score kya hai?", "off_topic"),
)
COMMENTS_PER_VIEWER_MINUTE = {"yt": 0.0005, "ig": 0.0005}  # YouTube, Instagram
REPLY_SHARE = 0.2
READONLY_PREFIX = "readonly"  # a token without the moderation permission


def phrase(seed: int, *key: object) -> str:
    return INBOX_PHRASES[int(uniform(seed, "inbox-phrase", *key) * len(INBOX_PHRASES))][0]


def token_of(request: Request) -> str:
    params = request.query_params
    return bearer(request) or params.get("access_token") or params.get("key") or ""


def graph_params(request: Request, body: bytes) -> dict[str, str]:
    """A Graph POST's parameters: the query string and a form or JSON body."""
    params = dict(request.query_params)
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        with contextlib.suppress(ValueError, AttributeError):
            params.update(
                {
                    k: str(v).lower() if isinstance(v, bool) else str(v)
                    for k, v in json.loads(text).items()
                }
            )
    elif text:
        params.update(dict(parse_qsl(text)))
    return params


def chat_not_found() -> Reply:
    return youtube_error(
        404,
        "The specified live chat cannot be found.",
        "liveChatNotFound",
        domain="youtube.liveChat",
    )


def json_body(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body or b"null")
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


@dataclass
class Moderation:
    """What moderators did through the simulated APIs."""

    sim: Simulator
    hidden: dict[str, bool] = field(default_factory=dict)  # "<platform>:<id>" -> hidden
    statuses: dict[str, str] = field(default_factory=dict)  # YouTube comment id -> status
    comment_bans: set[str] = field(default_factory=set)  # YouTube channels whose comments go
    chat_bans: dict[tuple[str, str], tuple[datetime, datetime | None]] = field(
        default_factory=dict
    )  # (liveChatId, channelId) -> (from, until)
    deleted: set[str] = field(default_factory=set)  # "<platform>:<id>"
    posted: list[dict[str, Any]] = field(default_factory=list)  # replies and chat messages
    serial: int = 0

    @property
    def seed(self) -> int:
        return self.sim.scenario.seed

    def state(self) -> dict[str, Any]:
        return {
            "hidden": sorted(k for k, v in self.hidden.items() if v),
            "youtube_moderation_status": dict(self.statuses),
            "youtube_comment_bans": sorted(self.comment_bans),
            "youtube_chat_bans": [
                {"liveChatId": chat, "channelId": channel, "until": iso_z(u) if u else None}
                for (chat, channel), (_, u) in self.chat_bans.items()
            ],
            "deleted": sorted(self.deleted),
            "posted": list(self.posted),
        }

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{etag('posted', self.seed, self.serial)[:16]}"

    # -- comments under a YouTube video or an Instagram live (`key` "yt" or "ig") --

    def count(self, key: str, stream: Stream, minute: int) -> int:
        middle = minute_start(minute) + timedelta(seconds=30)
        audience = self.sim.scenario.expected_audience(stream, middle)
        return round(audience * COMMENTS_PER_VIEWER_MINUTE[key])

    def parent(self, key: str, stream: Stream, minute: int, k: int) -> tuple[int, int] | None:
        """The comment the k-th of a minute replies to (the first of the minute before)."""
        if k == 0 or uniform(self.seed, f"{key}-reply", stream.id, minute, k) >= REPLY_SHARE:
            return None
        return (minute - 1, 0) if self.count(key, stream, minute - 1) > 0 else None

    def top_level_page(
        self,
        key: str,
        stream: Stream,
        start: tuple[int, int] | None,
        cutoff: int,
        last: int,
        limit: int,
        skip: Callable[[int, int], bool] = lambda minute, k: False,
    ) -> tuple[list[tuple[int, int]], bool]:
        """Up to `limit` top-level comments posted by `cutoff` (ms), newest first, from the
        minute `last` down and before `start` (a page token's position); and whether more
        follow."""
        first = int(self.sim.scenario.start_utc.timestamp() // 60)
        found: list[tuple[int, int]] = []
        for minute in range(last, first - 1, -1):
            if start is not None and minute > start[0]:
                continue
            n = self.count(key, stream, minute)
            for k in range(n - 1, -1, -1):
                if start is not None and (minute, k) >= start:
                    continue
                if spread_ms(minute, k, n) > cutoff or self.parent(key, stream, minute, k):
                    continue
                if skip(minute, k):
                    continue
                found.append((minute, k))
            if len(found) > limit:
                break
        return found[:limit], len(found) > limit

    def replies_of(self, key: str, stream: Stream, minute: int, k: int, cutoff: int) -> list[int]:
        """The positions in the next minute of the replies to a comment, posted by `cutoff`."""
        after = self.count(key, stream, minute + 1)
        return [
            j
            for j in range(after)
            if self.parent(key, stream, minute + 1, j) == (minute, k)
            and spread_ms(minute + 1, j, after) <= cutoff
        ]

    # -- YouTube comment threads --

    def yt_streams(self) -> list[Stream]:
        return self.sim.scenario.streams_of("youtube")

    def yt_id(self, stream: Stream, minute: int, k: int) -> str:
        index = self.yt_streams().index(stream)
        return "Ugx" + encode_position(f"ytc{index}", minute, k)

    def yt_find(self, comment_id: str) -> tuple[Stream, int, int] | None:
        """The comment an id names, if it exists now (a reply: `<parent>.<reply>`)."""
        own = comment_id.split(".")[-1]
        if not own.startswith("Ugx"):
            return None
        for index, stream in enumerate(self.yt_streams()):
            position = decode_position(own[3:], f"ytc{index}")
            if position is None:
                continue
            minute, k = position
            n = self.count("yt", stream, minute)
            if k < n and spread_ms(minute, k, n) <= self.sim.clock.now().timestamp() * 1000:
                return stream, minute, k
        return None

    def yt_comment(self, stream: Stream, minute: int, k: int) -> dict[str, Any]:
        n = self.count("yt", stream, minute)
        rank = zipf_rank(uniform(self.seed, "yt-commenter", stream.id, minute, k), 3000)
        channel = "UC" + etag("yt-user", self.seed, rank)[:22]
        first, last = person_name(self.seed, "yt", rank)
        text = phrase(self.seed, "yt", stream.id, minute, k)
        when = iso_z(datetime.fromtimestamp(spread_ms(minute, k, n) / 1000, UTC))
        comment_id = self.yt_id(stream, minute, k)
        parent = self.parent("yt", stream, minute, k)
        if parent is not None:
            comment_id = f"{self.yt_id(stream, *parent)}.{comment_id}"
        snippet: dict[str, Any] = {
            "channelId": "UC" + etag("channel", self.seed)[:22],
            "videoId": stream.id,
            "textDisplay": text,
            "textOriginal": text,
            "authorDisplayName": f"@{first}{last}{rank}",
            "authorProfileImageUrl": f"https://yt3.ggpht.com/ytc/{channel[2:14]}=s48-c-k-no-rj",
            "authorChannelUrl": f"http://www.youtube.com/@{first}{last}{rank}",
            "authorChannelId": {"value": channel},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": int(uniform(self.seed, "yt-likes", stream.id, minute, k) * 20),
            "publishedAt": when,
            "updatedAt": when,
        }
        if parent is not None:
            snippet["parentId"] = self.yt_id(stream, *parent)
        status = self.statuses.get(comment_id.split(".")[-1])
        if status is None and channel in self.comment_bans:
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
        return "moderationStatus" not in comment["snippet"] and f"youtube:{own}" not in self.deleted

    def comment_threads(self, request: Request, now: datetime) -> Reply:
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
        page, more = self.top_level_page("yt", stream, start, cutoff, last, limit)
        items = []
        for minute, k in page:
            top = self.yt_comment(stream, minute, k)
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
                self.yt_comment(stream, minute + 1, j)
                for j in self.replies_of("yt", stream, minute, k, cutoff)
            ]
            replies = [r for r in replies if self.visible(r)]
            replies += [p["resource"] for p in self.posted if p.get("parent") == top["id"]]
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
        ids = [i for i in request.query_params.get("id", "").split(",") if i]
        items = [
            self.yt_comment(*found) for found in (self.yt_find(i) for i in ids) if found is not None
        ]
        items = [i for i in items if f"youtube:{i['id'].split('.')[-1]}" not in self.deleted]
        return Reply(
            200,
            {
                "kind": "youtube#commentListResponse",
                "etag": etag("yt-comments", ids),
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
                "items": items,
            },
        )

    def yt_forbidden(self, request: Request) -> Reply | None:
        if token_of(request).startswith(READONLY_PREFIX):
            return youtube_error(
                403,
                "The request is not properly authorized to moderate these comments.",
                "forbidden",
                status="PERMISSION_DENIED",
            )
        return None

    def set_moderation_status(self, request: Request, now: datetime) -> Reply:
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
        refused = self.yt_forbidden(request)
        if refused is not None:
            return refused
        ids = [i for i in params.get("id", "").split(",") if i]
        found = [(i, self.yt_find(i)) for i in ids]
        if not ids or any(
            f is None or f"youtube:{i.split('.')[-1]}" in self.deleted for i, f in found
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
                channel = self.yt_comment(*where)["snippet"]["authorChannelId"]["value"]
                self.comment_bans.add(channel)
        return Reply(204, {})

    def comments_insert(self, request: Request, now: datetime, body: bytes) -> Reply:
        refused = self.yt_forbidden(request)
        if refused is not None:
            return refused
        snippet = (json_body(body) or {}).get("snippet") or {}
        parent = snippet.get("parentId")
        text = snippet.get("textOriginal")
        if not parent or not text:
            return youtube_error(400, "snippet.parentId and textOriginal are required", "required")
        if self.yt_find(str(parent)) is None or f"youtube:{parent}" in self.deleted:
            return youtube_error(404, "The parent comment was not found.", "parentNotFound")
        comment_id = f"{parent}.{self.next_id('Ugz')}"
        resource = {
            "kind": "youtube#comment",
            "etag": etag("yt-posted", comment_id),
            "id": comment_id,
            "snippet": {
                "textOriginal": text,
                "textDisplay": text,
                "parentId": parent,
                "authorDisplayName": "@jalsaTeam",
                "authorChannelId": {"value": "UC" + etag("channel", self.seed)[:22]},
                "publishedAt": iso_z(now),
                "updatedAt": iso_z(now),
            },
        }
        self.posted.append(
            {
                "platform": "youtube",
                "parent": parent,
                "text": text,
                "id": comment_id,
                "resource": resource,
            }
        )
        return Reply(200, resource)

    # -- YouTube live chat --

    def chat_stream(self, chat_id: str) -> Stream | None:
        return next((s for s in self.yt_streams() if live_chat_id(s) == chat_id), None)

    def chat_ban(self, request: Request, now: datetime, body: bytes) -> Reply:
        refused = self.yt_forbidden(request)
        if refused is not None:
            return refused
        snippet = (json_body(body) or {}).get("snippet") or {}
        chat = str(snippet.get("liveChatId") or "")
        channel = str((snippet.get("bannedUserDetails") or {}).get("channelId") or "")
        kind = snippet.get("type")
        if self.chat_stream(chat) is None:
            return chat_not_found()
        if not channel or kind not in ("permanent", "temporary"):
            return youtube_error(400, "snippet.type and bannedUserDetails are required", "required")
        until = None
        if kind == "temporary":
            seconds = str(snippet.get("banDurationSeconds") or "300")
            until = now + timedelta(seconds=int(seconds) if seconds.isdigit() else 300)
        self.chat_bans[(chat, channel)] = (now, until)
        ban_id = self.next_id("ban.")
        return Reply(
            200,
            {
                "kind": "youtube#liveChatBan",
                "etag": etag("ban", ban_id),
                "id": ban_id,
                "snippet": snippet,
            },
        )

    def chat_insert(self, request: Request, now: datetime, body: bytes) -> Reply:
        refused = self.yt_forbidden(request)
        if refused is not None:
            return refused
        snippet = (json_body(body) or {}).get("snippet") or {}
        chat = str(snippet.get("liveChatId") or "")
        text = (snippet.get("textMessageDetails") or {}).get("messageText")
        if self.chat_stream(chat) is None:
            return chat_not_found()
        if not text:
            return youtube_error(400, "snippet.textMessageDetails.messageText", "required")
        message_id = self.next_id("LCC.")
        resource = {
            "kind": "youtube#liveChatMessage",
            "etag": etag("chat-posted", message_id),
            "id": message_id,
            "snippet": {
                **snippet,
                "publishedAt": now.isoformat(),
                "hasDisplayContent": True,
                "displayMessage": text,
            },
        }
        self.posted.append({"platform": "youtube", "chat": chat, "text": text, "id": message_id})
        return Reply(200, resource)

    def chat_delete(self, request: Request, now: datetime) -> Reply:
        refused = self.yt_forbidden(request)
        if refused is not None:
            return refused
        message_id = request.query_params.get("id", "")
        if not message_id.startswith("LCC.") or f"youtube:{message_id}" in self.deleted:
            return youtube_error(
                404,
                "The live chat message could not be found.",
                "liveChatMessageNotFound",
                domain="youtube.liveChat",
            )
        self.deleted.add(f"youtube:{message_id}")
        return Reply(204, {})

    def chat_filter(self, handler: Handler) -> Handler:
        """The chat listing without deleted messages and banned authors' later messages."""

        def run(request: Request, now: datetime) -> Reply:
            reply = handler(request, now)
            items = reply.body.get("items")
            if reply.status != 200 or not isinstance(items, list):
                return reply
            chat = request.query_params.get("liveChatId", "")
            kept = [i for i in items if self.chat_visible(chat, i)]
            if len(kept) != len(items):
                reply.body["items"] = kept
                reply.body["pageInfo"] = {"totalResults": len(kept), "resultsPerPage": len(kept)}
            return reply

        return run

    def chat_visible(self, chat: str, item: dict[str, Any]) -> bool:
        if f"youtube:{item.get('id')}" in self.deleted:
            return False
        snippet = item.get("snippet") or {}
        channel = snippet.get("authorChannelId") or (item.get("authorDetails") or {}).get(
            "channelId"
        )
        ban = self.chat_bans.get((chat, str(channel)))
        if ban is None:
            return True
        since, until = ban
        try:
            published = datetime.fromisoformat(str(snippet.get("publishedAt")))
        except ValueError:
            return False
        return published < since or (until is not None and published >= until)

    # -- Graph: Facebook and Instagram comments --

    def ig_streams(self) -> list[Stream]:
        return self.sim.scenario.streams_of("instagram")

    def ig_media_id(self, stream: Stream) -> str:
        return str(18 * 10**15 + int(uniform(self.seed, "ig-media", stream.id) * 10**15))

    def ig_media(self, media_id: str) -> Stream | None:
        return next((s for s in self.ig_streams() if self.ig_media_id(s) == media_id), None)

    def ig_id(self, stream: Stream, minute: int, k: int) -> str:
        return f"179{minute:08d}{k:04d}{self.ig_streams().index(stream):02d}"

    def ig_find(self, comment_id: str) -> tuple[Stream, int, int] | None:
        if len(comment_id) != 17 or not comment_id.startswith("179") or not comment_id.isdigit():
            return None
        minute, k, index = int(comment_id[3:11]), int(comment_id[11:15]), int(comment_id[15:])
        streams = self.ig_streams()
        if index >= len(streams):
            return None
        n = self.count("ig", streams[index], minute)
        if k >= n or spread_ms(minute, k, n) > self.sim.clock.now().timestamp() * 1000:
            return None
        return streams[index], minute, k

    def ig_comment(self, stream: Stream, minute: int, k: int, wanted: set[str]) -> dict[str, Any]:
        n = self.count("ig", stream, minute)
        rank = zipf_rank(uniform(self.seed, "ig-commenter", stream.id, minute, k), CHAT_AUTHOR_POOL)
        first, last = person_name(self.seed, "ig", rank)
        username = f"{first.lower()}.{last.lower()}{rank}"
        comment_id = self.ig_id(stream, minute, k)
        full: dict[str, Any] = {
            "id": comment_id,
            "text": phrase(self.seed, "ig", stream.id, minute, k),
            "username": username,
            "timestamp": iso_graph(datetime.fromtimestamp(spread_ms(minute, k, n) // 1000, UTC)),
            "from": {"id": str(17_841_400_000_000_000 + rank), "username": username},
            "like_count": int(uniform(self.seed, "ig-likes", stream.id, minute, k) * 10),
            "hidden": self.hidden.get(f"instagram:{comment_id}", False),
        }
        parent = self.parent("ig", stream, minute, k)
        if parent is not None:
            full["parent_id"] = self.ig_id(stream, *parent)
        return pick(full, wanted)

    def ig_comments(self, stream: Stream, request: Request, now: datetime) -> Reply:
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
            return self.sim.graph_error("(#100) The after cursor is invalid", 100)
        cutoff = int(now.timestamp() * 1000)
        last = min(cutoff // 60_000, int(self.sim.scenario.end_utc.timestamp() // 60))
        page, more = self.top_level_page(
            "ig",
            stream,
            start,
            cutoff,
            last,
            limit,
            skip=lambda minute, k: f"instagram:{self.ig_id(stream, minute, k)}" in self.deleted,
        )
        data = []
        for minute, k in page:
            comment = self.ig_comment(stream, minute, k, wanted)
            if "replies" in wanted:
                replies = [
                    self.ig_comment(stream, minute + 1, j, reply_fields)
                    for j in self.replies_of("ig", stream, minute, k, cutoff)
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

    def fb_find(self, comment_id: str) -> tuple[Stream, int, int] | None:
        video, _, serial = comment_id.partition("_")
        if not serial.isdigit():
            return None
        stream = next(
            (s for s in self.sim.scenario.streams_of("facebook") if s.facebook_video_id == video),
            None,
        )
        value = int(serial) - 10**14
        minute, k = divmod(value, 10**4)
        if stream is None or value < 0:
            return None
        n = self.sim.comment_count(stream, minute)
        if k >= n or spread_ms(minute, k, n) > self.sim.clock.now().timestamp() * 1000:
            return None
        return stream, minute, k

    def graph_comment(self, node_id: str) -> tuple[str, dict[str, Any]] | None:
        """(platform, full comment) of a Facebook or Instagram comment id that exists."""
        fb = self.fb_find(node_id)
        if fb is not None and f"facebook:{node_id}" not in self.deleted:
            stream, minute, k = fb
            n = self.sim.comment_count(stream, minute)
            full = self.sim.comment(stream, minute, k, n, self.sim.clock.now())
            full["is_hidden"] = self.hidden.get(f"facebook:{node_id}", False)
            return "facebook", full
        ig = self.ig_find(node_id)
        if ig is not None and f"instagram:{node_id}" not in self.deleted:
            fields = {
                "id",
                "text",
                "username",
                "timestamp",
                "from",
                "like_count",
                "hidden",
                "parent_id",
            }
            return "instagram", self.ig_comment(*ig, fields)
        return None

    def graph_platform(
        self, fallback: Callable[[str, str | None], str]
    ) -> Callable[[str, str | None], str]:
        def which(node_id: str, edge: str | None) -> str:
            if self.ig_media(node_id) is not None or self.ig_find(node_id) is not None:
                return "instagram"
            return fallback(node_id, edge)

        return which

    def graph_node(self, fallback: Handler) -> Handler:
        """GET of a comment (with `is_hidden`/`hidden`), else the simulator's own nodes."""

        def run(request: Request, now: datetime) -> Reply:
            node_id = request.path_params["node_id"]
            found = self.graph_comment(node_id)
            if found is None:
                if f"facebook:{node_id}" in self.deleted or f"instagram:{node_id}" in self.deleted:
                    return self.sim.graph_not_found(node_id)
                return fallback(request, now)
            wanted = requested(request.query_params.get("fields")) or {"id", "message", "text"}
            return Reply(200, pick(found[1], wanted))

        return run

    def graph_edge(self, fallback: Handler) -> Handler:
        """An IG media's comments, else the simulator's own edges."""

        def run(request: Request, now: datetime) -> Reply:
            node_id = request.path_params["node_id"]
            media = self.ig_media(node_id)
            if media is not None and request.path_params["edge"] == "comments":
                return self.ig_comments(media, request, now)
            return fallback(request, now)

        return run

    def graph_forbidden(self, request: Request, params: dict[str, str]) -> Reply | None:
        token = params.get("access_token") or token_of(request)
        if token.startswith(READONLY_PREFIX):
            return self.sim.graph_error(
                "(#200) Requires pages_manage_engagement permission to manage the object",
                200,
                kind="OAuthException",
                status=403,
            )
        return None

    def graph_post(self, request: Request, now: datetime, body: bytes) -> Reply:
        """POST /{comment-id}: hide or unhide (Facebook `is_hidden`, Instagram `hide`)."""
        node_id = request.path_params["node_id"]
        params = graph_params(request, body)
        refused = self.graph_forbidden(request, params)
        if refused is not None:
            return refused
        found = self.graph_comment(node_id)
        if found is None:
            return self.sim.graph_not_found(node_id)
        platform = found[0]
        name = "is_hidden" if platform == "facebook" else "hide"
        value = params.get(name)
        if value not in ("true", "false"):
            return self.sim.graph_error(f"(#100) The parameter {name} is required", 100)
        self.hidden[f"{platform}:{node_id}"] = value == "true"
        return Reply(200, {"success": True})

    def graph_reply(self, request: Request, now: datetime, body: bytes) -> Reply:
        """POST /{comment-id}/comments (Facebook) or /{ig-comment-id}/replies (Instagram)."""
        node_id = request.path_params["node_id"]
        edge = request.path_params["edge"]
        params = graph_params(request, body)
        refused = self.graph_forbidden(request, params)
        if refused is not None:
            return refused
        found = self.graph_comment(node_id)
        if found is None or {"facebook": "comments", "instagram": "replies"}[found[0]] != edge:
            return self.sim.graph_not_found(node_id)
        message = params.get("message", "").strip()
        if not message:
            return self.sim.graph_error("(#100) The parameter message is required", 100)
        reply_id = (
            f"{node_id.split('_')[0]}_{self.next_id('')}"
            if found[0] == "facebook"
            else str(17_900_000_000_000_000 + self.serial + 1)
        )
        self.serial += 1
        self.posted.append(
            {"platform": found[0], "parent": node_id, "text": message, "id": reply_id}
        )
        return Reply(200, {"id": reply_id})

    # -- X --

    def x_forbidden(self, request: Request) -> Reply | None:
        if token_of(request).startswith(READONLY_PREFIX):
            return Reply(
                403,
                {
                    "title": "Forbidden",
                    "type": "about:blank",
                    "status": 403,
                    "detail": "You are not permitted to perform this action.",
                },
            )
        return None

    def x_ref(self, post_id: str) -> PostRef | None:
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
        n = self.sim.x_minute_count(stream, minute)
        if k >= n or ms > self.sim.clock.now().timestamp() * 1000:
            return None
        ref = PostRef(value, index, stream, minute, k, n)
        return ref if self.sim.x_minute_posts(index, stream, minute)[k].id == value else None

    def x_not_found(self, post_id: str) -> Reply:
        return Reply(
            404,
            {
                "errors": [
                    {
                        "value": post_id,
                        "detail": f"Could not find tweet with id: [{post_id}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "id",
                        "resource_id": post_id,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                ],
                "title": "Not Found Error",
                "detail": f"Could not find tweet with id: [{post_id}].",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            },
        )

    def x_hide(self, request: Request, now: datetime, body: bytes) -> Reply:
        refused = self.x_forbidden(request)
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
        if self.x_ref(post_id) is None or f"x:{post_id}" in self.deleted:
            return self.x_not_found(post_id)
        self.hidden[f"x:{post_id}"] = hidden
        return Reply(200, {"data": {"hidden": hidden}})

    def x_post(self, request: Request, now: datetime, body: bytes) -> Reply:
        refused = self.x_forbidden(request)
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
        if to and (self.x_ref(to) is None or f"x:{to}" in self.deleted):
            return self.x_not_found(to)
        post_id = str(2_000_000_000_000_000_000 + self.serial)
        self.serial += 1
        self.posted.append({"platform": "x", "parent": to or None, "text": text, "id": post_id})
        return Reply(
            201, {"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}}
        )

    def x_replies_to(self, root: PostRef, now: datetime) -> list[PostRef]:
        """Posts replying to `root` (the simulator's replies follow within 5 minutes)."""
        found = []
        for minute in range(root.minute + 1, root.minute + 7):
            if minute * 60_000 > now.timestamp() * 1000:
                break
            for ref in self.sim.x_minute_posts(root.stream_index, root.stream, minute):
                target = self.sim.x_target(ref)
                if (
                    target is not None
                    and target[0] == "replied_to"
                    and target[1].id == root.id
                    and x_ms(ref.id) <= now.timestamp() * 1000
                ):
                    found.append(ref)
        return found

    def x_page(
        self, refs: list[PostRef], request: Request, now: datetime, token_name: str
    ) -> Reply:
        """A search-shaped page of `refs` (newest first), with since_id and paging."""
        params = request.query_params
        raw_max = params.get("max_results", "10")
        limit = min(max(int(raw_max), 5), 100) if raw_max.isdigit() else 10
        since = int(params["since_id"]) if params.get("since_id", "").isdigit() else -1
        below = decode_x_token(params.get(token_name, "")) if params.get(token_name) else None
        upper = int(below) if below else 1 << 63
        chosen = sorted(
            (r for r in refs if since < r.id < upper and f"x:{r.id}" not in self.deleted),
            key=lambda r: r.id,
            reverse=True,
        )
        page = chosen[:limit]
        data, includes = self.sim.x_render(page, now, params)
        for post in data:  # what people write to the team, not the hashtag posts
            ref = next(r for r in page if str(r.id) == post["id"])
            mention = post["text"].split(" ", 1)[0] if post["text"].startswith("@") else ""
            words = phrase(self.seed, "x", ref.id)
            post["text"] = f"{mention} {words}".strip()
            if "entities" in post:
                post["entities"] = x_entities(post["text"])
        return x_page_reply(page, data, includes, more=len(chosen) > limit)

    def x_search(self, fallback: Handler) -> Handler:
        """Recent search for `conversation_id:<id>` answered here, any other query as before."""

        def run(request: Request, now: datetime) -> Reply:
            query = request.query_params.get("query", "").strip()
            if not query.startswith("conversation_id:"):
                return fallback(request, now)
            root = self.x_ref(query.split(":", 1)[1].strip())
            if root is None:
                return Reply(200, {"meta": {"result_count": 0}})
            return self.x_page(self.x_replies_to(root, now), request, now, "next_token")

        return run

    def x_mentions(self, request: Request, now: datetime) -> Reply:
        """Replies to the account's posts in the last 15 minutes (the simulated accounts that
        are replied to are the fixed ones that open every minute)."""
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
                for ref in self.sim.x_minute_posts(index, stream, minute):
                    target = self.sim.x_target(ref)
                    if (
                        target is not None
                        and target[0] == "replied_to"
                        and self.sim.x_author_rank(target[1]) == ranks[0]
                        and x_ms(ref.id) <= now.timestamp() * 1000
                    ):
                        found.append(ref)
        return self.x_page(found, request, now, "pagination_token")

    # -- the simulator's own control --

    async def delete_item(self, request: Request) -> Response:
        """An author deletes an item: later actions on it find nothing."""
        payload = json_body(await request.body()) or {}
        key = f"{payload.get('platform')}:{payload.get('id')}"
        self.deleted.add(key)
        return JSONResponse({"deleted": key})


Endpoint = Callable[..., Callable[[Request], Awaitable[Response]]]


def moderation_routes(mod: Moderation, endpoint: Endpoint) -> list[Route]:
    """The routes above; `endpoint(platform, handler, family)` runs a handler through the
    simulator's gates (network, credential, bursts) as the other endpoints do."""
    sim = mod.sim

    def with_body(
        platform: str | Callable[[Request], str],
        handler: Callable[[Request, datetime, bytes], Reply],
        family: str | None = None,
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            body = await request.body()
            name = platform(request) if callable(platform) else platform
            return await sim.handle(request, name, lambda r, now: handler(r, now, body), family)

        return run

    def graph_platform(request: Request) -> str:
        return mod.graph_platform(sim.graph_platform)(request.path_params["node_id"], None)

    async def state(request: Request) -> Response:
        return JSONResponse(mod.state())

    yt = "/youtube/v3"
    return [
        Route(f"{yt}/commentThreads", endpoint("youtube", mod.comment_threads)),
        Route(f"{yt}/comments", endpoint("youtube", mod.comments_list), methods=["GET"]),
        Route(f"{yt}/comments", with_body("youtube", mod.comments_insert), methods=["POST"]),
        Route(
            f"{yt}/comments/setModerationStatus",
            endpoint("youtube", mod.set_moderation_status),
            methods=["POST"],
        ),
        Route(f"{yt}/liveChat/bans", with_body("youtube", mod.chat_ban), methods=["POST"]),
        Route(f"{yt}/liveChat/messages", with_body("youtube", mod.chat_insert), methods=["POST"]),
        Route(f"{yt}/liveChat/messages", endpoint("youtube", mod.chat_delete), methods=["DELETE"]),
        Route(
            "/graph/{version}/{node_id}",
            with_body(graph_platform, mod.graph_post),
            methods=["POST"],
        ),
        Route(
            "/graph/{version}/{node_id}/{edge}",
            with_body(graph_platform, mod.graph_reply),
            methods=["POST"],
        ),
        Route(
            "/x/2/tweets/{post_id}/hidden",
            with_body("x_counts", mod.x_hide, "hide"),
            methods=["PUT"],
        ),
        Route("/x/2/tweets", with_body("x_counts", mod.x_post, "manage"), methods=["POST"]),
        Route("/x/2/users/{user_id}/mentions", endpoint("x_counts", mod.x_mentions, "mentions")),
        Route("/_sim/moderation", state),
        Route("/_sim/moderation/delete", mod.delete_item, methods=["POST"]),
    ]
