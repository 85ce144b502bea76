"""Helpers for the web app's tests (importable as `webkit`): a real uvicorn server on a free
loopback port, a seeded team and event, logging in, reading the CSRF token the way a page
exposes it, route discovery, and a Server-Sent Events reader."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select

from jalsa.config import Settings, load_settings
from jalsa.store import Store
from jalsa.store.models import User, WebSession
from jalsa.store.repo import PollRecord, add_stream, create_event, get_event, write_polls
from jalsa.team import Perm, Role, create_api_token, create_user, digest
from jalsa.timeutil import utc_now
from jalsa.web.deps import SESSION_COOKIE, Requires

ROLES = [r.value for r in Role]
PASSWORD = "correct horse battery"  # every seeded account's password (≥ 10 characters)
# Streams of the seeded event: kind, platform id, and the metric that is its live audience.
STREAMS = [
    ("youtube", "vid00000001", "youtube.concurrent_viewers"),
    ("facebook", "111", "facebook.live_views"),
    ("x_space", "1space", "x_space.participant_count"),
]


# -- settings, store, team -------------------------------------------------------------------


def web_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for an app under test: its own data directory, a fixed secret key, cookies
    without `Secure` (the tests speak plain HTTP on loopback)."""
    from cryptography.fernet import Fernet

    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "secret_key": Fernet.generate_key().decode(),
        "cookie_secure": False,
        **overrides,
    }
    return load_settings(**values)


@dataclass
class Member:
    username: str
    password: str
    role: str
    user_id: int
    token: str  # an API token of this account (plaintext)
    token_id: int


_hash_of_password: list[str] = []


def make_member(store: Store, role: str, username: str | None = None) -> Member:
    """An account with PASSWORD and an API token. The first is made by `create_user`; later
    ones reuse its argon2 hash (hashing costs a tenth of a second each)."""
    username = username or f"{role}-{secrets.token_hex(3)}"
    with store.session() as session:
        if not _hash_of_password:
            user = create_user(
                session, username=username, password=PASSWORD, role=role, display_name=role
            )
            _hash_of_password.append(user.password_hash)
        else:
            user = User(
                username=username,
                display_name=role,
                password_hash=_hash_of_password[0],
                role=role,
                active=True,
                created_at=utc_now(),
            )
            session.add(user)
            session.flush()
        row, plaintext = create_api_token(session, user, "tests")
        return Member(username, PASSWORD, role, user.id, plaintext, row.id)


def agent_token(store: Store, member: Member, vantage: str) -> str:
    """A new agent token of `member` for `vantage` (plaintext)."""
    with store.session() as session:
        user = session.get(User, member.user_id)
        assert user is not None
        _, plaintext = create_api_token(
            session, user, f"agent {vantage}", scope="agent", vantage=vantage
        )
        return plaintext


def make_team(store: Store) -> dict[str, Member]:
    """One account per role, named after the role."""
    return {role: make_member(store, role, username=role) for role in ROLES}


@dataclass
class Seeded:
    slug: str
    stream_ids: list[int]
    audience: dict[int, str] = field(default_factory=dict)  # stream id -> audience metric


def seed_event(
    store: Store,
    slug: str = "rally",
    name: str = "Virtual jalsa",
    *,
    starts: datetime | None = None,
    hours: float = 3,
) -> Seeded:
    """An event that is on now, with a YouTube, a Facebook and an X Space stream."""
    starts = starts or utc_now() - timedelta(minutes=30)
    with store.session() as session:
        event = create_event(
            session,
            name=name,
            starts_at=starts,
            duration=timedelta(hours=hours),
            timezone="Asia/Karachi",
            hashtags=["#Jalsa"],
            slug=slug,
        )
        seeded = Seeded(slug, [])
        for kind, external_id, metric in STREAMS:
            stream = add_stream(session, event, kind=kind, external_id=external_id)
            seeded.stream_ids.append(stream.id)
            seeded.audience[stream.id] = metric
        return seeded


