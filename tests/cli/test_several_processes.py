"""What the README promises a team on PostgreSQL: `jalsa track` and two `jalsa serve` workers,
separate processes on one database, against the platform simulator. Both workers send the same
live messages; a dashboard resumes on the other worker with `Last-Event-ID`; `kill -9` of the
tracker and a restart store nothing twice; a credential entered under another secret key for
something the tracker does not poll does not stop it; the two workers print one first-admin
link, void once an admin exists; a worker without dashboards reads nothing; the live stream is
in the OpenAPI schema."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from webkit import SSEMessage, SSEReader, free_port, postgres_database

from jalsa.credentials import set_credential
from jalsa.sim import load_scenario
from jalsa.sim.runner import spawn_simulator
from jalsa.store import Poll, Store
from jalsa.store.models import Invitation
from jalsa.store.repo import add_stream, create_event
from jalsa.team import FIRST_ADMIN_NOTE, create_api_token, create_user
from jalsa.timeutil import utc_now
from jalsa.vault import Vault

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

POSTGRES_URL = os.environ.get("JALSA_TEST_POSTGRES_URL")
INTERVAL = "1"  # seconds between polls of each stream


def _jalsa(*args: str) -> list[str]:
    return [sys.executable, "-m", "jalsa.cli", *args]


@pytest.fixture
def database() -> Iterator[str]:
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must set JALSA_TEST_POSTGRES_URL (see .ci/run)")
        pytest.skip("JALSA_TEST_POSTGRES_URL is not set")
    with postgres_database(POSTGRES_URL) as url:
        yield url


class Processes:
    """Every process the test starts, ended (by its own id) at the end."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[str]] = []

    def start(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[str]:
        """Start `args`, its output (both streams) going to the file `log`."""
        with log.open("w") as out:
            proc = subprocess.Popen(args, env=env, text=True, stdout=out, stderr=subprocess.STDOUT)
        self.running.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.running:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    yield started
    started.close()


def _output(log: Path, until: str) -> str:
    """What a process wrote to `log`, once it has written `until`."""
    deadline = time.monotonic() + 30
    while until not in (text := log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, f"no {until!r} in 30 s: {text!r}"
        time.sleep(0.05)
    return text


async def _answering(base: str) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=base) as client:
        while True:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{base} did not answer in 30 s"
            await asyncio.sleep(0.1)


async def _polls(reader: SSEReader, count: int, timeout: float = 20) -> list[SSEMessage]:
    got = [m for m in await reader.take(count, timeout=timeout)]
    assert {m.event for m in got} == {"poll"}, [m.event for m in got]
    return got


async def _feed(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/feeds")
    assert response.status_code == 200, response.text
    (feed,) = response.json()
    return dict(feed)


async def test_tracker_and_two_workers_on_one_database(
    database: str, processes: Processes, tmp_path: Path
) -> None:
    store = Store(database)
    scenario = load_scenario(None)
    with store.session() as session:
        event = create_event(
            session,
            name="Rally",
            starts_at=utc_now() - timedelta(minutes=30),
            duration=timedelta(hours=3),
            timezone="Asia/Karachi",
            hashtags=["#Jalsa"],
            slug="rally",
        )
        for platform in ("youtube", "facebook", "x_space"):
            add_stream(
                session, event, kind=platform, external_id=scenario.streams_of(platform)[0].id
            )
    web_key = Fernet.generate_key().decode()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("JALSA_")} | {
        "JALSA_DATABASE_URL": database,
        "JALSA_CONFIG": str(tmp_path / "absent.toml"),
        "JALSA_SECRET_KEY": web_key,  # shared by every process, as the README says
        "PYTHONUNBUFFERED": "1",
    }
    # Credentials: the YouTube key as the web app stores it (with the shared key), and one for
    # something the tracker does not poll, entered where another key was used.
    with store.session() as session:
        set_credential(session, Vault(web_key.encode()), "youtube_api_key", "sim-key", None)
        elsewhere = Vault(Fernet.generate_key())
        set_credential(session, elsewhere, "instagram_access_token", "another-event", None)

    # Two workers start together on the empty database, and the simulator meanwhile.
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    for i, port in enumerate(ports):
        processes.start(
            _jalsa("serve", "--host", "127.0.0.1", "--port", str(port)),
            base_env | {"JALSA_DATA_DIR": str(tmp_path / f"worker{i}")},
            logs[i],
        )
    sim, sim_urls = spawn_simulator("--at-minute", "30")
    processes.running.append(sim)

    # The tracker: its YouTube key comes from the store, Instagram it does not poll.
    tracker_env = (
        base_env
        | sim_urls
        | {
            "JALSA_DATA_DIR": str(tmp_path / "tracker"),
            "JALSA_FACEBOOK_ACCESS_TOKEN": "t",
            "JALSA_X_BEARER_TOKEN": "t",
            "JALSA_YOUTUBE_INTERVAL": INTERVAL,
            "JALSA_FACEBOOK_INTERVAL": INTERVAL,
            "JALSA_X_SPACE_INTERVAL": INTERVAL,
        }
    )
    tracker_log = tmp_path / "tracker.log"
    tracker = processes.start(_jalsa("track", "rally", "--minutes", "5"), tracker_env, tracker_log)

    # -- one first-admin link, void once an admin exists ---------------------------------------
    printed = [_output(log, "jalsa is serving") for log in logs]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    await asyncio.gather(*(_answering(base) for base in bases))
    links = [line.strip() for text in printed for line in text.splitlines() if "/invite/" in line]
    assert len(links) == 1, printed
    assert sum("already printed by another worker" in text for text in printed) == 1, printed
    with store.session() as session:
        count = session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.note == FIRST_ADMIN_NOTE)
        )
        assert count == 1
        # an admin is made (as `jalsa user create` does): the link is void on either worker
        admin = create_user(session, username="admin", password="a long password", role="admin")
        _, token = create_api_token(session, admin, "test")
    path = "/invite/" + links[0].rsplit("/invite/", 1)[1]
    for base in bases:
        void = httpx.get(base + path)
        assert void.status_code == 410 and "void" in void.text, (base, void.status_code)
    auth = {"Authorization": f"Bearer {token}"}

    clients = [httpx.AsyncClient(base_url=base, headers=auth, timeout=30) for base in bases]
    try:
        a, b = clients
        stream = "/api/events/rally/stream"
        # -- both workers send the same messages ------------------------------------------
        async with SSEReader(a, stream) as on_a, SSEReader(b, stream) as on_b:
            snapshots = [await on_a.next(), await on_b.next()]
            assert [s.event for s in snapshots] == ["snapshot", "snapshot"]
            first_a = await _polls(on_a, 9, timeout=30)  # the tracker may still be starting
            assert tracker.poll() is None, tracker_log.read_text()
            first_b = await _polls(on_b, 9)
            after = max(s.id or 0 for s in snapshots)
            seen_a = {m.id: m.data for m in first_a if (m.id or 0) > after}
            seen_b = {m.id: m.data for m in first_b if (m.id or 0) > after}
            common = sorted(set(seen_a) & set(seen_b))
            assert len(common) >= 4, (list(seen_a), list(seen_b))
            assert all(seen_a[i] == seen_b[i] for i in common)
            # YouTube is polled with the key entered in the web app
            youtube = [m.data["stream"] for m in first_a if m.data["stream"]["kind"] == "youtube"]
            assert any(s["status"] == "ok" for s in youtube), youtube

            # -- a dashboard of worker A resumes on worker B with Last-Event-ID -----------
            resume_at = first_a[-1].id
            assert resume_at is not None
            await asyncio.sleep(2)  # polls stored while it is away
            headers = {"Last-Event-ID": str(resume_at)}
            async with SSEReader(b, stream, headers=headers) as resumed:
                got = await _polls(resumed, 8)
            truth = [m for m in first_b if (m.id or 0) > resume_at]
            truth += await _polls(on_b, 8 - len(truth)) if len(truth) < 8 else []
            assert [(m.id, m.data) for m in got] == [(m.id, m.data) for m in truth[:8]]

        # -- with no dashboard left, worker B reads nothing; worker A is woken by NOTIFY ------
        async with SSEReader(a, stream) as watching:
            await watching.next()
            idle = await _feed(b)
            deadline = time.monotonic() + 10
            while idle["following"]:
                assert time.monotonic() < deadline, idle
                await asyncio.sleep(0.1)
                idle = await _feed(b)
            await asyncio.sleep(2)  # the tracker goes on storing meanwhile
            later = await _feed(b)
            assert later["store_reads"] == idle["store_reads"], (idle, later)
            assert later["wake"] == "idle" and later["listeners"] == 0
            following = await _feed(a)
            assert following["wake"] == "notify" and following["listeners"] == 1, following

            # -- kill -9 of the tracker and a restart: nothing stored twice, nothing lost -
            before_kill = await _polls(watching, 3)
            tracker.send_signal(signal.SIGKILL)
            tracker.wait(10)
            seen = before_kill + await watching.quiet(1.5)  # what was stored before the kill
            again_log = tmp_path / "tracker-again.log"
            restarted = processes.start(
                _jalsa("track", "rally", "--minutes", "5"), tracker_env, again_log
            )
            seen += await _polls(watching, 6)
            restarted.send_signal(signal.SIGTERM)
            assert restarted.wait(15) == 0, again_log.read_text()
            seen += await watching.quiet(0.5)
        ids = [m.id for m in seen]
        assert ids == sorted(set(ids)), ids  # each poll once, in order
        with store.session() as session:
            keys = session.execute(select(Poll.stream_id, Poll.scheduled_at)).all()
            stored = list(
                session.scalars(
                    select(Poll.id).where(Poll.id >= ids[0], Poll.id <= ids[-1]).order_by(Poll.id)
                )
            )
        assert len(keys) == len(set(keys))
        assert ids == stored  # the dashboard got every stored poll, across the restart

        # -- the live stream is in the schema, as Server-Sent Events ----------------------
        schema = (await a.get("/api/openapi.json")).json()
        sse = schema["paths"]["/api/events/{slug}/stream"]["get"]["responses"]["200"]
        assert list(sse["content"]) == ["text/event-stream"]
    finally:
        for client in clients:
            await client.aclose()
        store.dispose()
