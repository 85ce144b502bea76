"""Benchmark: hostile and random requests against a running `jalsa serve` (issue 17).

A fresh data directory gets a team (admin, coordinator, moderator, volunteer, each with an API
token and a browser session) and an event; `jalsa serve` runs as its own process on loopback.
Two rounds of `--requests` requests each (default 10,000) then come from anonymous callers and
from the volunteer, the moderator and the coordinator, by token and by cookie:

- every route of the OpenAPI schema and the pages, with hostile path values (`¹`, `01`, 5,000
  characters, `%00`, `../`, right-to-left marks), hostile query strings, and bodies that are
  random JSON, malformed JSON, JSON with lone surrogates, JSON nested 50,000 deep, 900 KB strings,
  forms, or the wrong content type;
- login attempts with 1 MB usernames, bodies over the limit (declared, and chunked with no
  length), bogus tokens and cookies.

Figures (targets from the issue):
- the server's RSS after each round against its RSS after warm-up: at most 50 MB above, and flat
  over the second round;
- responses 5xx: 0;
- rows lost or changed by a refused request: 0 (every write is done alone, with the database
  fingerprinted before and after; the audit log, sessions and the token's last-used time are left
  out, as a refused login rightly writes "login.failed");
- body bytes the app pulled from uvicorn for a 20 MB chunked body to an 8 MiB route (the app on
  uvicorn in this process, counted by an outermost ASGI wrapper): at most the limit plus one
  read buffer (asyncio reads 256 KiB at a time; uvicorn pauses reading while 64 KiB wait).

Usage:
  python benchmarks/abuse.py --requests 10000 --json benchmarks/results/abuse.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "web"))

from webkit import (  # noqa: E402  (the tests' own team, event and server)
    ServerThread,
    csrf_in_page,
    make_member,
    post_login,
    seed_event,
    web_settings,
)

from jalsa.store import Store  # noqa: E402
from jalsa.web.app import create_app  # noqa: E402
from jalsa.web.limits import MIB  # noqa: E402

ROLES = ("volunteer", "moderator", "coordinator")
READ_BUFFER = 256 * 1024  # what asyncio reads from a socket at a time, and uvicorn hands on
LEFT_OUT = {"audit_log", "web_sessions", "alembic_version"}
VOLATILE = {"last_used_at", "last_login_at"}
HOSTILE_IDS = [
    "1", "01", "001", "¹", "٣", "0", "-1", "99999999999999999999999", "rally", "x" * 5000,
    "%00", "..%2f..%2fetc%2fpasswd", "\u202eevil", "🙂", "' OR 1=1 --", "<script>", "null",
]  # fmt: skip
HOSTILE_QUERY = ["", "limit=-1", "limit=99999999999", "since=yesterday", "vantage=" + "v" * 3000,
                 "event=%00", "status=../../", "page=¹", "q=%F0%28%8C%BC"]  # fmt: skip
PAGES = ["/", "/events/rally", "/events/rally/report", "/inbox", "/sms", "/tokens", "/team",
         "/credentials", "/audit", "/incidents", "/metrics", "/events/new"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fingerprint(db: Path) -> str:
    """A hash of every row the app keeps, less what a refused request may rightly touch."""
    digest = hashlib.sha256()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in sorted(set(tables) - LEFT_OUT):
            columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            kept = [c for c in columns if c not in VOLATILE]
            select = ", ".join(f'"{c}"' for c in kept)
            for row in conn.execute(f'SELECT {select} FROM "{table}" ORDER BY 1'):
                digest.update(repr((table, row)).encode())
    return digest.hexdigest()


# -- hostile requests ---------------------------------------------------------------------------


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return rng.choice([None, True, False, 0, -1, 2**70, 1e308, float("nan")])
    if kind == 1:
        return rng.choice(HOSTILE_IDS)
    if kind == 2:
        return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(40)))
    if kind == 3:
        return rng.randrange(-(10**6), 10**6)
    if kind == 4:
        return rng.choice(["#Jalsa", "2026-12-17T20:00:00+05:00", "youtube", "hide", "ur"])
    if kind in (5, 6):
        keys = ["name", "slug", "starts_at", "duration", "kind", "external_id", "text", "action",
                "measurements", "targets", "segment", "template", "role", "active", "scope",
                "vantage", "hashtags", "reason", "value", rng.choice(HOSTILE_IDS)]  # fmt: skip
        return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(6))}
    return [random_json(rng, depth + 1) for _ in range(rng.randrange(5))]


def body_for(rng: random.Random) -> tuple[bytes, str]:
    choice = rng.randrange(10)
    if choice < 4:
        return json.dumps(random_json(rng)).encode(), "application/json"
    if choice == 4:
        return b'{"name": "\\ud800", "text": "\\udfff x"}', "application/json"
    if choice == 5:
        return b"[" * 50_000 + b"]" * 50_000, "application/json"
    if choice == 6:
        return b'{"name": ' + json.dumps("a" * 900_000).encode() + b"}", "application/json"
    if choice == 7:
        return b'{"name": "unterminated', "application/json"
    if choice == 8:
        return b"name=%00&text=%F0%28&csrf_token=wrong&active=maybe", (
            "application/x-www-form-urlencoded"
        )
    return os.urandom(rng.randrange(1, 2000)), rng.choice(["text/plain", "image/png", ""])


class Caller:
    def __init__(self, base: str, label: str, token: str | None = None) -> None:
        self.label = label
        self.http = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
        self.csrf: str | None = None
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def login(self, username: str, password: str) -> None:
        response = post_login(self.http, username, password)
        assert response.status_code == 303, response.status_code
        self.csrf = csrf_in_page(self.http.get("/").text)


def fill(path: str, rng: random.Random) -> str:
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        value = rng.choice([*HOSTILE_IDS, "rally", "1", "2"])
        path = path[:start] + value + path[end + 1 :]
    if rng.random() < 0.3:
        path += "?" + rng.choice(HOSTILE_QUERY)
    return path


def one_request(
    rng: random.Random, caller: Caller, routes: list[tuple[str, str]]
) -> tuple[str, str, dict[str, Any]]:
    """(method, path, httpx keyword arguments) for one hostile request."""
    kind = rng.random()
    if kind < 0.1:
        name = rng.choice(["coordinator", "admin", os.urandom(8).hex() * 65536])
        data = {"username": name, "password": "guess", "csrf_token": "x"}
        return "POST", "/login", {"data": data}
    if kind < 0.15:
        size = rng.choice([2 * MIB, 9 * MIB])
        headers = {"content-type": "application/json"}
        return (
            "POST",
            rng.choice(["/api/events", "/api/watch/measurements"]),
            {
                "content": b"[" * size,
                "headers": headers,
            },
        )
    if kind < 0.2:
        return (
            "GET",
            rng.choice(PAGES),
            {"headers": {"cookie": "jalsa_session=" + "A" * rng.randrange(10, 4000)}},
        )
    method, path = rng.choice(routes)
    if rng.random() < 0.1:
        method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
    kwargs: dict[str, Any] = {}
    if method not in ("GET", "HEAD"):
        content, kind_header = body_for(rng)
        headers = {"content-type": kind_header} if kind_header else {}
        if caller.csrf and rng.random() < 0.7:
            headers["x-csrf-token"] = caller.csrf
        kwargs = {"content": content, "headers": headers}
    return method, fill(path, rng), kwargs


def run_round(
    rng: random.Random,
    callers: list[Caller],
    routes: list[tuple[str, str]],
    count: int,
    db: Path,
) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    server_errors: list[str] = []
    changed_by_refused: list[str] = []
    started = time.monotonic()
    for _ in range(count):
        caller = rng.choice(callers)
        method, path, kwargs = one_request(rng, caller, routes)
        write = method not in ("GET", "HEAD", "OPTIONS")
        before = fingerprint(db) if write else ""
        try:
            if path.split("?")[0].endswith("/stream"):  # Server-Sent Events never end:
                with caller.http.stream(method, path, **kwargs) as response:  # the head only
                    status = response.status_code
            else:
                status = caller.http.request(method, path, **kwargs).status_code
        except httpx.HTTPError as exc:
            statuses[f"error {type(exc).__name__}"] += 1
            continue
        statuses[f"{status // 100}xx"] += 1
        if status >= 500:
            server_errors.append(f"{caller.label} {method} {path[:80]} -> {status}")
        if write and status >= 400 and fingerprint(db) != before:
            changed_by_refused.append(f"{caller.label} {method} {path[:80]} -> {status}")
    return {
        "requests": count,
        "seconds": round(time.monotonic() - started, 1),
        "statuses": dict(statuses),
        "server_errors": server_errors[:20],
        "server_error_count": len(server_errors),
        "changed_by_refused": changed_by_refused[:20],
        "changed_by_refused_count": len(changed_by_refused),
    }


def oversized_read(tmp: Path, limit: int, total: int) -> dict[str, Any]:
    """Send `total` bytes chunked (no length) to an `limit` route of the app on uvicorn in this
    process, with an outermost ASGI wrapper counting the body bytes the app pulled from uvicorn
    (uvicorn itself stops reading the socket once 64 KiB wait unread)."""
    url = f"sqlite:///{tmp / 'limit.db'}"
    store = Store(url)
    app = create_app(store, web_settings(tmp / "limit", url))
    pulled = [0]

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                pulled[0] += len(message.get("body", b""))
            return message

        await app(scope, counted, send)

    server = ServerThread(counting).start()  # type: ignore[arg-type]
    chunk = b"[" * 65536
    sent = 0
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(
                b"POST /api/watch/measurements HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            sock.settimeout(10)
            try:
                while sent < total:
                    sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                    sent += len(chunk)
            except OSError:
                pass  # the server answered and closed
            try:
                answer = sock.recv(200).split(b"\r\n", 1)[0].decode()
            except OSError:
                answer = "(no answer)"
    finally:
        server.stop()
        store.dispose()
    return {
        "limit": limit,
        "offered": total,
        "sent_before_close": sent,
        "app_pulled": pulled[0],
        "answer": answer,
        "read_buffer": READ_BUFFER,
        "within_limit_plus_one_buffer": pulled[0] <= limit + READ_BUFFER,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="jalsa-abuse-"))
    db = tmp / "jalsa.db"
    url = f"sqlite:///{db}"
    store = Store(url)
    team = {role: make_member(store, role, username=role) for role in ("admin", *ROLES)}
    seed_event(store)
    store.dispose()
    port = free_port()
    env = {**os.environ, "JALSA_DATA_DIR": str(tmp), "JALSA_DATABASE_URL": url,
           "JALSA_CONFIG": str(tmp / "absent.toml")}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "jalsa.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "server.log", "wb"),  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"jalsa serve did not start: see {tmp / 'server.log'}")
            time.sleep(0.3)
        admin = Caller(base, "admin", team["admin"].token)
        schema = admin.http.get("/api/openapi.json").json()
        routes = [
            (method.upper(), path)
            for path, item in schema["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        ] + [("GET", page) for page in PAGES]
        callers = [Caller(base, "anonymous")]
        for role in ROLES:
            callers.append(Caller(base, f"{role} token", team[role].token))
            browser = Caller(base, f"{role} cookie")
            browser.login(role, team[role].password)
            callers.append(browser)
        run_round(random.Random(1), callers, routes, 300, db)  # warm-up
        rss = {"after_warm_up": rss_mb(server.pid)}
        rounds = []
        for label in ("first", "second"):
            rounds.append(run_round(rng, callers, routes, args.requests, db))
            rss[f"after_{label}_round"] = rss_mb(server.pid)
        over = oversized_read(tmp, 8 * MIB, 20 * MIB)
    finally:
        server.terminate()
        server.wait(timeout=30)
    grew = rss["after_first_round"] - rss["after_warm_up"]
    drift = rss["after_second_round"] - rss["after_first_round"]
    result = {
        "requests_per_round": args.requests,
        "callers": [c.label for c in callers],
        "routes": len(routes),
        "rss_mb": {k: round(v, 1) for k, v in rss.items()},
        "rss_growth_mb": round(grew, 1),
        "rss_second_round_mb": round(drift, 1),
        "rounds": rounds,
        "oversized_body": over,
        "targets_met": {
            "rss_at_most_50_mb_above_start": grew <= 50,
            "rss_flat_over_second_round": drift <= 10,
            "no_5xx": all(r["server_error_count"] == 0 for r in rounds),
            "refused_changed_nothing": all(r["changed_by_refused_count"] == 0 for r in rounds),
            "over_limit_read_at_most_limit_plus_buffer": over["within_limit_plus_one_buffer"],
        },
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
