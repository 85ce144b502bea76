"""The simulator's HTTP app: the platforms' own paths, JSON shapes, error bodies and headers.

    YouTube   GET /youtube/v3/videos?part=...&id=...&key=...
              GET /youtube/v3/liveChat/messages?liveChatId=...&part=...[&pageToken=...]
    Facebook  GET /graph/v21.0/{live_video_id}?fields=status,live_views,video
              GET /graph/v21.0/{video_id}/video_insights?metric=...
              GET /graph/v21.0/{live_video_or_video_id}/comments?fields=...&order=...&after=...
    Instagram GET /graph/v21.0/{ig_user_id}/live_media?fields=...
    X         GET /x/2/spaces/{id}?space.fields=...   GET /x/2/spaces?ids=...
              GET /x/2/tweets/counts/recent?query=...&granularity=minute&start_time=...
              GET /x/2/tweets/search/recent?query=...[&since_id=..][&next_token=..]
              GET /x/2/tweets/search/stream (newline-delimited JSON, kept open)
              GET|POST /x/2/tweets/search/stream/rules
    Simulator GET /_sim/status

Posts, live chat messages and comments are generated per minute: X posts as many as the
x_counts stream's curve says (so search, stream and counts agree), chat and comments a share of
the stream's audience; hashtags and authors are drawn with Zipf-like weights.

Every answer is computed from the scenario and the shared clock. Before the endpoint runs, each
request passes the same gates a real platform has, in this order: network blocking (hang or
reset), credential present, credential expired, rate-limit burst. Finally a seeded fraction of
answers is garbled (truncated JSON, an HTML error or block page), as proxies and censors do.

Delays in headers (X's `x-rate-limit-reset`, Graph's `estimated_time_to_regain_access`) are in
the clock's seconds: with a compressed demo clock, `parse_retry_after` then yields simulated
seconds, which is what the tracker's `clock.sleep` expects.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from jalsa.clock import Clock
from jalsa.sim.curves import uniform
from jalsa.sim.scenario import SERVICE_OF, Scenario, Stream, floor_minute, query_terms

GRAPH_VERSION = "v21.0"
PATHS = {
    "youtube_base_url": "/youtube/v3",
    "facebook_base_url": f"/graph/{GRAPH_VERSION}",
    "instagram_base_url": f"/graph/{GRAPH_VERSION}",
    "x_base_url": "/x/2",
}
X_WINDOW_SECONDS = 15 * 60
# Requests per 15-minute window (app auth), per endpoint family.
X_LIMITS = {"spaces": 300, "counts": 300, "search": 450, "stream": 50, "rules": 450}
# --- inbox and moderation (jalsa.sim.moderation): hide replies, post, mentions ---
X_LIMITS.update({"hide": 50, "manage": 100, "mentions": 450})
X_COUNTS_LOOKBACK = timedelta(days=7)
FACEBOOK_STOPPED_MINUTES = 10  # LIVE_STOPPED this long after the end, then VOD
PACIFIC = ZoneInfo("America/Los_Angeles")
JSON_TYPE = "application/json; charset=UTF-8"


def sim_base_urls(root: str) -> dict[str, str]:
    """Settings attribute → base URL, for pointing jalsa's connectors at a simulator at `root`
    (e.g. `http://127.0.0.1:8765`)."""
    root = root.rstrip("/")
    return {name: root + path for name, path in PATHS.items()}


@dataclass
class Reply:
    """What an endpoint answers, before the simulator possibly garbles it."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request, datetime], Reply]


# --- formatting -----------------------------------------------------------------------------