def poll_record(
    stream_id: int,
    at: datetime,
    samples: Sequence[tuple[str, datetime, int]] = (),
    *,
    status: str = "ok",
) -> PollRecord:
    return PollRecord(
        stream_id=stream_id,
        scheduled_at=at,
        finished_at=at + timedelta(milliseconds=200),
        status=status,
        detail="",
        http_status=200,
        requests=1,
        quota_units=1,
        billed_resources=0,
        cost_usd=0.0,
        samples=tuple(samples),
    )


def store_polls(store: Store, records: Sequence[PollRecord]) -> None:
    with store.session() as session:
        write_polls(session, records)


def stream_ids(store: Store, slug: str) -> list[int]:
    with store.session() as session:
        return [s.id for s in get_event(session, slug).streams]


def eventually(check: Any, timeout: float = 5.0, every: float = 0.02) -> Any:
    """The first truthy result of `check()` within `timeout` seconds, else the last one
    (for what happens after a response: a feed catching up, a tracker polling)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)


# -- logging in ------------------------------------------------------------------------------

_CSRF_PATTERNS = [
    re.compile(r'<meta[^>]+name="csrf-token"[^>]+content="([^"]+)"'),
    re.compile(r'<meta[^>]+content="([^"]+)"[^>]+name="csrf-token"'),
    re.compile(r'name="csrf_token"[^>]*value="([^"]+)"'),
    re.compile(r'value="([^"]+)"[^>]*name="csrf_token"'),
    re.compile(r'data-csrf(?:-token)?="([^"]+)"'),
]


def csrf_in_page(html: str) -> str | None:
    """The CSRF token a page gives its forms and scripts (a `csrf-token` meta tag, a hidden
    `csrf_token` field or a `data-csrf` attribute), or None."""
    for pattern in _CSRF_PATTERNS:
        found = pattern.search(html)
        if found:
            return found.group(1)
    return None


def csrf_of_session(store: Store, cookie: str) -> str:
    """The CSRF token stored with a session (what the pages must hand out)."""
    with store.session() as session:
        row = session.get(WebSession, digest(cookie))
        assert row is not None, "no session for this cookie"
        return row.csrf_token


def post_login(
    client: httpx.Client, username: str, password: str, next: str = "/"
) -> httpx.Response:
    """Post the login form as a browser does: open it first for its CSRF cookie and field."""
    token = csrf_in_page(client.get("/login").text)
    assert token, "the login form has no CSRF token"
    data = {"username": username, "password": password, "next": next, "csrf_token": token}
    return client.post("/login", data=data)


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session cookie's value."""
    response = post_login(client, username, password)
    assert response.status_code == 303, (response.status_code, response.text[:500])
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie, "the login set no session cookie"
    return cookie


# -- routes ----------------------------------------------------------------------------------


def requirements(dependant: Any) -> frozenset[Perm]:
    """Every permission a route's dependencies ask for (`Requires` objects at any depth)."""
    found: set[Perm] = set()
    seen: set[int] = set()

    def walk(node: Any) -> None:
        for sub in node.dependencies:
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            if isinstance(sub.call, Requires):
                found.add(sub.call.perm)
            walk(sub)

    walk(dependant)
    return frozenset(found)


@dataclass(frozen=True)
class RouteInfo:
    """One method of one route as the app really serves it (router-level dependencies
    included): what it requires and what body it takes."""

    method: str
    path: str
    perms: frozenset[Perm]
    json_model: Any  # the pydantic model of a JSON body, or None
    form_fields: tuple[str, ...]  # names of form fields, for a form post
    in_schema: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def safe(self) -> bool:
        return self.method in ("GET", "HEAD", "OPTIONS")

    @property
    def params(self) -> list[str]:
        return re.findall(r"{([^}:]+)(?::[^}]*)?}", self.path)


