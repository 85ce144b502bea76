"""Benchmark: live dashboard fan-out. One event with 20 streams, a writer storing a poll per
stream every 5 s (what the tracker does), and 100 concurrent SSE clients on a real
`jalsa serve` process. Measures the delay from a poll being committed to the store to each
client receiving it (p50/p99/max), and the server's resident memory over the run.

Usage:
  python benchmarks/sse_fanout.py --clients 100 --streams 20 --minutes 3
  python benchmarks/sse_fanout.py --minutes 30 --json sse-30min.json
Results are written down in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from jalsa.store import Poll, Store
from jalsa.store.repo import PollRecord, add_stream, create_event, write_polls
from jalsa.team import create_api_token, create_user


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def seed(store: Store, streams: int) -> tuple[list[int], str]:
    with store.session() as s:
        event = create_event(
            s,
            name="bench",
            starts_at=datetime.now(UTC) - timedelta(minutes=10),
            duration=timedelta(hours=4),
            timezone="Asia/Karachi",
            slug="bench",
        )
        kinds = ["youtube", "facebook", "x_space", "instagram"]
        ids = [
            add_stream(s, event, kind=kinds[i % 4], external_id=f"bench{i:05d}").id
            for i in range(streams)
        ]
        user = create_user(s, username="bench", password="bench-password", role="viewer")
        _, token = create_api_token(s, user, "bench")
    return ids, token


def store_poll(store: Store, record: PollRecord) -> int:
    """Write one poll as the tracker does and return its id once committed."""
    with store.session() as s:
        write_polls(s, [record])
        poll_id = s.scalar(
            select(Poll.id).where(
                Poll.stream_id == record.stream_id, Poll.scheduled_at == record.scheduled_at
            )
        )
    return int(poll_id or 0)


async def writer(
    store: Store, ids: list[int], interval: float, stop: asyncio.Event, committed: dict[int, float]
) -> None:
    """Store one poll per stream every `interval` seconds, spread over the interval, and note
    when each poll id was committed."""
    metric = {
        0: "youtube.concurrent_viewers",
        1: "facebook.live_views",
        2: "x_space.participant_count",
        3: "instagram.live_media",
    }
    step = interval / len(ids)
    n = 0
    while not stop.is_set():
        sid = ids[n % len(ids)]
        now = datetime.now(UTC).replace(microsecond=(datetime.now(UTC).microsecond // 1000) * 1000)
        record = PollRecord(
            sid,
            now,
            now,
            "ok",
            "",
            200,
            1,
            1,
            0,
            0.0,
            ((metric[(sid - ids[0]) % 4], now, 1000 + n),),
        )

        poll_id = await asyncio.to_thread(store_poll, store, record)
        committed[poll_id] = time.monotonic()
        n += 1
        await asyncio.sleep(step)


async def client(
    url: str,
    token: str,
    delays: list[float],
    committed: dict[int, float],
    stop: asyncio.Event,
    seen: Seen,
) -> None:
    """Read the stream; note the snapshot's number (polls up to it are in the snapshot, not
    sent as messages) and every poll message."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    async with (
        httpx.AsyncClient(timeout=None) as http,
        http.stream("GET", url, headers=headers) as response,
    ):
        response.raise_for_status()
        event_id = None
        async for line in response.aiter_lines():
            if stop.is_set():
                return
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("event: snapshot") and event_id is not None:
                seen.snapshot = event_id
            elif line.startswith("event: poll") and event_id is not None:
                at = committed.get(event_id)
                if at is not None:
                    delays.append(time.monotonic() - at)
                seen.polls.append(event_id)


@dataclass
class Seen:
    snapshot: int = 0
    polls: list[int] = field(default_factory=list)

    def check(self, committed: dict[int, float]) -> tuple[int, int, int]:
        """(expected, missing, duplicated): every poll committed after the snapshot must
        arrive exactly once."""
        expected = {poll for poll in committed if poll > self.snapshot}
        got = set(self.polls)
        return len(expected), len(expected - got), len(self.polls) - len(got)


async def run(args: argparse.Namespace) -> dict[str, object]:
    folder = tempfile.mkdtemp(prefix="jalsa-sse-")
    url_db = f"sqlite:///{folder}/bench.db"
    store = Store(url_db)
    ids, token = seed(store, args.streams)
    port = free_port()
    env = {**os.environ, "JALSA_DATABASE_URL": url_db, "JALSA_DATA_DIR": folder}
    server = subprocess.Popen(
        [sys.executable, "-m", "jalsa.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(Path(folder) / "server.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    if (await http.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        stop = asyncio.Event()
        committed: dict[int, float] = {}
        delays: list[float] = []
        seen = [Seen() for _ in range(args.clients)]
        stream_url = f"{base}/api/events/bench/stream"
        clients = [
            asyncio.create_task(client(stream_url, token, delays, committed, stop, one))
            for one in seen
        ]
        await asyncio.sleep(2)
        stop_writing = asyncio.Event()
        write_task = asyncio.create_task(writer(store, ids, args.interval, stop_writing, committed))
        memory: list[tuple[float, float]] = []
        start = time.monotonic()
        end = start + args.minutes * 60
        while time.monotonic() < end:
            memory.append((time.monotonic() - start, rss_mb(server.pid)))
            await asyncio.sleep(min(args.memory_every, max(0.0, end - time.monotonic())))
        memory.append((time.monotonic() - start, rss_mb(server.pid)))
        stop_writing.set()
        await asyncio.sleep(3)  # let the last polls reach every client
        stop.set()
        for task in [*clients, write_task]:
            task.cancel()
        outcomes = await asyncio.gather(*clients, write_task, return_exceptions=True)
        failures = [o for o in outcomes if not isinstance(o, asyncio.CancelledError | None)]
        if failures:
            raise RuntimeError(f"{len(failures)} clients or the writer failed: {failures[0]!r}")
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        store.dispose()
    delays.sort()
    polls = len(committed)
    if not delays:
        raise SystemExit(f"no poll reached a client ({polls} stored)")
    checks = [one.check(committed) for one in seen]
    half = memory[len(memory) // 2 :]
    warm = next((m for t, m in memory if t >= args.warmup * 60), memory[-1][1])
    return {
        "clients": args.clients,
        "streams": args.streams,
        "interval_s": args.interval,
        "minutes": args.minutes,
        "polls_stored": polls,
        "messages_received": sum(len(one.polls) for one in seen),
        "expected_messages": sum(c[0] for c in checks),
        "missing_messages": sum(c[1] for c in checks),
        "duplicate_messages": sum(c[2] for c in checks),
        "delay_ms": {
            "p50": round(1000 * delays[len(delays) // 2], 1),
            "p99": round(1000 * delays[int(len(delays) * 0.99)], 1),
            "max": round(1000 * delays[-1], 1),
        },
        "server_rss_mb": {
            "first": round(memory[0][1], 1),
            f"after_{args.warmup:g}_min": round(warm, 1),
            "max_after_warmup": round(
                max((m for t, m in memory if t >= args.warmup * 60), default=warm), 1
            ),
            "last": round(memory[-1][1], 1),
            "slope_second_half_mb_per_hour": round(
                statistics.linear_regression([t for t, _ in half], [m for _, m in half]).slope
                * 3600,
                2,
            ),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--memory-every", type=float, default=10.0)
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="minutes until the feed's history is full"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
