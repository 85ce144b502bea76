"""X's simulated filtered stream: its rules (per simulator), and the stream itself, kept open
and sending each matching post as the clock reaches it.

    GET      /x/2/tweets/search/stream (newline-delimited JSON, kept open)
    GET|POST /x/2/tweets/search/stream/rules

A connection passes the same gates as every X request, and one at a time is allowed; it sends
keep-alives in quiet spells and, after the simulator's `stream_seconds`, an operational
disconnect (X ends connections now and then). A garbled connection is cut mid-line.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from jalsa.platforms.x.sim.errors import XGate, x_invalid_request
from jalsa.platforms.x.sim.posts import PostRef, Posts, x_ms
from jalsa.sim.curves import uniform
from jalsa.sim.kit import Reply, iso_ms_z
from jalsa.sim.scenario import Stream, query_terms
from jalsa.sim.simulator import Simulator

X_STREAM_CONNECTIONS = 1  # concurrent filtered-stream connections an app may hold
X_STREAM_STEP_SECONDS = 1.0
X_STREAM_KEEPALIVE_SECONDS = 20.0
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


class FilteredStream:
    """The filtered stream of one simulator: its rules and open connections."""

    def __init__(self, sim: Simulator, posts: Posts, gate: XGate) -> None:
        self.sim = sim
        self.posts = posts
        self.gate = gate
        self.rules: list[dict[str, str]] = []
        self.open = 0  # connections being served
        self._rule_serial = 0

    # -- rules --

    async def rules_endpoint(self, request: Request) -> Response:
        """GET lists the rules, POST adds or deletes some (`dry_run` only checks)."""
        sim = self.sim
        if request.method == "POST":
            body = await request.body()
            return await sim.handle(
                request,
                "x_counts",
                lambda r, now: self.rules_change(r, now, body),
                self.gate,
                "rules",
            )
        return await sim.handle(request, "x_counts", self.rules_list, self.gate, "rules")

    def rules_list(self, request: Request, now: datetime) -> Reply:
        ids = request.query_params.get("ids")
        wanted = {i.strip() for i in ids.split(",")} if ids else None
        rules = [r for r in self.rules if wanted is None or r["id"] in wanted]
        body: dict[str, Any] = {}
        if rules:
            body["data"] = rules
        body["meta"] = {"sent": iso_ms_z(now), "result_count": len(rules)}
        return Reply(200, body)

    def rules_change(self, request: Request, now: datetime, raw: bytes) -> Reply:
        dry_run = request.query_params.get("dry_run", "false").lower() == "true"
        try:
            payload = json.loads(raw or b"null")
        except ValueError:
            payload = None
        sent = iso_ms_z(now)
        if isinstance(payload, dict) and isinstance(payload.get("add"), list):
            known = {r["value"]: r["id"] for r in self.rules}
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
                self.rules.extend(created)
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
            present = {r["id"] for r in self.rules}
            gone = [i for i in ids if i in present]
            if not dry_run:
                self.rules = [r for r in self.rules if r["id"] not in set(gone)]
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

    # -- the stream --

    def matching(
        self, after: datetime, until: datetime, rules: list[dict[str, str]]
    ) -> list[tuple[PostRef, list[dict[str, str]]]]:
        """Posts created in (after, until] that match a rule, oldest first, with the rules."""
        matched: list[tuple[int, Stream, list[dict[str, str]]]] = []
        for index, stream in enumerate(self.sim.scenario.streams):
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
            for ref in self.posts.minute_posts(index, stream, minute)
            if lo < x_ms(ref.id) <= hi
        ]
        return sorted(found, key=lambda item: item[0].id)

    async def connect(self, request: Request) -> Response:
        """GET /2/tweets/search/stream: the same gates as every X request, then one line per
        matching post as the clock reaches it, keep-alives in quiet spells, and after
        `stream_seconds` an operational disconnect (X ends connections now and then)."""
        sim = self.sim
        now = sim.clock.now()
        platform = "x_counts"
        blocked = sim.unanswered(platform, now)
        if blocked is not None:
            return blocked
        number = sim.requests
        sim.requests += 1
        headers = self.gate.headers(request, platform, now, "stream")
        reply = self.gate.check(request, platform, now, "stream")
        if reply is None and self.open >= X_STREAM_CONNECTIONS:
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
            return sim.render(reply, number)
        cut: int | None = None
        seed = sim.scenario.seed
        if uniform(seed, "malformed", number) < sim.scenario.malformed_rate:
            sim.garbled += 1
            cut = 1 + int(uniform(seed, "stream-cut", number) * 20)
        lines = self.lines(request.query_params, cut)
        return StreamingResponse(lines, 200, headers, media_type="application/json")

    async def lines(self, params: Any, cut: int | None) -> AsyncIterator[bytes]:
        sim = self.sim
        self.open += 1
        try:
            last = sim.clock.now()
            until = last + timedelta(seconds=sim.stream_seconds)
            quiet = 0.0
            sent = 0
            while True:
                await sim.clock.sleep(X_STREAM_STEP_SECONDS)
                now = sim.clock.now()
                if sim.scenario.blocking("x_counts", sim.scenario.minutes(now)) is not None:
                    return  # the network dropped the connection
                chunk: list[bytes] = []
                for ref, hits in self.matching(last, now, list(self.rules)):
                    data, includes = self.posts.render([ref], now, params)
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
            self.open -= 1
