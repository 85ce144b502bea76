"""The simulated Graph API that Facebook and Instagram share: one set of paths
(`/graph/{version}/{node-id}` and `/{node-id}/{edge}`, GET and POST), one credential gate, one
error shape, one throttling answer, and comments that are hidden and replied to the same way.

Each Graph platform's simulator (`jalsa.platforms.facebook.sim`, `...instagram.sim`) adds a
`GraphPlatform` to the simulator's one `GraphApi`, which asks them in turn: which platform a
node belongs to (its token and bursts apply), whether a node is one of its comments, and what
it answers for a node or an edge. This lives in the simulator kit, not in one platform's
package, because neither platform owns the Graph API; a third Graph platform (Threads, say) adds
itself the same way.

    GET  /{node-id}?fields=..           a comment (with is_hidden/hidden), or a platform's node
    GET  /{node-id}/{edge}?..           a platform's edge (comments, live_media, video_insights)
    POST /{comment-id}?is_hidden=|hide= hide or unhide (the platform names the parameter)
    POST /{comment-id}/comments|replies a reply (the platform names the edge)
"""

from __future__ import annotations

import contextlib
import json
import math
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.routing import Route

from jalsa.sim.kit import READONLY_PREFIX, Reply, bearer, etag, pick, requested, token_of
from jalsa.sim.scenario import SERVICE_OF
from jalsa.sim.simulator import Gate, Simulator

GRAPH_VERSION = "v21.0"
GRAPH_PATH = f"/graph/{GRAPH_VERSION}"
PACIFIC = ZoneInfo("America/Los_Angeles")


class GraphPlatform(Protocol):
    """What a platform served by the Graph API tells the shared dispatch."""

    name: str  # "facebook": also the prefix of its items in the moderation record
    fallback: bool  # answers for the nodes no other Graph platform claims (Facebook)
    hide_param: str  # POST /{comment-id}?<hide_param>=true|false
    reply_edge: str  # POST /{comment-id}/<reply_edge>?message=..

    def claims(self, node_id: str, edge: str | None) -> bool:
        """Whether a request for this node (and edge) is this platform's."""
        ...

    def comment(self, node_id: str) -> dict[str, Any] | None:
        """The full comment the id names, if it exists now and was not deleted."""
        ...

    def node(self, node_id: str, request: Request, now: datetime) -> Reply | None:
        """GET /{node-id} of one of this platform's nodes, or None."""
        ...

    def edge(self, node_id: str, edge: str, request: Request, now: datetime) -> Reply | None:
        """GET /{node-id}/{edge} of one of this platform's nodes, or None."""
        ...

    def reply_id(self, node_id: str) -> str:
        """The id of a new reply to the comment `node_id`."""
        ...


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


