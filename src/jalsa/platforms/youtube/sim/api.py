"""YouTube's simulated Data API v3: videos.list (the audience: liveStreamingDetails and
statistics), and the routes of the live chat and the comments.

    GET    /youtube/v3/videos?part=...&id=...&key=...
    GET    /youtube/v3/liveChat/messages?liveChatId=...&part=...[&pageToken=...]
    POST   /youtube/v3/liveChat/messages?part=snippet      liveChatMessages.insert
    DELETE /youtube/v3/liveChat/messages?id=..             liveChatMessages.delete
    POST   /youtube/v3/liveChat/bans?part=snippet          liveChatBans.insert
    GET    /youtube/v3/commentThreads?part=snippet,replies&videoId=..[&pageToken=..]
    GET    /youtube/v3/comments?id=..&part=snippet         (shows moderationStatus)
    POST   /youtube/v3/comments?part=snippet               comments.insert (a reply)
    POST   /youtube/v3/comments/setModerationStatus?id=..&moderationStatus=..

Injected errors: a token starting with `readonly` lacks the moderation permission (403
forbidden); a deleted item is not found afterwards, as on the platform.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from jalsa.platforms.youtube.sim.chat import LiveChat, live_chat_id
from jalsa.platforms.youtube.sim.comments import Comments
from jalsa.platforms.youtube.sim.errors import YouTubeGate, required, youtube_error
from jalsa.sim.kit import BodyHandler, Handler, Reply, etag, iso_z, requested
from jalsa.sim.scenario import Stream
from jalsa.sim.simulator import Endpoint, Simulator

PATH = "/youtube/v3"
BASE_URLS = {"youtube_base_url": PATH}


class YouTubeSim:
    """The simulated YouTube of one simulator: its gate, videos, live chats and comments."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.gate = YouTubeGate(sim)
        self.chat = LiveChat(sim)
        self.comments = Comments(sim)

    def videos(self, request: Request, now: datetime) -> Reply:
        parts = requested(request.query_params.get("part"))
        if not parts:
            return required("part")
        raw_ids = request.query_params.get("id")
        if raw_ids is None:
            return youtube_error(
                400,
                "No filter selected. Expected one of: myRated, chart, id",
                "missingRequiredParameter",
                status="INVALID_ARGUMENT",
            )
        items = []
        for video_id in (i.strip() for i in raw_ids.split(",")):
            stream = self.sim.scenario.stream("youtube", video_id)
            if stream is not None:
                items.append(self.video(stream, parts, now))
        return Reply(
            200,
            {
                "kind": "youtube#videoListResponse",
                "etag": etag("list", [item["etag"] for item in items]),
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            },
        )

    def video(self, stream: Stream, parts: set[str], now: datetime) -> dict[str, Any]:
        sc = self.sim.scenario
        phase = sc.phase(now)
        item: dict[str, Any] = {"kind": "youtube#video", "etag": "", "id": stream.id}
        if "snippet" in parts:
            item["snippet"] = {
                "publishedAt": iso_z(sc.clock_start - timedelta(days=1)),
                "channelId": "UC" + etag("channel", sc.seed)[:22],
                "title": stream.label,
                "description": sc.description.strip(),
                "channelTitle": "jalsa simulator",
                "liveBroadcastContent": {"before": "upcoming", "live": "live"}.get(phase, "none"),
            }
        if "statistics" in parts:
            views = sc.expected_views(stream, now)
            item["statistics"] = {
                "viewCount": str(views),
                "likeCount": str(sc.expected_likes(stream, now)),
                "favoriteCount": "0",
                "commentCount": str(sc.expected_comments(stream, now)),
            }
        if "liveStreamingDetails" in parts:
            details: dict[str, str] = {}
            if phase != "before":
                details["actualStartTime"] = iso_z(sc.start_utc)
            if phase == "ended":
                details["actualEndTime"] = iso_z(sc.end_utc)
            details["scheduledStartTime"] = iso_z(sc.start_utc)
            if phase == "live":
                details["concurrentViewers"] = str(sc.expected_audience(stream, now))
            if phase != "ended":
                details["activeLiveChatId"] = live_chat_id(stream)
            item["liveStreamingDetails"] = details
        item["etag"] = etag(stream.id, json.dumps(item, sort_keys=True))
        return item


def routes(sim: Simulator) -> list[Route]:
    """YouTube's routes on `sim`; its state is `sim.parts["youtube"]`."""
    yt = sim.parts["youtube"] = YouTubeSim(sim)
    chat, comments = yt.chat, yt.comments
    sim.moderation_parts.append(lambda: {**comments.state(), **chat.state()})

    def plain(handler: Handler) -> Endpoint:
        return sim.endpoint("youtube", handler, yt.gate)

    def with_body(handler: BodyHandler) -> Endpoint:
        return sim.endpoint_with_body("youtube", handler, yt.gate)

    return [
        Route(f"{PATH}/commentThreads", plain(comments.comment_threads)),
        Route(f"{PATH}/comments", plain(comments.comments_list), methods=["GET"]),
        Route(f"{PATH}/comments", with_body(comments.insert), methods=["POST"]),
        Route(
            f"{PATH}/comments/setModerationStatus",
            plain(comments.set_moderation_status),
            methods=["POST"],
        ),
        Route(f"{PATH}/liveChat/bans", with_body(chat.ban), methods=["POST"]),
        Route(f"{PATH}/liveChat/messages", with_body(chat.insert), methods=["POST"]),
        Route(f"{PATH}/liveChat/messages", plain(chat.delete), methods=["DELETE"]),
        Route(f"{PATH}/videos", plain(yt.videos)),
        Route(f"{PATH}/liveChat/messages", plain(chat.messages)),
    ]