def iso_z(when: datetime) -> str:
    """YouTube's timestamps: `2023-12-17T15:00:00Z`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms_z(when: datetime) -> str:
    """X's timestamps: `2023-12-17T15:00:00.000Z`."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def iso_graph(when: datetime) -> str:
    """Graph's timestamps: `2023-12-17T15:00:00+0000`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_iso(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def etag(*parts: object) -> str:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=20).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:27]


def requested(value: str | None) -> set[str]:
    """Field names from a `fields`/`space.fields` list; nested selections are reduced to their
    name (`video{id}` → `video`)."""
    if not value:
        return set()
    names: set[str] = set()
    depth = 0
    current = ""
    for char in value:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            names.add(current.strip())
            current = ""
        elif depth == 0:
            current += char
    names.add(current.strip())
    names.discard("")
    return names


def pick(
    full: dict[str, Any], wanted: set[str], always: tuple[str, ...] = ("id",)
) -> dict[str, Any]:
    """The fields a client asked for (plus `always`), in the platform's order; unknown names
    are ignored rather than refused, so connectors asking for extra fields still work."""
    return {k: v for k, v in full.items() if k in wanted or k in always}


# --- the app --------------------------------------------------------------------------------


class Simulator:
    """Request handling state: the scenario, the clock, and counters (requests served, X
    rate-limit windows) that make headers and garbling realistic."""

    def __init__(
        self,
        scenario: Scenario,
        clock: Clock,
        *,
        hang_seconds: float = 60.0,
        stream_seconds: float = 300.0,
    ) -> None:
        self.scenario = scenario
        self.clock = clock
        self.hang_seconds = hang_seconds
        self.stream_seconds = stream_seconds  # X ends a stream connection after this long
        self.requests = 0  # platform requests answered (garbled or not)
        self.garbled = 0
        self.blocked = 0
        self._x_windows: dict[str, tuple[int, int]] = {}
        self.x_rules: list[dict[str, str]] = []  # the filtered stream's rules
        self.x_stream_open = 0  # filtered-stream connections being served
        self._rule_serial = 0

    # -- plumbing --

    async def handle(
        self, request: Request, platform: str, handler: Handler, family: str | None = None
    ) -> Response:
        """Run one platform request through the network, the gates, the endpoint and the
        garbling step. `family` names X's rate-limit window when it is not the platform's."""
        now = self.clock.now()
        minutes = self.scenario.minutes(now)
        blocking = self.scenario.blocking(platform, minutes)
        if blocking is not None:
            self.blocked += 1
            return Unanswered(self.hang_seconds if blocking == "unreachable" else 0.0)
        number = self.requests
        self.requests += 1
        reply = self.gate(request, platform, now, family) or handler(request, now)
        if platform.startswith("x_"):
            reply.headers = {**self.x_rate_headers(request, platform, now, family), **reply.headers}
        return self.render(reply, number)

    def render(self, reply: Reply, number: int) -> Response:
        if reply.status == 204:  # No Content: a body would break the HTTP exchange
            return Response(status_code=204, headers=reply.headers)
        body = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode()
        seed = self.scenario.seed
        if uniform(seed, "malformed", number) < self.scenario.malformed_rate:
            self.garbled += 1
            kind = int(uniform(seed, "malformed-kind", number) * 3)
            if kind == 0:  # the connection dropped mid-body; headers already said JSON
                cut = max(1, int(len(body) * (0.2 + 0.6 * uniform(seed, "cut", number))))
                return Response(body[:cut], reply.status, reply.headers, media_type=JSON_TYPE)
            if kind == 1:
                return Response(BAD_GATEWAY_HTML, 502, media_type="text/html")
            return Response(BLOCK_PAGE_HTML, 200, media_type="text/html")
        return Response(body, reply.status, reply.headers, media_type=JSON_TYPE)

    def gate(
        self, request: Request, platform: str, now: datetime, family: str | None = None
    ) -> Reply | None:
        """The credential and throttling checks every endpoint of a platform shares."""
        service = SERVICE_OF[platform]
        minutes = self.scenario.minutes(now)
        if service == "youtube":
            if not (request.query_params.get("key") or bearer(request)):
                return youtube_error(
                    403,
                    "Method doesn't allow unregistered callers (callers without established "
                    "identity). Please use API Key or other form of API consumer identity to "
                    "call this API.",
                    "forbidden",
                    status="PERMISSION_DENIED",
                )
            if self.scenario.token_expired(service, minutes):
                return youtube_key_invalid()
            burst = self.scenario.burst(service, minutes)
            if burst is not None:
                if burst.reason == "quotaExceeded":
                    return youtube_error(
                        403,
                        "The request cannot be completed because you have exceeded your "
                        '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                        "quotaExceeded",
                        domain="youtube.quota",
                    )
                return youtube_error(
                    403, "Rate Limit Exceeded", "rateLimitExceeded", domain="usageLimits"
                )
            return None
        if service in ("facebook", "instagram"):
            if not (request.query_params.get("access_token") or bearer(request)):
                return self.graph_error(
                    "An access token is required to request this resource.", 104
                )
            expiry = self.scenario.token_expired(service, minutes)
            if expiry is not None:
                expired = self.scenario.at(expiry.from_minutes).astimezone(PACIFIC)
                stamp = "%A, %d-%b-%y %H:%M:%S %Z"
                return self.graph_error(
                    "Error validating access token: Session has expired on "
                    f"{expired.strftime(stamp)}. The current time is "
                    f"{now.astimezone(PACIFIC).strftime(stamp)}.",
                    190,
                    subcode=463,
                )
            burst = self.scenario.burst(service, minutes)
            if burst is not None:
                return self.graph_throttled(burst.code or 4, burst.end_minutes - minutes)
            return None
        # X
        if not bearer(request) or self.scenario.token_expired(service, minutes):
            return Reply(
                401,
                {
                    "title": "Unauthorized",
                    "type": "about:blank",
                    "status": 401,
                    "detail": "Unauthorized",
                },
            )
        burst = self.scenario.burst(service, minutes)
        if burst is not None:
            reset = time.time() + (burst.end_minutes - minutes) * 60.0
            limit = X_LIMITS[family or x_family(platform)]
            return Reply(
                429,
                {
                    "title": "Too Many Requests",
                    "detail": "Too Many Requests",
                    "type": "about:blank",
                    "status": 429,
                },
                {
                    "x-rate-limit-limit": str(limit),
                    "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": str(math.ceil(reset)),
                },
            )
        return None

    def x_rate_headers(
        self, request: Request, platform: str, now: datetime, family: str | None = None
    ) -> dict[str, str]:
        """X's per-endpoint rate-limit headers, counted in 15-minute windows of clock time."""
        family = family or x_family(platform)
        epoch = now.timestamp()
        window = int(epoch // X_WINDOW_SECONDS)
        seen_window, used = self._x_windows.get(family, (window, 0))
        used = used + 1 if seen_window == window else 1
        self._x_windows[family] = (window, used)
        limit = X_LIMITS[family]
        reset = time.time() + ((window + 1) * X_WINDOW_SECONDS - epoch)
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, limit - used)),
            "x-rate-limit-reset": str(math.ceil(reset)),
        }

    def fbtrace(self) -> str:
        return "A" + etag(self.scenario.seed, "fbtrace", self.requests)[:22]

    def graph_error(
        self,
        message: str,
        code: int,
        *,
        subcode: int | None = None,
        kind: str = "OAuthException",
        status: int = 400,
        headers: dict[str, str] | None = None,
        transient: bool | None = None,
    ) -> Reply:
        error: dict[str, Any] = {"message": message, "type": kind, "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        if transient is not None:
            error["is_transient"] = transient
        error["fbtrace_id"] = self.fbtrace()
        return Reply(status, {"error": error}, headers or {})

    def graph_throttled(self, code: int, minutes_left: float) -> Reply:
        messages = {
            4: "(#4) Application request limit reached",
            17: "(#17) User request limit reached",
            32: "(#32) Page request limit reached",
            613: "(#613) Calls to this api have exceeded the rate limit.",
        }
        regain = max(1, math.ceil(minutes_left))
        usage = {"call_count": 100, "total_cputime": 38, "total_time": 41}
        buc = {
            "1817000000000000": [
                {"type": "pages", **usage, "estimated_time_to_regain_access": regain}
            ]
        }
        headers = {
            "x-app-usage": json.dumps(usage, separators=(",", ":")),
            "x-business-use-case-usage": json.dumps(buc, separators=(",", ":")),
        }
        return self.graph_error(messages[code], code, headers=headers, transient=True)

    def graph_not_found(self, node_id: str) -> Reply:
        return self.graph_error(
            f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation. Please "
            "read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
            100,
            subcode=33,
            kind="GraphMethodException",
        )

    def graph_no_field(self, name: str, node_type: str) -> Reply:
        return self.graph_error(
            f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})", 100
        )

    # -- YouTube --

    def youtube_videos(self, request: Request, now: datetime) -> Reply:
        parts = requested(request.query_params.get("part"))
        if not parts:
            return youtube_error(
                400,
                "Required parameter: part",
                "required",
                extra={"location": "part", "locationType": "parameter"},
                status="INVALID_ARGUMENT",
            )
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
            stream = self.scenario.stream("youtube", video_id)
            if stream is not None:
                items.append(self.youtube_item(stream, parts, now))
        return Reply(
            200,
            {
                "kind": "youtube#videoListResponse",
                "etag": etag("list", [item["etag"] for item in items]),
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            },
        )

    def youtube_item(self, stream: Stream, parts: set[str], now: datetime) -> dict[str, Any]:
        sc = self.scenario
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

    # -- Graph: Facebook and Instagram --

    def graph_platform(self, node_id: str, edge: str | None) -> str:
        """Which platform (and so which token and bursts) a Graph request belongs to."""
        if edge == "live_media" or (edge is None and self.scenario.stream("instagram", node_id)):
            return "instagram"
        return "facebook"

    def graph_node(self, request: Request, now: datetime) -> Reply:
        node_id = request.path_params["node_id"]
        sc = self.scenario
        stream = sc.stream("facebook", node_id)
        wanted = requested(request.query_params.get("fields")) or {"status"}
        if stream is not None:
            return Reply(200, pick(self.live_video(stream, now), wanted))
        ig = sc.stream("instagram", node_id)
        if ig is not None:
            user = {"id": ig.id, "username": "jalsa.sim", "name": ig.label, "media_count": 1}
            return Reply(200, pick(user, wanted))
        return self.graph_not_found(node_id)

    def live_video(self, stream: Stream, now: datetime) -> dict[str, Any]:
        sc = self.scenario
        minutes = sc.minutes(now)
        if minutes < 0:
            status = "SCHEDULED_UNPUBLISHED"
        elif minutes < sc.duration_minutes:
            status = "LIVE"
        elif minutes < sc.duration_minutes + FACEBOOK_STOPPED_MINUTES:
            status = "LIVE_STOPPED"
        else:
            status = "VOD"
        return {
            "status": status,
            "live_views": sc.expected_audience(stream, now) if status == "LIVE" else 0,
            "video": {"id": stream.facebook_video_id},
            "title": stream.label,
            "permalink_url": f"/{stream.facebook_video_id}/",
            "broadcast_start_time": iso_graph(sc.start_utc),
            "creation_time": iso_graph(sc.clock_start),
            "id": stream.id,
        }

    def graph_edge(self, request: Request, now: datetime) -> Reply:
        node_id = request.path_params["node_id"]
        edge = request.path_params["edge"]
        sc = self.scenario
        if edge == "comments":
            commented = sc.stream("facebook", node_id) or next(
                (s for s in sc.streams_of("facebook") if s.facebook_video_id == node_id), None
            )
            if commented is not None:
                return self.facebook_comments(commented, request, now)
        if edge == "live_media":
            ig = sc.stream("instagram", node_id)
            if ig is None:
                return self.graph_not_found(node_id)
            return self.live_media(ig, request, now)
        video = next((s for s in sc.streams_of("facebook") if s.facebook_video_id == node_id), None)
        if edge == "video_insights" and video is not None:
            return self.video_insights(video, request, now)
        if video is not None:
            return self.graph_no_field(edge, "Video")
        if sc.stream("facebook", node_id) is not None:
            return self.graph_no_field(edge, "LiveVideo")
        if sc.stream("instagram", node_id) is not None:
            return self.graph_no_field(edge, "User")
        return self.graph_not_found(node_id)

    def video_insights(self, stream: Stream, request: Request, now: datetime) -> Reply:
        sc = self.scenario
        available = {
            "total_video_views": (
                sc.expected_views(stream, now),
                "Lifetime Total Video Views",
                "Lifetime: Total number of times your video was viewed for 3 seconds or more. "
                "(Total Count)",
            ),
            "total_video_views_unique": (
                sc.expected_unique_views(stream, now),
                "Lifetime Unique Video Views",
                "Lifetime: Number of unique people who viewed your video for 3 seconds or more. "
                "(Unique Users)",
            ),
        }
        metric = request.query_params.get("metric")
        names = [m.strip() for m in metric.split(",") if m.strip()] if metric else list(available)
        unknown = [m for m in names if m not in available]
        if unknown:
            return self.graph_error("(#100) The value must be a valid insights metric", 100)
        vid = stream.facebook_video_id
        data = [
            {
                "name": name,
                "period": "lifetime",
                "values": [{"value": available[name][0]}],
                "title": available[name][1],
                "description": available[name][2],
                "id": f"{vid}/video_insights/{name}/lifetime",
            }
            for name in names
        ]
        return Reply(200, {"data": data})

    def live_media(self, stream: Stream, request: Request, now: datetime) -> Reply:
        sc = self.scenario
        if sc.phase(now) != "live":
            return Reply(200, {"data": []})
        media_id = str(18 * 10**15 + int(uniform(sc.seed, "ig-media", stream.id) * 10**15))
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

    # -- X --

    def x_space_lookup(self, request: Request, now: datetime) -> Reply:
        space_id = request.path_params["space_id"]
        wanted = requested(request.query_params.get("space.fields"))
        stream = self.scenario.stream("x_space", space_id)
        if stream is None:
            return Reply(200, {"errors": [x_not_found(space_id)]})
        return Reply(200, {"data": pick(self.space(stream, now), wanted, ("id", "state"))})

    def x_spaces_lookup(self, request: Request, now: datetime) -> Reply:
        raw = request.query_params.get("ids")
        if not raw:
            return x_invalid_request("ids", "The `ids` query parameter can not be empty")
        wanted = requested(request.query_params.get("space.fields"))
        data, errors = [], []
        for space_id in (i.strip() for i in raw.split(",") if i.strip()):
            stream = self.scenario.stream("x_space", space_id)
            if stream is None:
                errors.append(x_not_found(space_id, "ids"))
            else:
                data.append(pick(self.space(stream, now), wanted, ("id", "state")))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return Reply(200, body)

    def space(self, stream: Stream, now: datetime) -> dict[str, Any]:
        sc = self.scenario
        phase = sc.phase(now)
        creator = str(10**17 + int(uniform(sc.seed, "x-user", stream.id) * 10**17))
        space: dict[str, Any] = {
            "id": stream.id,
            "state": {"before": "scheduled", "live": "live"}.get(phase, "ended"),
            "title": stream.label,
            "created_at": iso_ms_z(sc.clock_start - timedelta(days=1)),
            "creator_id": creator,
            "host_ids": [creator],
            "lang": "ur",
            "is_ticketed": False,
            "scheduled_start": iso_ms_z(sc.start_utc),
            "participant_count": sc.expected_audience(stream, now),
            "subscriber_count": sc.expected_subscribers(stream),
        }
        if phase != "before":
            space["started_at"] = iso_ms_z(sc.start_utc)
        if phase == "ended":
            space["ended_at"] = iso_ms_z(sc.end_utc)
        return space

    def x_counts(self, request: Request, now: datetime) -> Reply:
        params = request.query_params
        query = params.get("query", "").strip()
        if not query:
            return x_invalid_request("query", "The `query` query parameter can not be empty")
        granularity = params.get("granularity", "hour")
        sizes = {"minute": 60, "hour": 3600, "day": 86400}
        if granularity not in sizes:
            return x_invalid_request(
                "granularity",
                f"The `granularity` query parameter value [{granularity}] is not one of "
                "[minute,hour,day]",
            )
        earliest = now - X_COUNTS_LOOKBACK
        start = now - X_COUNTS_LOOKBACK
        end = now
        for name in ("start_time", "end_time"):
            raw = params.get(name)
            if raw is None:
                continue
            parsed = parse_iso(raw)
            if parsed is None:
                return x_invalid_request(
                    name, f"Invalid '{name}':'{raw}'. '{name}' must be an RFC 3339 timestamp"
                )
            if name == "start_time":
                if parsed < earliest - timedelta(seconds=1):
                    return x_invalid_request(
                        name,
                        f"Invalid 'start_time':'{raw}'. 'start_time' must be on or after "
                        f"{iso_ms_z(earliest)}",
                    )
                start = parsed
            else:
                end = min(parsed, now)
        size = timedelta(seconds=sizes[granularity])
        first = floor_minute(start.astimezone(UTC))
        if granularity != "minute":
            offset = first.timestamp() % sizes[granularity]
            first -= timedelta(seconds=offset)
        streams = self.scenario.counts_streams(query)
        data = []
        total = 0
        bucket = first
        while bucket + size <= end:
            count = 0
            for stream in streams:
                minute = bucket
                while minute < bucket + size:
                    count += self.scenario.expected_posts(stream, minute)
                    minute += timedelta(minutes=1)
            data.append(
                {"end": iso_ms_z(bucket + size), "start": iso_ms_z(bucket), "tweet_count": count}
            )
            total += count
            bucket += size
        return Reply(200, {"data": data, "meta": {"total_tweet_count": total}})

    # -- conversation: X posts (search, stream, rules), YouTube live chat, Facebook comments --
    #
    # Every post, chat message and comment is a deterministic function of (seed, stream,
    # minute, index): a minute holds `n` of them (X posts: the x_counts stream's
    # expected_posts, so search, stream and counts agree; chat and comments: a share of the
    # stream's audience), spread evenly over the minute. Cursors name a position.

    def x_post_streams(self, query: str) -> list[tuple[int, Stream]]:
        """(index in the scenario, stream) of the x_counts streams a query matches."""
        wanted = query_terms(query)
        return [
            (i, s)
            for i, s in enumerate(self.scenario.streams)
            if s.platform == "x_counts" and query_terms(s.x_query) & wanted
        ]

    def x_minute_count(self, stream: Stream, minute: int) -> int:
        return self.scenario.expected_posts(stream, minute_start(minute))

    def x_minute_posts(self, index: int, stream: Stream, minute: int) -> list[PostRef]:
        n = self.x_minute_count(stream, minute)
        return [
            PostRef(x_snowflake(spread_ms(minute, k, n), index, k), index, stream, minute, k, n)
            for k in range(n)
        ]

    def x_user(self, rank: int) -> dict[str, str]:
        """Account number `rank` of the simulated X population (0 and 1: the fixed accounts)."""
        if rank < len(FIXED_AUTHORS):
            uid, username, name, since = FIXED_AUTHORS[rank]
            return {"id": uid, "name": name, "username": username, "created_at": since}
        seed = self.scenario.seed
        first, last = person_name(seed, "x", rank)
        # About one account in eight was created days before the rally (amplification).
        fresh = uniform(seed, "x-fresh", rank) < 0.12
        days = (
            0.5 + 5 * uniform(seed, "x-age", rank)
            if fresh
            else 60 + 4000 * uniform(seed, "x-age", rank)
        )
        created = self.scenario.clock_start - timedelta(days=days)
        return {
            "id": str(1_600_000_000_000_000_000 + rank * 7_919_000_003),
            "name": f"{first} {last}",
            "username": f"{first.lower()}_{last.lower()[:1]}{rank}",
            "created_at": iso_ms_z(created),
        }

    def x_author_rank(self, ref: PostRef) -> int:
        if ref.k == 0:  # the first post of every minute is a fixed account's
            return ref.minute % len(FIXED_AUTHORS)
        u = uniform(self.scenario.seed, "x-author", ref.stream.key, ref.minute, ref.k)
        return zipf_rank(u, X_AUTHOR_POOL)

    def x_target(self, ref: PostRef) -> tuple[str, PostRef] | None:
        """(retweeted | replied_to | quoted, the post) this one refers to, if any: the first
        post of a recent minute, a fixed account's."""
        if ref.k == 0:
            return None
        seed = self.scenario.seed
        u = uniform(seed, "x-kind", ref.stream.key, ref.minute, ref.k)
        if u >= 0.5:
            return None
        back = 1 + int(uniform(seed, "x-back", ref.stream.key, ref.minute, ref.k) * 5)
        minute = ref.minute - back
        n = self.x_minute_count(ref.stream, minute)
        if n == 0:
            return None
        target = PostRef(
            x_snowflake(spread_ms(minute, 0, n), ref.stream_index, 0),
            ref.stream_index,
            ref.stream,
            minute,
            0,
            n,
        )
        kind = "retweeted" if u < 0.35 else "replied_to" if u < 0.45 else "quoted"
        return kind, target

    def x_words(self, ref: PostRef) -> tuple[str, str]:
        """(phrase with hashtags, lang) of a post: the query's hashtags (or words) and up to two
        popular ones (Zipf)."""
        seed = self.scenario.seed
        key = (ref.stream.key, ref.minute, ref.k)
        phrase, lang = POST_PHRASES[int(uniform(seed, "x-phrase", *key) * len(POST_PHRASES))]
        own = [t for t in ref.stream.x_query.split() if t.startswith("#")]
        if not own:
            own = [t for t in ref.stream.x_query.split() if t.lower() in query_terms(t)]
        extra = [
            "#" + EXTRA_HASHTAGS[zipf_rank(uniform(seed, "x-tag", i, *key), len(EXTRA_HASHTAGS))]
            for i in range(int(uniform(seed, "x-tags", *key) * 3))
        ]
        return f"{phrase} {' '.join(dict.fromkeys(own + extra))}", lang

    def x_tweet(self, ref: PostRef, now: datetime) -> dict[str, Any]:
        """The full post (every field jalsa may ask for), as X v2 shapes it."""
        seed = self.scenario.seed
        key = (ref.stream.key, ref.minute, ref.k)
        post_id = str(ref.id)
        author = self.x_user(self.x_author_rank(ref))
        created = datetime.fromtimestamp(x_ms(ref.id) / 1000, UTC)
        words, lang = self.x_words(ref)
        text = words
        target = self.x_target(ref)
        conversation = post_id
        reply_to: str | None = None
        if target is not None:
            kind, to = target
            to_author = self.x_user(self.x_author_rank(to))
            if kind == "retweeted":
                text, lang = self.x_words(to)
                text = f"RT @{to_author['username']}: {text}"
            elif kind == "replied_to":
                text = f"@{to_author['username']} {words}"
                conversation, reply_to = str(to.id), to_author["id"]
            else:
                text = f"{words} https://t.co/{etag('quote', to.id)[:10]}"
        age = max(0.0, (now - created).total_seconds() / 60.0)
        weight = 40.0 if ref.k == 0 else 0.3
        liking = weight * (0.5 + uniform(seed, "x-likes", *key))
        likes = int(age * liking)
        tweet: dict[str, Any] = {
            "edit_history_tweet_ids": [post_id],
            "author_id": author["id"],
            "conversation_id": conversation,
            "created_at": iso_ms_z(created),
            "entities": x_entities(text),
            "lang": lang,
            "public_metrics": {
                "retweet_count": likes // 3,
                "reply_count": likes // 20,
                "like_count": likes,
                "quote_count": likes // 50,
                "bookmark_count": likes // 40,
                "impression_count": likes * 30 + int(age * 5),
            },
            "id": post_id,
            "text": text,
        }
        if target is not None:
            tweet["referenced_tweets"] = [{"type": target[0], "id": str(target[1].id)}]
        if reply_to is not None:
            tweet["in_reply_to_user_id"] = reply_to
        return tweet

    def x_render(
        self, refs: list[PostRef], now: datetime, params: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """(data, includes) for `refs` with the fields and expansions a request asked for."""
        fields = requested(params.get("tweet.fields"))
        expansions = requested(params.get("expansions"))
        user_fields = requested(params.get("user.fields"))
        always = ("id", "text", "edit_history_tweet_ids")
        data: list[dict[str, Any]] = []
        users: dict[str, dict[str, Any]] = {}
        tweets: dict[str, dict[str, Any]] = {}
        for ref in refs:
            full = self.x_tweet(ref, now)
            data.append(pick(full, fields, always))
            if "author_id" in expansions:
                user = self.x_user(self.x_author_rank(ref))
                users.setdefault(user["id"], pick(user, user_fields, ("id", "name", "username")))
            target = self.x_target(ref)
            if "referenced_tweets.id" in expansions and target is not None:
                to = target[1]
                tweets.setdefault(str(to.id), pick(self.x_tweet(to, now), fields, always))
        includes: dict[str, Any] = {}
        if users:
            includes["users"] = list(users.values())
        if tweets:
            includes["tweets"] = list(tweets.values())
        return data, includes

    def x_search(self, request: Request, now: datetime) -> Reply:
        params = request.query_params
        query = params.get("query", "").strip()
        if not query:
            return x_invalid_request("query", "The `query` query parameter can not be empty")
        raw_max = params.get("max_results", "10")
        if not raw_max.isdigit() or not 10 <= int(raw_max) <= 100:
            return x_invalid_request(
                "max_results",
                f"The `max_results` query parameter value [{raw_max}] is not between 10 and 100",
            )
        limit = int(raw_max)
        earliest = now - X_SEARCH_WINDOW
        start, end = earliest, now
        for name in ("start_time", "end_time"):
            raw = params.get(name)
            if raw is None:
                continue
            parsed = parse_iso(raw)
            if parsed is None:
                return x_invalid_request(
                    name, f"Invalid '{name}':'{raw}'. '{name}' must be an RFC 3339 timestamp"
                )
            if name == "start_time" and parsed < earliest - timedelta(seconds=1):
                return x_invalid_request(
                    name,
                    f"Invalid 'start_time':'{raw}'. 'start_time' must be on or after "
                    f"{iso_ms_z(earliest)}",
                )
            if name == "start_time":
                start = parsed
            else:
                end = min(parsed, now)
        bounds: dict[str, int] = {}
        for name in ("since_id", "until_id", "next_token", "pagination_token"):
            raw = params.get(name)
            if raw is None:
                continue
            value = decode_x_token(raw) if name.endswith("token") else raw
            if value is None or not str(value).isdigit():
                return x_invalid_request(
                    name, f"The `{name}` query parameter value [{raw}] is not valid"
                )
            bounds[name] = int(value)
        lower = bounds.get("since_id", -1)
        upper = min(
            bounds.get("until_id", 1 << 63),
            bounds.get("next_token", 1 << 63),
            bounds.get("pagination_token", 1 << 63),
        )
        lo_ms = max(int(start.timestamp() * 1000), x_ms(lower) if lower >= 0 else 0)
        hi_ms = min(int(end.timestamp() * 1000), x_ms(upper))  # exclusive
        streams = self.x_post_streams(query)
        found: list[PostRef] = []
        minute = (hi_ms - 1) // 60_000
        while streams and minute * 60_000 + 60_000 > lo_ms and len(found) <= limit:
            refs = [
                ref
                for index, stream in streams
                for ref in self.x_minute_posts(index, stream, minute)
                if lo_ms <= x_ms(ref.id) < hi_ms and lower < ref.id < upper
            ]
            found.extend(sorted(refs, key=lambda r: r.id, reverse=True))
            minute -= 1
        page = found[:limit]
        data, includes = self.x_render(page, now, params)
        return x_page_reply(page, data, includes, more=len(found) > limit)

    # X filtered stream: rules live here, per simulator.

    def x_rules_list(self, request: Request, now: datetime) -> Reply:
        ids = request.query_params.get("ids")
        wanted = {i.strip() for i in ids.split(",")} if ids else None
        rules = [r for r in self.x_rules if wanted is None or r["id"] in wanted]
        body: dict[str, Any] = {}
        if rules:
            body["data"] = rules
        body["meta"] = {"sent": iso_ms_z(now), "result_count": len(rules)}
        return Reply(200, body)

    def x_rules_change(self, request: Request, now: datetime, raw: bytes) -> Reply:
        dry_run = request.query_params.get("dry_run", "false").lower() == "true"
        try:
            payload = json.loads(raw or b"null")
        except ValueError:
            payload = None
        sent = iso_ms_z(now)
        if isinstance(payload, dict) and isinstance(payload.get("add"), list):
            known = {r["value"]: r["id"] for r in self.x_rules}
            created, errors = [], []
            for entry in payload["add"]:
                value = entry.get("value") if isinstance(entry, dict) else None
                tag = entry.get("tag") if isinstance(entry, dict) else None
                if not isinstance(value, str) or not value.strip() or len(value) > 512:
                    errors.append(
                        {
                            "value": value,
                            "title": "Invalid Rule",
                            "detail": "A rule must be a non-empty string of at most 512 characters",
                            "type": "https://api.twitter.com/2/problems/invalid-rules",
                        }
                    )
                    continue
                if value in known:
                    errors.append(
                        {
                            "value": value,
                            "id": known[value],
                            "title": "DuplicateRule",
                            "type": "https://api.twitter.com/2/problems/duplicate-rules",
                        }
                    )
                    continue
                self._rule_serial += 1
                rule = {"value": value, **({"tag": tag} if tag else {})}
                rule["id"] = str(1_736_390_000_000_000_000 + self._rule_serial)
                known[value] = rule["id"]
                created.append(rule)
            if not dry_run:
                self.x_rules.extend(created)
            body: dict[str, Any] = {"data": created} if created else {}
            body["meta"] = {
                "sent": sent,
                "summary": {
                    "created": len(created),
                    "not_created": len(errors),
                    "valid": len(created),
                    "invalid": len(errors),
                },
            }
            if errors:
                body["errors"] = errors
            return Reply(201 if created and not dry_run else 200, body)
        delete = payload.get("delete") if isinstance(payload, dict) else None
        if isinstance(delete, dict) and isinstance(delete.get("ids"), list):
            ids = [str(i) for i in delete["ids"]]
            present = {r["id"] for r in self.x_rules}
            gone = [i for i in ids if i in present]
            if not dry_run:
                self.x_rules = [r for r in self.x_rules if r["id"] not in set(gone)]
            body = {"meta": {"sent": sent, "summary": {"deleted": len(gone), "not_deleted": 0}}}
            missing = [i for i in ids if i not in present]
            if missing:
                body["meta"]["summary"]["not_deleted"] = len(missing)
                body["errors"] = [
                    {
                        "value": i,
                        "detail": "Rule does not exist",
                        "title": "Not Found Error",
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                    for i in missing
                ]
            return Reply(200, body)
        return x_invalid_request("add", "The request must add or delete rules")

    def x_stream_posts(
        self, after: datetime, until: datetime, rules: list[dict[str, str]]
    ) -> list[tuple[PostRef, list[dict[str, str]]]]:
        """Posts created in (after, until] that match a rule, oldest first, with the rules."""
        matched: list[tuple[int, Stream, list[dict[str, str]]]] = []
        for index, stream in enumerate(self.scenario.streams):
            if stream.platform != "x_counts":
                continue
            terms = query_terms(stream.x_query)
            hits = [
                {"id": r["id"], **({"tag": r["tag"]} if r.get("tag") else {})}
                for r in rules
                if query_terms(r["value"]) & terms
            ]
            if hits:
                matched.append((index, stream, hits))
        lo, hi = int(after.timestamp() * 1000), int(until.timestamp() * 1000)
        found = [
            (ref, hits)
            for minute in range(lo // 60_000, hi // 60_000 + 1)
            for index, stream, hits in matched
            for ref in self.x_minute_posts(index, stream, minute)
            if lo < x_ms(ref.id) <= hi
        ]
        return sorted(found, key=lambda item: item[0].id)

    async def x_stream(self, request: Request) -> Response:
        """GET /2/tweets/search/stream: the same gates as every X request, then one line per
        matching post as the clock reaches it, keep-alives in quiet spells, and after
        `stream_seconds` an operational disconnect (X ends connections now and then)."""
        now = self.clock.now()
        platform = "x_counts"
        blocking = self.scenario.blocking(platform, self.scenario.minutes(now))
        if blocking is not None:
            self.blocked += 1
            return Unanswered(self.hang_seconds if blocking == "unreachable" else 0.0)
        number = self.requests
        self.requests += 1
        headers = self.x_rate_headers(request, platform, now, "stream")
        reply = self.gate(request, platform, now, "stream")
        if reply is None and self.x_stream_open >= X_STREAM_CONNECTIONS:
            reply = Reply(
                429,
                {
                    "title": "ConnectionException",
                    "detail": "This stream is currently at the maximum allowed connection limit.",
                    "connection_issue": "TooManyConnections",
                    "type": "https://api.twitter.com/2/problems/streaming-connection",
                },
            )
        if reply is not None:
            reply.headers = {**headers, **reply.headers}
            return self.render(reply, number)
        cut: int | None = None
        seed = self.scenario.seed
        if uniform(seed, "malformed", number) < self.scenario.malformed_rate:
            self.garbled += 1
            cut = 1 + int(uniform(seed, "stream-cut", number) * 20)
        lines = self.x_stream_lines(request.query_params, cut)
        return StreamingResponse(lines, 200, headers, media_type="application/json")

    async def x_stream_lines(self, params: Any, cut: int | None) -> AsyncIterator[bytes]:
        self.x_stream_open += 1
        try:
            last = self.clock.now()
            until = last + timedelta(seconds=self.stream_seconds)
            quiet = 0.0
            sent = 0
            while True:
                await self.clock.sleep(X_STREAM_STEP_SECONDS)
                now = self.clock.now()
                if self.scenario.blocking("x_counts", self.scenario.minutes(now)) is not None:
                    return  # the network dropped the connection
                chunk: list[bytes] = []
                for ref, hits in self.x_stream_posts(last, now, list(self.x_rules)):
                    data, includes = self.x_render([ref], now, params)
                    message: dict[str, Any] = {"data": data[0]}
                    if includes:
                        message["includes"] = includes
                    message["matching_rules"] = hits
                    line = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
                    sent += 1
                    if cut is not None and sent >= cut:
                        yield b"".join(chunk) + line[: max(1, len(line) // 2)]
                        return  # cut mid-line, as a proxy or a reset does
                    chunk.append(line + b"\r\n")
                last = now
                if chunk:
                    quiet = 0.0
                    yield b"".join(chunk)
                else:
                    quiet += X_STREAM_STEP_SECONDS
                    if quiet >= X_STREAM_KEEPALIVE_SECONDS:
                        quiet = 0.0
                        yield b"\r\n"
                if now >= until:
                    yield json.dumps(X_OPERATIONAL_DISCONNECT, separators=(",", ":")).encode()
                    yield b"\r\n"
                    return
        finally:
            self.x_stream_open -= 1

    # YouTube live chat.

    def chat_count(self, stream: Stream, minute: int) -> int:
        middle = minute_start(minute) + timedelta(seconds=30)
        return round(self.scenario.expected_audience(stream, middle) * CHAT_PER_VIEWER_MINUTE)

    def chat_first_after(self, stream: Stream, when: datetime) -> tuple[int, int]:
        """The position of the first message published after `when`."""
        minute = int(when.timestamp() // 60)
        n = self.chat_count(stream, minute)
        cutoff = int(when.timestamp() * 1000)
        k = next((k for k in range(n) if spread_ms(minute, k, n) > cutoff), n)
        return (minute, k) if k < n else (minute + 1, 0)

    def youtube_chat(self, request: Request, now: datetime) -> Reply:
        params = request.query_params
        sc = self.scenario
        chat_id = params.get("liveChatId")
        if not chat_id:
            return youtube_error(
                400,
                "Required parameter: liveChatId",
                "required",
                extra={"location": "liveChatId", "locationType": "parameter"},
                status="INVALID_ARGUMENT",
            )
        parts = requested(params.get("part"))
        if not parts:
            return youtube_error(
                400,
                "Required parameter: part",
                "required",
                extra={"location": "part", "locationType": "parameter"},
                status="INVALID_ARGUMENT",
            )
        stream = next((s for s in sc.streams_of("youtube") if live_chat_id(s) == chat_id), None)
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
            position = self.chat_first_after(stream, now - timedelta(seconds=CHAT_HISTORY_SECONDS))
        minute, k = position
        first_minute = int(sc.start_utc.timestamp() // 60)
        if minute < first_minute:
            minute, k = first_minute, 0
        cutoff = int(now.timestamp() * 1000)
        last_minute = cutoff // 60_000
        items: list[dict[str, Any]] = []
        while minute <= last_minute and len(items) < limit:
            n = self.chat_count(stream, minute)
            while k < n and len(items) < limit and spread_ms(minute, k, n) <= cutoff:
                items.append(self.chat_message(stream, chat_id, minute, k, n, parts))
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

    def chat_message(
        self, stream: Stream, chat_id: str, minute: int, k: int, n: int, parts: set[str]
    ) -> dict[str, Any]:
        seed = self.scenario.seed
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

    # Facebook comments.

    def comment_count(self, stream: Stream, minute: int) -> int:
        middle = minute_start(minute) + timedelta(seconds=30)
        return round(self.scenario.expected_audience(stream, middle) * COMMENTS_PER_VIEWER_MINUTE)

    def comment_parent(self, stream: Stream, minute: int, k: int) -> tuple[int, int] | None:
        """The comment this one replies to: the first comment of the minute before."""
        if k == 0 or uniform(self.scenario.seed, "fb-reply", stream.id, minute, k) >= REPLY_SHARE:
            return None
        return (minute - 1, 0) if self.comment_count(stream, minute - 1) > 0 else None

    def comment_id(self, stream: Stream, minute: int, k: int) -> str:
        return f"{stream.facebook_video_id}_{10**14 + minute * 10**4 + k}"

    def comment(self, stream: Stream, minute: int, k: int, n: int, now: datetime) -> dict[str, Any]:
        seed = self.scenario.seed
        key = (stream.id, minute, k)
        rank = zipf_rank(uniform(seed, "fb-author", *key), CHAT_AUTHOR_POOL)
        first, last = person_name(seed, "fb", rank)
        created = datetime.fromtimestamp(spread_ms(minute, k, n) // 1000, UTC)
        if rank == SPAM_RANK:
            text = SPAM_MESSAGE
        else:
            text = CHAT_PHRASES[int(uniform(seed, "fb-phrase", *key) * len(CHAT_PHRASES))]
        replies = 0
        if k == 0:
            after = self.comment_count(stream, minute + 1)
            cutoff = int(now.timestamp() * 1000)
            replies = sum(
                1
                for j in range(after)
                if spread_ms(minute + 1, j, after) <= cutoff
                and self.comment_parent(stream, minute + 1, j) == (minute, 0)
            )
        age = max(0.0, (now - created).total_seconds() / 60.0)
        full: dict[str, Any] = {
            "created_time": iso_graph(created),
            "from": {"name": f"{first} {last}", "id": str(10**15 * 6 + rank * 1_000_003)},
            "message": text,
            "like_count": int(age * uniform(seed, "fb-likes", *key) * (3.0 if k == 0 else 0.3)),
            "comment_count": replies,
            "id": self.comment_id(stream, minute, k),
        }
        parent = self.comment_parent(stream, minute, k)
        if parent is not None:
            full["parent"] = {"id": self.comment_id(stream, *parent)}
        return full

    def facebook_comments(self, stream: Stream, request: Request, now: datetime) -> Reply:
        """GET /{live-video-or-video-id}/comments with Graph's fields, order, filter, limit,
        since/until and cursor paging (`after`/`before`, `paging.next`/`previous`)."""
        params = request.query_params
        sc = self.scenario
        wanted = requested(params.get("fields")) or {"created_time", "message"}
        order = params.get("order", "chronological")
        if order not in ("chronological", "reverse_chronological"):
            return self.graph_error(
                "(#100) param order must be one of {CHRONOLOGICAL, REVERSE_CHRONOLOGICAL}", 100
            )
        replies = params.get("filter", "toplevel")
        if replies not in ("toplevel", "stream"):
            return self.graph_error("(#100) param filter must be one of {TOPLEVEL, STREAM}", 100)
        raw_limit = params.get("limit", "25")
        limit = min(max(int(raw_limit), 1), 100) if raw_limit.isdigit() else 25
        bounds: dict[str, float] = {}
        for name in ("since", "until"):
            raw = params.get(name)
            if raw is None:
                continue
            moment = float(raw) if raw.isdigit() else None
            if moment is None:
                parsed = parse_iso(raw)
                moment = parsed.timestamp() if parsed else None
            if moment is None:
                return self.graph_error(f"(#100) The parameter {name} is not a valid time", 100)
            bounds[name] = moment
        cursors = {}
        for name in ("after", "before"):
            raw = params.get(name)
            if raw is not None:
                position = decode_position(raw, "comment")
                if position is None:
                    return self.graph_error(f"(#100) The {name} cursor is invalid", 100)
                cursors[name] = position
        newest = order == "reverse_chronological"
        backwards = "before" in cursors and "after" not in cursors
        descending = newest != backwards  # the direction in which this page is read
        cutoff = int(now.timestamp() * 1000)
        lo_s = max(bounds.get("since", 0.0), sc.start_utc.timestamp())
        hi_s = min(bounds.get("until", float("inf")), now.timestamp(), sc.end_utc.timestamp())
        first, last = int(lo_s // 60), int(min(hi_s, cutoff / 1000) // 60)
        start = cursors.get("before" if backwards else "after")
        minutes = range(last, first - 1, -1) if descending else range(first, last + 1)
        found: list[tuple[int, int, int]] = []
        for minute in minutes:
            if start is not None and (minute > start[0] if descending else minute < start[0]):
                continue
            n = self.comment_count(stream, minute)
            ks = range(n - 1, -1, -1) if descending else range(n)
            for k in ks:
                if start is not None and (
                    (minute, k) >= start if descending else (minute, k) <= start
                ):
                    continue
                seconds = spread_ms(minute, k, n) // 1000
                if not (lo_s <= seconds <= hi_s) or spread_ms(minute, k, n) > cutoff:
                    continue
                if replies == "toplevel" and self.comment_parent(stream, minute, k) is not None:
                    continue
                found.append((minute, k, n))
                if len(found) > limit:
                    break
            if len(found) > limit:
                break
        more = len(found) > limit
        page = found[:limit]
        if backwards:
            page.reverse()
        if not page:
            return Reply(200, {"data": []})
        data = [pick(self.comment(stream, m, k, n, now), wanted) for m, k, n in page]
        before = encode_position("comment", page[0][0], page[0][1])
        after = encode_position("comment", page[-1][0], page[-1][1])
        paging: dict[str, Any] = {"cursors": {"before": before, "after": after}}
        url = request.url.remove_query_params(["after", "before"])
        next_url = str(url.include_query_params(after=after))
        previous_url = str(url.include_query_params(before=before))
        if backwards:
            paging["next"] = next_url
            if more:
                paging["previous"] = previous_url
        else:
            if more:
                paging["next"] = next_url
            if "after" in cursors:
                paging["previous"] = previous_url
        return Reply(200, {"data": data, "paging": paging})

    # -- status --

    def status(self) -> dict[str, Any]:
        sc = self.scenario
        now = self.clock.now()
        minutes = sc.minutes(now)
        streams = []
        for stream in sc.streams:
            entry: dict[str, Any] = {
                "platform": stream.platform,
                "id": stream.id,
                "title": stream.label,
            }
            if stream.platform == "x_counts":
                last = floor_minute(now) - timedelta(minutes=1)
                entry["expected_audience"] = None
                entry["expected_posts_last_minute"] = sc.expected_posts(stream, last)
            else:
                entry["expected_audience"] = sc.expected_audience(stream, now)
            entry["audience_factor"] = sc.audience_factor(stream.platform, minutes)
            entry["blocking"] = sc.blocking(stream.platform, minutes)
            entry["rate_limited"] = sc.burst(stream.service, minutes) is not None
            entry["token_expired"] = sc.token_expired(stream.service, minutes) is not None
            streams.append(entry)
        return {
            "scenario": sc.name,
            "now": iso_ms_z(now),
            "now_local": now.astimezone(sc.tz).isoformat(timespec="seconds"),
            "speed": self.clock.speed,
            "minutes_from_start": round(minutes, 3),
            "phase": sc.phase(now),
            "start": iso_z(sc.start_utc),
            "end": iso_z(sc.end_utc),
            "requests": self.requests,
            "garbled": self.garbled,
            "blocked": self.blocked,
            "x_stream_connections": self.x_stream_open,
            "x_rules": len(self.x_rules),
            "streams": streams,
        }


def x_family(platform: str) -> str:
    return "counts" if platform == "x_counts" else "spaces"


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


def youtube_error(
    code: int,
    message: str,
    reason: str,
    *,
    domain: str = "global",
    status: str | None = None,
    extra: dict[str, str] | None = None,
) -> Reply:
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason, **(extra or {})}],
    }
    if status:
        error["status"] = status
    return Reply(code, {"error": error})


def youtube_key_invalid() -> Reply:
    """Google's answer to a rejected key: the classic `keyInvalid` reason plus the newer
    google.rpc.ErrorInfo detail, so clients reading either recognise it."""
    message = "API key not valid. Please pass a valid API key."
    reply = youtube_error(
        400, message, "keyInvalid", domain="usageLimits", status="INVALID_ARGUMENT"
    )
    reply.body["error"]["details"] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "youtube.googleapis.com"},
        }
    ]
    return reply


def x_not_found(space_id: str, parameter: str = "id") -> dict[str, str]:
    """X's error for an unknown Space; `parameter` is `ids` in the multi-Space lookup."""
    return {
        "value": space_id,
        "detail": f"Could not find space with {parameter}: [{space_id}].",
        "title": "Not Found Error",
        "resource_type": "space",
        "parameter": parameter,
        "resource_id": space_id,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


def x_page_reply(
    page: list[PostRef], data: list[dict[str, Any]], includes: dict[str, Any], more: bool
) -> Reply:
    """A search-shaped answer: the posts of `page` rendered (newest first) and the meta."""
    meta: dict[str, Any] = {}
    if page:
        meta["newest_id"], meta["oldest_id"] = str(page[0].id), str(page[-1].id)
    meta["result_count"] = len(page)
    if more:
        meta["next_token"] = encode_x_token(page[-1].id)
    body: dict[str, Any] = {}
    if data:
        body["data"] = data
        body["includes"] = includes
    body["meta"] = meta
    return Reply(200, body)


def x_invalid_request(parameter: str, message: str) -> Reply:
    return Reply(
        400,
        {
            "errors": [{"parameters": {parameter: []}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )


# --- simulated conversation: ids, cursors, words --------------------------------------------

X_TWEPOCH_MS = 1288834974657  # X's id epoch: a post id is (milliseconds - epoch) << 22 | ...
X_SEARCH_WINDOW = timedelta(days=7)
X_STREAM_CONNECTIONS = 1  # concurrent filtered-stream connections an app may hold
X_STREAM_STEP_SECONDS = 1.0
X_STREAM_KEEPALIVE_SECONDS = 20.0
X_AUTHOR_POOL = 5000
X_OPERATIONAL_DISCONNECT = {
    "errors": [
        {
            "title": "operational-disconnect",
            "disconnect_type": "OperationalDisconnect",
            "detail": "This stream has been disconnected for operational reasons.",
            "type": "https://api.twitter.com/2/problems/operational-disconnect",
        }
    ]
}
CHAT_PER_VIEWER_MINUTE = 0.002  # YouTube live chat messages per viewer per minute
CHAT_POLL_MILLIS = 5000
CHAT_HISTORY_SECONDS = 60  # a first page (no token) holds this much recent chat
CHAT_OFFLINE_MINUTES = 5  # pages carry offlineAt this long after the end, then liveChatEnded
CHAT_AUTHOR_POOL = 3000
COMMENTS_PER_VIEWER_MINUTE = 0.001  # Facebook comments per viewer per minute
REPLY_SHARE = 0.15
SPAM_RANK = 2  # one busy account posts the same promotion again and again
SPAM_MESSAGE = "Subscribe karo mera channel!!! free mobile package 👉 bit.ly/free-pkg-pk"

# Hashtags used beside the query's own, most popular first (chosen with Zipf weights).
EXTRA_HASHTAGS = (
    "PTI",
    "ImranKhan",
    "InternetShutdown",
    "Pakistan",
    "VPN",
    "KhanKaJalsa",
    "PakistanElections2024",
    "FreeInternet",
)
# (id, username, name, created_at) of the accounts that open every minute.
FIXED_AUTHORS = (
    ("1458720925474271232", "PTIofficial", "PTI (simulated)", "2009-04-12T09:41:28.000Z"),
    ("1458720925474271233", "jalsa_news_sim", "Jalsa News (simulated)", "2015-06-01T10:00:00.000Z"),
)
POST_PHRASES = (
    ("Virtual jalsa shuru ho gaya hai, sab live dekhein", "und"),
    ("Internet band hai magar VPN se dekh rahe hain", "und"),
    ("عوام کا جلسہ، عوام کی آواز", "ur"),
    ("جلسہ دیکھنے کے لیے وی پی این استعمال کریں", "ur"),
    ("Join the virtual jalsa now, the whole nation is watching", "en"),
    ("X and Facebook are down in Lahore again", "en"),
    ("Pakistan Zindabad", "und"),
    ("Khan sahab ki taqreer ka intezar hai", "und"),
)
CHAT_PHRASES = (
    "Pakistan Zindabad! 🇵🇰",
    "VPN se dekh rahe hain, internet band hai",
    "Lahore se salaam",
    "Karachi se dekh rahe hain",
    "خوش آمدید، جلسہ شروع ہو گیا ہے",
    "آواز نہیں آ رہی",
    "Sound is breaking, please fix",
    "Khan sahab ki taqreer kab hai?",
    "Islamabad mein X band hai",
    "Great turnout, mashallah",
)
FIRST_NAMES = (
    "Ayesha",
    "Bilal",
    "Sana",
    "Usman",
    "Hina",
    "Kashif",
    "Fatima",
    "Ali",
    "Zara",
    "Omar",
)
LAST_NAMES = ("Khan", "Ahmed", "Malik", "Raza", "Tariq", "Qureshi", "Butt", "Shah", "Iqbal", "Ali")


class PostRef(NamedTuple):
    """One simulated post: its id, and where it comes from (stream, minute, index of n)."""

    id: int
    stream_index: int  # of the x_counts stream in the scenario
    stream: Stream
    minute: int  # minutes since the Unix epoch
    k: int
    n: int


def minute_start(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def spread_ms(minute: int, k: int, n: int) -> int:
    """When item `k` of the `n` in a minute happens (ms since the epoch): evenly spread."""
    return minute * 60_000 + ((2 * k + 1) * 60_000) // (2 * n)


def x_snowflake(ms: int, stream_index: int, k: int) -> int:
    """A post id X-style: time in the high bits, so ids sort as the posts were made."""
    return ((ms - X_TWEPOCH_MS) << 22) | ((stream_index & 0x3FF) << 12) | (k & 0xFFF)


def x_ms(post_id: int) -> int:
    return (post_id >> 22) + X_TWEPOCH_MS


def zipf_rank(u: float, size: int) -> int:
    """A rank in [0, size) for a uniform `u`, with P(rank < r) = log(r + 1) / log(size + 1):
    a few accounts (or hashtags) take most of the volume, as on real platforms."""
    return min(size - 1, int((size + 1) ** u) - 1)


def person_name(seed: int, population: str, rank: int) -> tuple[str, str]:
    first = FIRST_NAMES[int(uniform(seed, population, "first", rank) * len(FIRST_NAMES))]
    last = LAST_NAMES[int(uniform(seed, population, "last", rank) * len(LAST_NAMES))]
    return first, last


_TAG = re.compile(r"#(\w+)")
_MENTION = re.compile(r"@(\w+)")
_URL = re.compile(r"https://t\.co/\w+")


def x_entities(text: str) -> dict[str, Any]:
    """X's entities of a text: hashtags, mentions and URLs with their character offsets."""
    entities: dict[str, Any] = {}
    tags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in _TAG.finditer(text)]
    if tags:
        entities["hashtags"] = tags
    mentions = [
        {"start": m.start(), "end": m.end(), "username": m.group(1)}
        for m in _MENTION.finditer(text)
    ]
    if mentions:
        entities["mentions"] = mentions
    urls = [
        {
            "start": m.start(),
            "end": m.end(),
            "url": m.group(0),
            "expanded_url": "https://www.youtube.com/watch?v=jalsaSIM001",
            "display_url": "youtube.com/watch?v=jalsaS…",
        }
        for m in _URL.finditer(text)
    ]
    if urls:
        entities["urls"] = urls
    return entities


def encode_x_token(post_id: int) -> str:
    """A next_token (opaque to clients): the id to continue below, in base 36."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    value, out = post_id, ""
    while value:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
    return "b26v" + (out or "0")


def decode_x_token(token: str) -> str | None:
    if not token.startswith("b26v"):
        return None
    try:
        return str(int(token[4:], 36))
    except ValueError:
        return None


def encode_position(kind: str, minute: int, k: int) -> str:
    raw = f"{kind}:{minute}:{k}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(token: str, kind: str) -> tuple[int, int] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        name, minute, k = raw.split(":")
        if name != kind:
            return None
        return int(minute), int(k)
    except (ValueError, UnicodeDecodeError):
        return None


def live_chat_id(stream: Stream) -> str:
    """The simulated `activeLiveChatId` of a YouTube stream."""
    return "Cg0KC" + etag("chat", stream.id)[:20]


BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
BLOCK_PAGE_HTML = (
    "<!DOCTYPE html><html><head><title>Site blocked</title></head><body>"
    "<h1>Surf safely!</h1><p>The site you are trying to access contains content that is "
    "prohibited for viewership from within this country.</p></body></html>"
)


class Unanswered(Response):
    """A request the network swallows. With `hang_seconds` > 0 nothing comes back until the
    client gives up (a timeout, as with dropped packets); after `hang_seconds`, or at once with
    0, the connection is closed mid-response (a reset, as SNI filtering does)."""

    def __init__(self, hang_seconds: float) -> None:
        super().__init__()
        self.hang_seconds = hang_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hang_seconds > 0:
            try:
                await asyncio.wait_for(_client_gone(receive), self.hang_seconds)
                return  # the client hung up: nothing left to do
            except TimeoutError:
                pass
        # Headers promising a body that never comes; the server closes the connection when we
        # return without finishing the response.
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")],
            }
        )


async def _client_gone(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def create_app(
    scenario: Scenario,
    clock: Clock,
    *,
    hang_seconds: float = 60.0,
    stream_seconds: float = 300.0,
) -> Starlette:
    """The simulator as an ASGI app. `clock` dates everything (share one CompressedClock with
    the tracker in a demo); `hang_seconds` bounds how long an "unreachable" request hangs;
    `stream_seconds` (clock time) how long X keeps a filtered-stream connection open."""
    sim = Simulator(scenario, clock, hang_seconds=hang_seconds, stream_seconds=stream_seconds)

    def endpoint(
        platform: str | Callable[[Request], str], handler: Handler, family: str | None = None
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            name = platform(request) if callable(platform) else platform
            return await sim.handle(request, name, handler, family)

        return run

    async def x_rules(request: Request) -> Response:
        if request.method == "POST":
            body = await request.body()
            return await sim.handle(
                request, "x_counts", lambda r, now: sim.x_rules_change(r, now, body), "rules"
            )
        return await sim.handle(request, "x_counts", sim.x_rules_list, "rules")

    async def status(request: Request) -> Response:
        return JSONResponse(sim.status())

    # --- inbox and moderation (jalsa.sim.moderation): its routes, and the listings it extends
    # (comments of IG media and of a Graph comment, conversation search, chat moderation) ---
    from jalsa.sim.moderation import Moderation, moderation_routes

    mod = Moderation(sim)
    graph_platform = mod.graph_platform(sim.graph_platform)

    def graph_node_platform(request: Request) -> str:
        return graph_platform(request.path_params["node_id"], None)

    def graph_edge_platform(request: Request) -> str:
        return graph_platform(request.path_params["node_id"], request.path_params["edge"])

    routes = [
        *moderation_routes(mod, endpoint),
        Route("/youtube/v3/videos", endpoint("youtube", sim.youtube_videos)),
        Route(
            "/graph/{version}/{node_id}",
            endpoint(graph_node_platform, mod.graph_node(sim.graph_node)),
        ),
        Route(
            "/graph/{version}/{node_id}/{edge}",
            endpoint(graph_edge_platform, mod.graph_edge(sim.graph_edge)),
        ),
        Route("/x/2/spaces", endpoint("x_space", sim.x_spaces_lookup)),
        Route("/x/2/spaces/{space_id}", endpoint("x_space", sim.x_space_lookup)),
        Route("/x/2/tweets/counts/recent", endpoint("x_counts", sim.x_counts)),
        Route(
            "/x/2/tweets/search/recent", endpoint("x_counts", mod.x_search(sim.x_search), "search")
        ),
        Route("/x/2/tweets/search/stream", sim.x_stream),
        Route("/x/2/tweets/search/stream/rules", x_rules, methods=["GET", "POST"]),
        Route(
            "/youtube/v3/liveChat/messages", endpoint("youtube", mod.chat_filter(sim.youtube_chat))
        ),
        Route("/_sim/status", status),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    app.state.moderation = mod
    return app