class GraphApi(Gate):
    """The Graph API of one simulator: its gate, its errors and the dispatch among the Graph
    platforms. Get it with `graph_api(sim)`."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.platforms: list[GraphPlatform] = []
        self.routes = [
            Route(
                "/graph/{version}/{node_id}",
                sim.endpoint_with_body(self.node_platform, self.hide, self),
                methods=["POST"],
            ),
            Route(
                "/graph/{version}/{node_id}/{edge}",
                sim.endpoint_with_body(self.node_platform, self.reply, self),
                methods=["POST"],
            ),
            Route("/graph/{version}/{node_id}", sim.endpoint(self.node_platform, self.get, self)),
            Route(
                "/graph/{version}/{node_id}/{edge}",
                sim.endpoint(self.edge_platform, self.get_edge, self),
            ),
        ]

    def add(self, platform: GraphPlatform) -> None:
        """Serve `platform` too. Platforms are asked in the order they were added, except the
        one answering for nodes no other claims (Facebook), which is asked last. A node id
        names one node on one platform, as on the real Graph API."""
        self.platforms.append(platform)
        self.platforms.sort(key=lambda p: p.fallback)

    # -- which platform --

    def platform_of(self, node_id: str, edge: str | None) -> str:
        """Which platform (and so which token and bursts) a Graph request belongs to."""
        for p in self.platforms:
            if p.fallback or p.claims(node_id, edge):
                return p.name
        return self.platforms[-1].name

    def node_platform(self, request: Request) -> str:
        return self.platform_of(request.path_params["node_id"], None)

    def edge_platform(self, request: Request) -> str:
        return self.platform_of(request.path_params["node_id"], request.path_params["edge"])

    # -- the gate every Graph request passes --

    def check(
        self, request: Request, platform: str, now: datetime, family: str | None
    ) -> Reply | None:
        scenario = self.sim.scenario
        service = SERVICE_OF[platform]
        minutes = scenario.minutes(now)
        if not (request.query_params.get("access_token") or bearer(request)):
            return self.error("An access token is required to request this resource.", 104)
        expiry = scenario.token_expired(service, minutes)
        if expiry is not None:
            expired = scenario.at(expiry.from_minutes).astimezone(PACIFIC)
            stamp = "%A, %d-%b-%y %H:%M:%S %Z"
            return self.error(
                "Error validating access token: Session has expired on "
                f"{expired.strftime(stamp)}. The current time is "
                f"{now.astimezone(PACIFIC).strftime(stamp)}.",
                190,
                subcode=463,
            )
        burst = scenario.burst(service, minutes)
        if burst is not None:
            return self.throttled(burst.code or 4, burst.end_minutes - minutes)
        return None

    # -- errors --

    def fbtrace(self) -> str:
        return "A" + etag(self.sim.scenario.seed, "fbtrace", self.sim.requests)[:22]

    def error(
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

    def throttled(self, code: int, minutes_left: float) -> Reply:
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
        return self.error(messages[code], code, headers=headers, transient=True)

    def not_found(self, node_id: str) -> Reply:
        return self.error(
            f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation. Please "
            "read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
            100,
            subcode=33,
            kind="GraphMethodException",
        )

    def no_field(self, name: str, node_type: str) -> Reply:
        return self.error(
            f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})", 100
        )

    def forbidden(self, request: Request, params: dict[str, str]) -> Reply | None:
        token = params.get("access_token") or token_of(request)
        if token.startswith(READONLY_PREFIX):
            return self.error(
                "(#200) Requires pages_manage_engagement permission to manage the object",
                200,
                kind="OAuthException",
                status=403,
            )
        return None

    # -- the endpoints --

    def find_comment(self, node_id: str) -> tuple[GraphPlatform, dict[str, Any]] | None:
        """(platform, full comment) of a comment id that exists, on any Graph platform."""
        for p in self.platforms:
            found = p.comment(node_id)
            if found is not None:
                return p, found
        return None

    def get(self, request: Request, now: datetime) -> Reply:
        """GET /{node-id}: a comment (with `is_hidden`/`hidden`), else a platform's node."""
        node_id = request.path_params["node_id"]
        found = self.find_comment(node_id)
        if found is not None:
            wanted = requested(request.query_params.get("fields")) or {"id", "message", "text"}
            return Reply(200, pick(found[1], wanted))
        if any(f"{p.name}:{node_id}" in self.sim.deleted for p in self.platforms):
            return self.not_found(node_id)
        for p in self.platforms:
            reply = p.node(node_id, request, now)
            if reply is not None:
                return reply
        return self.not_found(node_id)

    def get_edge(self, request: Request, now: datetime) -> Reply:
        """GET /{node-id}/{edge}: the first platform that knows the node answers."""
        node_id = request.path_params["node_id"]
        edge = request.path_params["edge"]
        for p in self.platforms:
            reply = p.edge(node_id, edge, request, now)
            if reply is not None:
                return reply
        return self.not_found(node_id)

    def hide(self, request: Request, now: datetime, body: bytes) -> Reply:
        """POST /{comment-id}: hide or unhide (Facebook `is_hidden`, Instagram `hide`)."""
        node_id = request.path_params["node_id"]
        params = graph_params(request, body)
        refused = self.forbidden(request, params)
        if refused is not None:
            return refused
        found = self.find_comment(node_id)
        if found is None:
            return self.not_found(node_id)
        platform = found[0]
        value = params.get(platform.hide_param)
        if value not in ("true", "false"):
            return self.error(f"(#100) The parameter {platform.hide_param} is required", 100)
        self.sim.hidden[f"{platform.name}:{node_id}"] = value == "true"
        return Reply(200, {"success": True})

    def reply(self, request: Request, now: datetime, body: bytes) -> Reply:
        """POST /{comment-id}/comments (Facebook) or /{ig-comment-id}/replies (Instagram)."""
        node_id = request.path_params["node_id"]
        edge = request.path_params["edge"]
        params = graph_params(request, body)
        refused = self.forbidden(request, params)
        if refused is not None:
            return refused
        found = self.find_comment(node_id)
        if found is None or found[0].reply_edge != edge:
            return self.not_found(node_id)
        message = params.get("message", "").strip()
        if not message:
            return self.error("(#100) The parameter message is required", 100)
        platform = found[0]
        reply_id = platform.reply_id(node_id)
        self.sim.serial += 1
        self.sim.posted.append(
            {"platform": platform.name, "parent": node_id, "text": message, "id": reply_id}
        )
        return Reply(200, {"id": reply_id})


def graph_api(sim: Simulator) -> GraphApi:
    """The simulator's one Graph API, made by the first Graph platform that asks for it."""
    api = sim.parts.get("graph")
    if api is None:
        api = sim.parts["graph"] = GraphApi(sim)
    assert isinstance(api, GraphApi)
    return api
