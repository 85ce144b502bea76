"""Facebook's simulated Graph API: a live video's status and audience, its video's insights,
and the comments under it (for the conversation and the inbox), hidden and replied to through
the Graph API's shared comment endpoints (`jalsa.sim.graph`).

    GET  /graph/v21.0/{live_video_id}?fields=status,live_views,video
    GET  /graph/v21.0/{video_id}/video_insights?metric=...
    GET  /graph/v21.0/{live_video_or_video_id}/comments?fields=...&order=...&after=...
    GET  /graph/v21.0/{comment-id}?fields=is_hidden,..
    POST /graph/v21.0/{comment-id}?is_hidden=true|false
    POST /graph/v21.0/{comment-id}/comments?message=..      (a reply)

Comments are generated per minute, a share of the live video's audience, spread evenly; some
reply to the first comment of the minute before. Facebook answers for every node the other
Graph platforms do not claim, as graph.facebook.com does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from jalsa.sim.curves import uniform
from jalsa.sim.graph import GRAPH_PATH, GraphApi, graph_api
from jalsa.sim.kit import (
    CHAT_AUTHOR_POOL,
    CHAT_PHRASES,
    SPAM_MESSAGE,
    SPAM_RANK,
    Reply,
    decode_position,
    encode_position,
    iso_graph,
    minute_start,
    parse_iso,
    person_name,
    pick,
    requested,
    spread_ms,
    zipf_rank,
)
from jalsa.sim.scenario import Stream
from jalsa.sim.simulator import Simulator

BASE_URLS = {"facebook_base_url": GRAPH_PATH}
FACEBOOK_STOPPED_MINUTES = 10  # LIVE_STOPPED this long after the end, then VOD
COMMENTS_PER_VIEWER_MINUTE = 0.001  # Facebook comments per viewer per minute
REPLY_SHARE = 0.15


class FacebookGraph:
    """The scenario's Facebook live videos on the simulator's Graph API."""

    name = "facebook"
    fallback = True
    hide_param = "is_hidden"
    reply_edge = "comments"

    def __init__(self, sim: Simulator, graph: GraphApi) -> None:
        self.sim = sim
        self.graph = graph

    def video_stream(self, video_id: str) -> Stream | None:
        """The live video whose recorded video is `video_id`."""
        streams = self.sim.scenario.streams_of("facebook")
        return next((s for s in streams if s.facebook_video_id == video_id), None)

    # -- the Graph dispatch --

    def claims(self, node_id: str, edge: str | None) -> bool:
        return True

    def comment(self, node_id: str) -> dict[str, Any] | None:
        found = self.find(node_id)
        if found is None or f"facebook:{node_id}" in self.sim.deleted:
            return None
        stream, minute, k = found
        n = self.comment_count(stream, minute)
        full = self.comment_at(stream, minute, k, n, self.sim.clock.now())
        full["is_hidden"] = self.sim.hidden.get(f"facebook:{node_id}", False)
        return full

    def node(self, node_id: str, request: Request, now: datetime) -> Reply | None:
        stream = self.sim.scenario.stream("facebook", node_id)
        if stream is None:
            return None
        wanted = requested(request.query_params.get("fields")) or {"status"}
        return Reply(200, pick(self.live_video(stream, now), wanted))

    def edge(self, node_id: str, edge: str, request: Request, now: datetime) -> Reply | None:
        live = self.sim.scenario.stream("facebook", node_id)
        video = self.video_stream(node_id)
        commented = live or video
        if edge == "comments" and commented is not None:
            return self.comments(commented, request, now)
        if edge == "video_insights" and video is not None:
            return self.video_insights(video, request, now)
        if video is not None:
            return self.graph.no_field(edge, "Video")
        if live is not None:
            return self.graph.no_field(edge, "LiveVideo")
        return None

    def reply_id(self, node_id: str) -> str:
        return f"{node_id.split('_')[0]}_{self.sim.next_id('')}"

    # -- the live video and its insights --

    def live_video(self, stream: Stream, now: datetime) -> dict[str, Any]:
        sc = self.sim.scenario
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

    def video_insights(self, stream: Stream, request: Request, now: datetime) -> Reply:
        sc = self.sim.scenario
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
            return self.graph.error("(#100) The value must be a valid insights metric", 100)
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

    # -- comments --

    def comment_count(self, stream: Stream, minute: int) -> int:
        middle = minute_start(minute) + timedelta(seconds=30)
        audience = self.sim.scenario.expected_audience(stream, middle)
        return round(audience * COMMENTS_PER_VIEWER_MINUTE)

    def comment_parent(self, stream: Stream, minute: int, k: int) -> tuple[int, int] | None:
        """The comment this one replies to: the first comment of the minute before."""
        if k == 0 or uniform(self.sim.seed, "fb-reply", stream.id, minute, k) >= REPLY_SHARE:
            return None
        return (minute - 1, 0) if self.comment_count(stream, minute - 1) > 0 else None

    def comment_id(self, stream: Stream, minute: int, k: int) -> str:
        return f"{stream.facebook_video_id}_{10**14 + minute * 10**4 + k}"

    def find(self, comment_id: str) -> tuple[Stream, int, int] | None:
        """The comment an id names, if it has been posted by now."""
        video, _, serial = comment_id.partition("_")
        if not serial.isdigit():
            return None
        stream = self.video_stream(video)
        value = int(serial) - 10**14
        minute, k = divmod(value, 10**4)
        if stream is None or value < 0:
            return None
        n = self.comment_count(stream, minute)
        if k >= n or spread_ms(minute, k, n) > self.sim.clock.now().timestamp() * 1000:
            return None
        return stream, minute, k

    def comment_at(
        self, stream: Stream, minute: int, k: int, n: int, now: datetime
    ) -> dict[str, Any]:
        """Comment `k` of the `n` in a minute, as Graph shapes it (every field)."""
        seed = self.sim.seed
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

    def comments(self, stream: Stream, request: Request, now: datetime) -> Reply:
        """GET /{live-video-or-video-id}/comments with Graph's fields, order, filter, limit,
        since/until and cursor paging (`after`/`before`, `paging.next`/`previous`)."""
        params = request.query_params
        sc = self.sim.scenario
        wanted = requested(params.get("fields")) or {"created_time", "message"}
        order = params.get("order", "chronological")
        if order not in ("chronological", "reverse_chronological"):
            return self.graph.error(
                "(#100) param order must be one of {CHRONOLOGICAL, REVERSE_CHRONOLOGICAL}", 100
            )
        replies = params.get("filter", "toplevel")
        if replies not in ("toplevel", "stream"):
            return self.graph.error("(#100) param filter must be one of {TOPLEVEL, STREAM}", 100)
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
                return self.graph.error(f"(#100) The parameter {name} is not a valid time", 100)
            bounds[name] = moment
        cursors = {}
        for name in ("after", "before"):
            raw = params.get(name)
            if raw is not None:
                position = decode_position(raw, "comment")
                if position is None:
                    return self.graph.error(f"(#100) The {name} cursor is invalid", 100)
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
        data = [pick(self.comment_at(stream, m, k, n, now), wanted) for m, k, n in page]
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


def routes(sim: Simulator) -> list[Route]:
    """The Graph API's routes (shared with Instagram), with Facebook's nodes on them; its state
    is `sim.parts["facebook"]`."""
    graph = graph_api(sim)
    facebook = sim.parts["facebook"] = FacebookGraph(sim, graph)
    graph.add(facebook)
    return graph.routes
