"""A YouTube broadcast's simulated live chat: liveChatMessages.list paged by token, and its
moderation (liveChatBans.insert, liveChatMessages.insert and .delete).

A minute holds a share of the stream's audience as messages, spread evenly over the minute;
authors are drawn with Zipf-like weights (one busy account spams). Deleted messages and the
messages of a banned author (after the ban, until a temporary ban ends) leave the chat.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request

from jalsa.platforms.youtube.sim.errors import forbidden, required, youtube_error
from jalsa.sim.curves import uniform
from jalsa.sim.kit import (
    CHAT_AUTHOR_POOL,
    CHAT_PHRASES,
    SPAM_MESSAGE,
    SPAM_RANK,
    Reply,
    decode_position,
    encode_position,
    etag,
    iso_ms_z,
    iso_z,
    json_body,
    minute_start,
    person_name,
    requested,
    spread_ms,
    zipf_rank,
)
from jalsa.sim.scenario import Stream
from jalsa.sim.simulator import Simulator

CHAT_PER_VIEWER_MINUTE = 0.002  # YouTube live chat messages per viewer per minute
CHAT_POLL_MILLIS = 5000
CHAT_HISTORY_SECONDS = 60  # a first page (no token) holds this much recent chat
CHAT_OFFLINE_MINUTES = 5  # pages carry offlineAt this long after the end, then liveChatEnded


def live_chat_id(stream: Stream) -> str:
    """The simulated `activeLiveChatId` of a YouTube stream."""
    return "Cg0KC" + etag("chat", stream.id)[:20]


def chat_not_found() -> Reply:
    return youtube_error(
        404,
        "The specified live chat cannot be found.",
        "liveChatNotFound",
        domain="youtube.liveChat",
    )


class LiveChat:
    """The live chats of the scenario's YouTube streams, and the bans on them."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        # (liveChatId, channelId) -> (from, until)
        self.bans: dict[tuple[str, str], tuple[datetime, datetime | None]] = {}

    def stream_of(self, chat_id: str) -> Stream | None:
        streams = self.sim.scenario.streams_of("youtube")
        return next((s for s in streams if live_chat_id(s) == chat_id), None)

    def count(self, stream: Stream, minute: int) -> int:
        middle = minute_start(minute) + timedelta(seconds=30)
        return round(self.sim.scenario.expected_audience(stream, middle) * CHAT_PER_VIEWER_MINUTE)

    def first_after(self, stream: Stream, when: datetime) -> tuple[int, int]:
        """The position of the first message published after `when`."""
        minute = int(when.timestamp() // 60)
        n = self.count(stream, minute)
        cutoff = int(when.timestamp() * 1000)
        k = next((k for k in range(n) if spread_ms(minute, k, n) > cutoff), n)
        return (minute, k) if k < n else (minute + 1, 0)

    # -- liveChatMessages.list --

    def messages(self, request: Request, now: datetime) -> Reply:
        """The listing without deleted messages and banned authors' later messages."""
        reply = self.all_messages(request, now)
        items = reply.body.get("items")
        if reply.status != 200 or not isinstance(items, list):
            return reply
        chat = request.query_params.get("liveChatId", "")
        kept = [i for i in items if self.visible(chat, i)]
        if len(kept) != len(items):
            reply.body["items"] = kept
            reply.body["pageInfo"] = {"totalResults": len(kept), "resultsPerPage": len(kept)}
        return reply

    def all_messages(self, request: Request, now: datetime) -> Reply:
        params = request.query_params
        sc = self.sim.scenario
        chat_id = params.get("liveChatId")
        if not chat_id:
            return required("liveChatId")
        parts = requested(params.get("part"))
        if not parts:
            return required("part")
        stream = self.stream_of(chat_id)
        if stream is None:
            return youtube_error(
                404,
                "The live chat that you are trying to retrieve cannot be found. Check the value "
                "of the requests <code>liveChatId</code> parameter to ensure that it is correct.",
                "liveChatNotFound",
                domain="youtube.liveChat",
            )
        if sc.minutes(now) >= sc.duration_minutes + CHAT_OFFLINE_MINUTES:
            return youtube_error(
                403, "The live chat is no longer live.", "liveChatEnded", domain="youtube.liveChat"
            )
        raw_max = params.get("maxResults", "500")
        limit = min(max(int(raw_max), 200), 2000) if raw_max.isdigit() else 500
        token = params.get("pageToken")
        if token:
            position = decode_position(token, "chat")
            if position is None:
                return youtube_error(
                    400,
                    "The page token is invalid.",
                    "invalidPageToken",
                    domain="youtube.parameter",
                )
        else:
            position = self.first_after(stream, now - timedelta(seconds=CHAT_HISTORY_SECONDS))
        minute, k = position
        first_minute = int(sc.start_utc.timestamp() // 60)
        if minute < first_minute:
            minute, k = first_minute, 0
        cutoff = int(now.timestamp() * 1000)
        last_minute = cutoff // 60_000
        items: list[dict[str, Any]] = []
        while minute <= last_minute and len(items) < limit:
            n = self.count(stream, minute)
            while k < n and len(items) < limit and spread_ms(minute, k, n) <= cutoff:
                items.append(self.message(stream, chat_id, minute, k, n, parts))
                k += 1
            if k < n:
                break
            minute, k = minute + 1, 0
        body: dict[str, Any] = {
            "kind": "youtube#liveChatMessageListResponse",
            "etag": etag("chat-page", chat_id, minute, k, len(items)),
            "pollingIntervalMillis": CHAT_POLL_MILLIS,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            "nextPageToken": encode_position("chat", minute, k),
            "items": items,
        }
        if sc.phase(now) == "ended":
            body["offlineAt"] = iso_ms_z(sc.end_utc)
        return Reply(200, body)

    def message(
        self, stream: Stream, chat_id: str, minute: int, k: int, n: int, parts: set[str]
    ) -> dict[str, Any]:
        seed = self.sim.seed
        key = (stream.id, minute, k)
        rank = zipf_rank(uniform(seed, "chat-author", *key), CHAT_AUTHOR_POOL)
        channel = "UC" + etag("yt-user", seed, rank)[:22]
        first, last = person_name(seed, "yt", rank)
        if rank == SPAM_RANK:
            text = SPAM_MESSAGE
        else:
            text = CHAT_PHRASES[int(uniform(seed, "chat-phrase", *key) * len(CHAT_PHRASES))]
        published = datetime.fromtimestamp(spread_ms(minute, k, n) / 1000, UTC)
        item: dict[str, Any] = {
            "kind": "youtube#liveChatMessage",
            "etag": etag("chat-message", *key),
            "id": "LCC." + etag("chat-id", seed, *key),
        }
        if "snippet" in parts:
            item["snippet"] = {
                "type": "textMessageEvent",
                "liveChatId": chat_id,
                "authorChannelId": channel,
                "publishedAt": published.isoformat(timespec="microseconds"),
                "hasDisplayContent": True,
                "displayMessage": text,
                "textMessageDetails": {"messageText": text},
            }
        if "authorDetails" in parts:
            item["authorDetails"] = {
                "channelId": channel,
                "channelUrl": f"http://www.youtube.com/channel/{channel}",
                "displayName": f"{first} {last}",
                "profileImageUrl": f"https://yt4.ggpht.com/ytc/{channel[2:14]}=s88-c-k-no-rj",
                "isVerified": rank == 0,
                "isChatOwner": False,
                "isChatSponsor": uniform(seed, "yt-sponsor", rank) < 0.05,
                "isChatModerator": rank == 1,
            }
        return item

    def visible(self, chat: str, item: dict[str, Any]) -> bool:
        if f"youtube:{item.get('id')}" in self.sim.deleted:
            return False
        snippet = item.get("snippet") or {}
        channel = snippet.get("authorChannelId") or (item.get("authorDetails") or {}).get(
            "channelId"
        )
        ban = self.bans.get((chat, str(channel)))
        if ban is None:
            return True
        since, until = ban
        try:
            published = datetime.fromisoformat(str(snippet.get("publishedAt")))
        except ValueError:
            return False
        return published < since or (until is not None and published >= until)

    # -- moderation --

    def ban(self, request: Request, now: datetime, body: bytes) -> Reply:
        """POST /liveChat/bans (liveChatBans.insert), permanent or temporary."""
        refused = forbidden(request)
        if refused is not None:
            return refused
        snippet = (json_body(body) or {}).get("snippet") or {}
        chat = str(snippet.get("liveChatId") or "")
        channel = str((snippet.get("bannedUserDetails") or {}).get("channelId") or "")
        kind = snippet.get("type")
        if self.stream_of(chat) is None:
            return chat_not_found()
        if not channel or kind not in ("permanent", "temporary"):
            return youtube_error(400, "snippet.type and bannedUserDetails are required", "required")
        until = None
        if kind == "temporary":
            seconds = str(snippet.get("banDurationSeconds") or "300")
            until = now + timedelta(seconds=int(seconds) if seconds.isdigit() else 300)
        self.bans[(chat, channel)] = (now, until)
        ban_id = self.sim.next_id("ban.")
        return Reply(
            200,
            {
                "kind": "youtube#liveChatBan",
                "etag": etag("ban", ban_id),
                "id": ban_id,
                "snippet": snippet,
            },
        )

    def insert(self, request: Request, now: datetime, body: bytes) -> Reply:
        """POST /liveChat/messages (liveChatMessages.insert): the team writes in the chat."""
        refused = forbidden(request)
        if refused is not None:
            return refused
        snippet = (json_body(body) or {}).get("snippet") or {}
        chat = str(snippet.get("liveChatId") or "")
        text = (snippet.get("textMessageDetails") or {}).get("messageText")
        if self.stream_of(chat) is None:
            return chat_not_found()
        if not text:
            return youtube_error(400, "snippet.textMessageDetails.messageText", "required")
        message_id = self.sim.next_id("LCC.")
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
        self.sim.posted.append(
            {"platform": "youtube", "chat": chat, "text": text, "id": message_id}
        )
        return Reply(200, resource)

    def delete(self, request: Request, now: datetime) -> Reply:
        """DELETE /liveChat/messages?id= (liveChatMessages.delete)."""
        refused = forbidden(request)
        if refused is not None:
            return refused
        message_id = request.query_params.get("id", "")
        if not message_id.startswith("LCC.") or f"youtube:{message_id}" in self.sim.deleted:
            return youtube_error(
                404,
                "The live chat message could not be found.",
                "liveChatMessageNotFound",
                domain="youtube.liveChat",
            )
        self.sim.deleted.add(f"youtube:{message_id}")
        return Reply(204, {})

    def state(self) -> dict[str, Any]:
        """The bans, for /_sim/moderation."""
        return {
            "youtube_chat_bans": [
                {"liveChatId": chat, "channelId": channel, "until": iso_z(u) if u else None}
                for (chat, channel), (_, u) in self.bans.items()
            ]
        }
