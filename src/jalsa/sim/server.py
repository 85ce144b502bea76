"""The simulator's HTTP app: the platforms' own paths, JSON shapes, error bodies and headers.

    YouTube   GET /youtube/v3/videos?part=...&id=...&key=...
    Facebook  GET /graph/v21.0/{live_video_id}?fields=status,live_views,video
              GET /graph/v21.0/{video_id}/video_insights?metric=...
    Instagram GET /graph/v21.0/{ig_user_id}/live_media?fields=...
    X         GET /x/2/spaces/{id}?space.fields=...   GET /x/2/spaces?ids=...
              GET /x/2/tweets/counts/recent?query=...&granularity=minute&start_time=...
    Simulator GET /_sim/status

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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from jalsa.clock import Clock
from jalsa.sim.curves import uniform
from jalsa.sim.scenario import SERVICE_OF, Scenario, Stream, floor_minute

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

    def __init__(self, scenario: Scenario, clock: Clock, *, hang_seconds: float = 60.0) -> None:
        self.scenario = scenario
        self.clock = clock
        self.hang_seconds = hang_seconds
        self.requests = 0  # platform requests answered (garbled or not)
        self.garbled = 0
        self.blocked = 0
        self._x_windows: dict[str, tuple[int, int]] = {}

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
                details["activeLiveChatId"] = "Cg0KC" + etag("chat", stream.id)[:20]
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


def create_app(scenario: Scenario, clock: Clock, *, hang_seconds: float = 60.0) -> Starlette:
    """The simulator as an ASGI app. `clock` dates everything (share one CompressedClock with
    the tracker in a demo); `hang_seconds` bounds how long an "unreachable" request hangs."""
    sim = Simulator(scenario, clock, hang_seconds=hang_seconds)

    def endpoint(
        platform: str | Callable[[Request], str], handler: Handler
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            name = platform(request) if callable(platform) else platform
            return await sim.handle(request, name, handler)

        return run

    async def status(request: Request) -> Response:
        return JSONResponse(sim.status())

    def graph_node_platform(request: Request) -> str:
        return sim.graph_platform(request.path_params["node_id"], None)

    def graph_edge_platform(request: Request) -> str:
        return sim.graph_platform(request.path_params["node_id"], request.path_params["edge"])

    routes = [
        Route("/youtube/v3/videos", endpoint("youtube", sim.youtube_videos)),
        Route("/graph/{version}/{node_id}", endpoint(graph_node_platform, sim.graph_node)),
        Route("/graph/{version}/{node_id}/{edge}", endpoint(graph_edge_platform, sim.graph_edge)),
        Route("/x/2/spaces", endpoint("x_space", sim.x_spaces_lookup)),
        Route("/x/2/spaces/{space_id}", endpoint("x_space", sim.x_space_lookup)),
        Route("/x/2/tweets/counts/recent", endpoint("x_counts", sim.x_counts)),
        Route("/_sim/status", status),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app