def _route_contexts(app: FastAPI) -> list[tuple[Any, Any]]:
    """(original route, effective route) pairs. FastAPI ≥ 0.16x keeps included routers as
    lazy entries and builds each route's effective form on demand; older ones flatten."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # an older FastAPI: app.routes is already flat
        return [(r, r) for r in app.routes]
    return [(c.original_route, c) for c in iter_route_contexts(app.routes)]


def discover_routes(app: FastAPI) -> list[RouteInfo]:
    from fastapi import params as fastapi_params

    out = []
    for original, effective in _route_contexts(app):
        if not isinstance(original, APIRoute):
            continue
        dependant = effective.dependant
        body = list(dependant.body_params)
        forms = tuple(f.alias for f in body if isinstance(f.field_info, fastapi_params.Form))
        json_model = None
        if body and not forms:
            json_model = body[0].field_info.annotation if len(body) == 1 else None
        for method in sorted(effective.methods or ()):
            out.append(
                RouteInfo(
                    method,
                    effective.path,
                    requirements(dependant),
                    json_model,
                    forms,
                    bool(getattr(effective, "include_in_schema", True)),
                )
            )
    return out


def other_routes(app: FastAPI) -> list[str]:
    """Paths of whatever the app serves that is not an APIRoute (mounts, plain routes)."""
    return [
        getattr(effective, "path", repr(original))
        for original, effective in _route_contexts(app)
        if not isinstance(original, APIRoute)
    ]


# -- a real server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """The app on uvicorn, on 127.0.0.1 and a free port, in a thread with its own event loop
    (so Server-Sent Events really stream, and the test's own loop stays free)."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])),
            name="uvicorn-under-test",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive(), "the server thread died while starting"
            assert time.monotonic() < deadline, "the server did not start in 10 s"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def serving(app: FastAPI) -> Iterator[ServerThread]:
    with ServerThread(app) as server:
        yield server


# -- Server-Sent Events ------------------------------------------------------------------------


@dataclass
class SSEMessage:
    id: int | None
    event: str
    data: Any


async def sse_messages(response: httpx.Response) -> AsyncIterator[SSEMessage]:
    """Parse a text/event-stream body into messages (comments and `retry:` skipped)."""
    fields: dict[str, str] = {}
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data or fields:
                raw = "\n".join(data)
                yield SSEMessage(
                    int(fields["id"]) if fields.get("id", "").isdigit() else None,
                    fields.get("event", "message"),
                    json.loads(raw) if raw else None,
                )
            fields, data = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name in ("id", "event"):
            fields[name] = value
        # retry: and unknown fields are ignored, as browsers do


class SSEReader:
    """A background reader of one SSE connection: messages land in a queue the test takes
    from with a timeout."""

    def __init__(
        self, client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None
    ) -> None:
        self.client = client
        self.path = path
        self.headers = headers or {}
        self.queue: asyncio.Queue[SSEMessage] = asyncio.Queue()
        self.status: int | None = None
        self.content_type = ""
        self._task: asyncio.Task[None] | None = None
        self._opened = asyncio.Event()

    async def _run(self) -> None:
        async with self.client.stream("GET", self.path, headers=self.headers) as response:
            self.status = response.status_code
            self.content_type = response.headers.get("content-type", "")
            self._opened.set()
            if response.status_code != 200:
                return
            async for message in sse_messages(response):
                await self.queue.put(message)

    async def __aenter__(self) -> SSEReader:
        self._task = asyncio.create_task(self._run())
        opened = asyncio.create_task(self._opened.wait())
        await asyncio.wait({self._task, opened}, timeout=10, return_when="FIRST_COMPLETED")
        opened.cancel()
        if self._task.done() and not self._opened.is_set():
            self._task.result()
        assert self._opened.is_set(), "the stream did not answer in 10 s"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await self._task

    async def next(self, timeout: float = 5.0) -> SSEMessage:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def take(self, count: int, timeout: float = 10.0) -> list[SSEMessage]:
        """`count` messages, failing if they do not all arrive within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        out: list[SSEMessage] = []
        while len(out) < count:
            left = deadline - time.monotonic()
            try:
                out.append(await self.next(max(left, 0.001)))
            except TimeoutError:
                raise AssertionError(
                    f"got {len(out)} of {count} messages in {timeout} s: "
                    f"{[(m.id, m.event) for m in out][-5:]}"
                ) from None
        return out

    async def quiet(self, seconds: float) -> list[SSEMessage]:
        """Whatever arrives within `seconds` (to show nothing more comes)."""
        out: list[SSEMessage] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                out.append(await self.next(left))
            except TimeoutError:
                break
        return out


def stored_poll_ids(store: Store, stream_ids: Sequence[int]) -> list[int]:
    from jalsa.store.models import Poll

    with store.session() as session:
        return list(
            session.scalars(select(Poll.id).where(Poll.stream_id.in_(stream_ids)).order_by(Poll.id))
        )


# -- PostgreSQL ------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh database on the test server (JALSA_TEST_POSTGRES_URL), dropped afterwards."""
    import uuid

    import psycopg

    name = f"jalsa_web_{uuid.uuid4().hex[:12]}"
    admin = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- a whole site: store, team, event, app, server ----------------------------------------------


class WebClient:
    """One caller of the site: anonymous, logged in through the form (cookie + the session's
    CSRF token), or holding an API token."""

    def __init__(self, site: Site, member: Member | None = None, mode: str = "anonymous") -> None:
        self.site = site
        self.member = member
        self.mode = mode
        self.http = httpx.Client(base_url=site.url, follow_redirects=False, timeout=20)
        self.csrf: str | None = None
        self.cookie: str | None = None
        if mode == "token":
            assert member is not None
            self.http.headers["Authorization"] = f"Bearer {member.token}"
        elif mode == "cookie":
            assert member is not None
            self.cookie = login(self.http, member.username, member.password)
            self.csrf = csrf_of_session(site.store, self.cookie)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> WebClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def try_login(self, username: str, password: str, next: str = "/") -> httpx.Response:
        return post_login(self.http, username, password, next)

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        csrf: str | bool | None = True,
    ) -> httpx.Response:
        """A write. `csrf=True` sends the session's token the way the app's own pages and
        scripts do (a form field for forms, the X-CSRF-Token header for JSON); False sends
        none; a string sends that string."""
        token = self.csrf if csrf is True else (csrf or None)
        headers = {}
        if form is not None:
            data = dict(form)
            if token:
                data["csrf_token"] = token
            return self.http.request(method, path, data=data)
        if token:
            headers["X-CSRF-Token"] = token
        if json_body is None:
            return self.http.request(method, path, headers=headers)
        return self.http.request(method, path, json=json_body, headers=headers)


