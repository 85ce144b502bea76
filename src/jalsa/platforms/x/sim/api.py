"""X's simulated API v2: a Space's listeners and the post counts of the rally's query (the
audience), and the routes of search, the filtered stream and moderation.

    GET  /x/2/spaces/{id}?space.fields=...   GET /x/2/spaces?ids=...
    GET  /x/2/tweets/counts/recent?query=...&granularity=minute&start_time=...
    GET  /x/2/tweets/search/recent?query=...[&since_id=..][&next_token=..]
    GET  /x/2/tweets/search/stream (newline-delimited JSON, kept open)
    GET|POST /x/2/tweets/search/stream/rules
    GET  /x/2/users/{id}/mentions
    PUT  /x/2/tweets/{id}/hidden             POST /x/2/tweets

Every answer carries X's `x-rate-limit-*` headers; the reset is in the clock's seconds, so with
a compressed demo clock `parse_retry_after` yields simulated seconds, which is what the
tracker's `clock.sleep` expects.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from jalsa.platforms.x.sim.errors import XGate, x_invalid_request, x_not_found
from jalsa.platforms.x.sim.moderation import Moderation
from jalsa.platforms.x.sim.posts import Posts
from jalsa.platforms.x.sim.stream import FilteredStream
from jalsa.sim.curves import uniform
from jalsa.sim.kit import Reply, iso_ms_z, parse_iso, pick, requested
from jalsa.sim.scenario import Stream, floor_minute
from jalsa.sim.simulator import Simulator

PATH = "/x/2"
BASE_URLS = {"x_base_url": PATH}
X_COUNTS_LOOKBACK = timedelta(days=7)


class XSim:
    """The simulated X of one simulator: its gate, Spaces, counts, posts, filtered stream and
    moderation."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.gate = XGate(sim)
        self.posts = Posts(sim.scenario)
        self.stream = FilteredStream(sim, self.posts, self.gate)
        self.moderation = Moderation(sim, self.posts)

    def status(self) -> dict[str, Any]:
        """The filtered stream's connections and rules, for /_sim/status."""
        return {"x_stream_connections": self.stream.open, "x_rules": len(self.stream.rules)}

    # -- Spaces --

    def space_lookup(self, request: Request, now: datetime) -> Reply:
        space_id = request.path_params["space_id"]
        wanted = requested(request.query_params.get("space.fields"))
        stream = self.sim.scenario.stream("x_space", space_id)
        if stream is None:
            return Reply(200, {"errors": [x_not_found(space_id)]})
        return Reply(200, {"data": pick(self.space(stream, now), wanted, ("id", "state"))})

    def spaces_lookup(self, request: Request, now: datetime) -> Reply:
        raw = request.query_params.get("ids")
        if not raw:
            return x_invalid_request("ids", "The `ids` query parameter can not be empty")
        wanted = requested(request.query_params.get("space.fields"))
        data, errors = [], []
        for space_id in (i.strip() for i in raw.split(",") if i.strip()):
            stream = self.sim.scenario.stream("x_space", space_id)
            if stream is None:
                errors.append(x_not_found(space_id, parameter="ids"))
            else:
                data.append(pick(self.space(stream, now), wanted, ("id", "state")))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return Reply(200, body)

    def space(self, stream: Stream, now: datetime) -> dict[str, Any]:
        sc = self.sim.scenario
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

    # -- post counts --

    def counts(self, request: Request, now: datetime) -> Reply:
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
        streams = self.sim.scenario.counts_streams(query)
        data = []
        total = 0
        bucket = first
        while bucket + size <= end:
            count = 0
            for stream in streams:
                minute = bucket
                while minute < bucket + size:
                    count += self.sim.scenario.expected_posts(stream, minute)
                    minute += timedelta(minutes=1)
            data.append(
                {"end": iso_ms_z(bucket + size), "start": iso_ms_z(bucket), "tweet_count": count}
            )
            total += count
            bucket += size
        return Reply(200, {"data": data, "meta": {"total_tweet_count": total}})


def routes(sim: Simulator) -> list[Route]:
    """X's routes on `sim`; its state is `sim.parts["x"]`."""
    x = sim.parts["x"] = XSim(sim)
    sim.status_parts.append(x.status)
    mod, gate = x.moderation, x.gate
    search = mod.search(x.posts.search)
    return [
        Route(
            f"{PATH}/tweets/{{post_id}}/hidden",
            sim.endpoint_with_body("x_counts", mod.hide, gate, "hide"),
            methods=["PUT"],
        ),
        Route(
            f"{PATH}/tweets",
            sim.endpoint_with_body("x_counts", mod.post, gate, "manage"),
            methods=["POST"],
        ),
        Route(
            f"{PATH}/users/{{user_id}}/mentions",
            sim.endpoint("x_counts", mod.mentions, gate, "mentions"),
        ),
        Route(f"{PATH}/spaces", sim.endpoint("x_space", x.spaces_lookup, gate)),
        Route(f"{PATH}/spaces/{{space_id}}", sim.endpoint("x_space", x.space_lookup, gate)),
        Route(f"{PATH}/tweets/counts/recent", sim.endpoint("x_counts", x.counts, gate)),
        Route(f"{PATH}/tweets/search/recent", sim.endpoint("x_counts", search, gate, "search")),
        Route(f"{PATH}/tweets/search/stream", x.stream.connect),
        Route(
            f"{PATH}/tweets/search/stream/rules",
            x.stream.rules_endpoint,
            methods=["GET", "POST"],
        ),
    ]