@dataclass
class Site:
    store: Store
    settings: Settings
    app: FastAPI
    server: ServerThread
    team: dict[str, Member]
    event: Seeded

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, role: str | None = None, mode: str = "cookie") -> WebClient:
        if role is None:
            return WebClient(self, None, "anonymous")
        return WebClient(self, self.team[role], mode)

    def agent(self, role: str = "volunteer", vantage: str = "lahore-1") -> WebClient:
        """A vantage agent: the role's member holding an agent token for `vantage`."""
        member = self.team[role]
        holder = dataclasses.replace(member, token=agent_token(self.store, member, vantage))
        return WebClient(self, holder, "token")

    def restart(self) -> None:
        """A fresh app instance on a new server (a server restart): nothing kept in memory."""
        from jalsa.web.app import create_app

        self.server.stop()
        self.app = create_app(self.store, self.settings)
        self.server = ServerThread(self.app).start()


@contextlib.contextmanager
def running_site(
    store: Store, tmp_path: Path, database_url: str, **overrides: Any
) -> Iterator[Site]:
    """`overrides`: settings of the app under test (e.g. an SMS gateway)."""
    from jalsa.web.app import create_app

    settings = web_settings(tmp_path, database_url, **overrides)
    team = make_team(store)
    event = seed_event(store)
    app = create_app(store, settings)
    server = ServerThread(app).start()
    site = Site(store, settings, app, server, team, event)
    try:
        yield site
    finally:
        site.server.stop()


# -- calling the app directly, to see the order of what it does -------------------------------


async def asgi_call(
    app: Any,
    method: str,
    path: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    on_send: Any = None,
    query: str = "",
    timeout: float = 10,
) -> list[dict[str, Any]]:
    """Run one request through the ASGI app by hand and return what it sent. `on_send` is
    called (synchronously) with every message as the app sends it, before the app goes on, so
    a test can look at the world at that moment. It may return True to end the call."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    request_sent = False
    finished = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if on_send is not None and on_send(message):
            finished.set()

    task = asyncio.create_task(app(scope, receive, send))
    waiter = asyncio.create_task(finished.wait())
    await asyncio.wait({task, waiter}, timeout=timeout, return_when="FIRST_COMPLETED")
    finished.set()
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    waiter.cancel()
    return sent
