"""The vantage agent: the outbox keeps every measurement until the server confirmed it, whole
rounds go up oldest first, a lost answer or a server that goes away loses and duplicates
nothing, and neither does kill -9 at any moment. The integration tests run the real agent
against the real app on uvicorn on loopback, probing a real HTTPS site on loopback."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from webkit import agent_token, make_team, web_settings

from jalsa.store import Store
from jalsa.store.models import WatchMeasurement
from jalsa.watch.agent import OUTBOX_FILE, Agent, Baselines, Outbox, probe_config
from jalsa.watch.probe import ProbeConfig
from jalsa.watch.record import (
    Measurement,
    Observations,
    ThroughputObservation,
    Vantage,
    Verdict,
)
from jalsa.web.app import create_app
from jalsa.web.services import app_services
from watch.servers import AppServer, probe_settings, targets_toml, tls_site

T0 = datetime(2023, 12, 17, 14, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def measurement(
    minute: int, host: str = "x.com", method: str = "ok", rate_bytes: int = 0
) -> Measurement:
    at = T0 + timedelta(minutes=minute)
    throughput = (
        ThroughputObservation(url=f"https://{host}/", bytes=rate_bytes, seconds=1.0)
        if rate_bytes
        else None
    )
    return Measurement(
        id=uuid.uuid4().hex,
        target=host,
        platform="x",
        vantage=Vantage(name="lahore-1", city="Lahore", network="PTCL"),
        round_at=at,
        started_at=at,
        finished_at=at,
        observations=Observations(throughput=throughput),
        verdict=Verdict(method=method, reason="test"),
    )


# -- the outbox and the baseline ---------------------------------------------------------------


def test_the_outbox_gives_whole_rounds_oldest_first_and_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_FILE
    outbox = Outbox(path)
    rounds = [
        [measurement(m, h) for h in ("x.com", "twitter.com", "abs.twimg.com")] for m in range(4)
    ]
    for r in reversed(rounds):  # stored out of order: read back in round order
        outbox.add(r)
    outbox.add(rounds[0])  # the same ids again: nothing new
    assert outbox.count_pending() == 12
    batch = outbox.pending(limit=7)  # two whole rounds (6), not 7 that would split the third
    assert [m.id for m in batch] == [m.id for m in rounds[0] + rounds[1]]
    assert [m.id for m in outbox.pending(limit=2)] == [m.id for m in rounds[0]]  # at least one
    outbox.mark_uploaded([m.id for m in batch])
    outbox.mark_rejected(rounds[2][0].id, "bad")
    outbox.close()
    reopened = Outbox(path)
    assert [m.id for m in reopened.pending()] == [m.id for m in rounds[2][1:] + rounds[3]]
    assert reopened.prune(now=T0 + timedelta(days=8)) == 6  # uploaded and old: forgotten
    assert reopened.count_pending() == 5


def test_the_baseline_is_the_median_of_recent_successful_transfers() -> None:
    baselines = Baselines("lahore-1", samples=5)
    baselines.add([measurement(0, rate_bytes=1000), measurement(1, rate_bytes=3000)])
    assert baselines.reference("x.com") is None  # too few yet
    baselines.add([measurement(2, rate_bytes=2000), measurement(3, "throttled", rate_bytes=10)])
    reference = baselines.reference("x.com")
    assert reference is not None and reference.bits_per_second == 2000 * 8
    assert "lahore-1" in reference.source
    baselines.add([measurement(m, rate_bytes=9000) for m in range(4, 9)])
    assert baselines.references(["x.com", "other"])["x.com"].bits_per_second == 9000 * 8


# -- against the real app --------------------------------------------------------------------


class Server:
    """The app on a fixed loopback port, its store, a volunteer's token."""

    def __init__(self, tmp_path: Path, ca: Path) -> None:
        self.url_db = f"sqlite:///{tmp_path / 'jalsa.db'}"
        self.store = Store(self.url_db)
        self.settings = web_settings(tmp_path, self.url_db, watch_control_private=True)
        self.volunteer = make_team(self.store)["volunteer"]
        self.token = agent_token(self.store, self.volunteer, "lahore-1")
        self.ca = ca
        self.http = AppServer()

    def start(self) -> None:
        app = create_app(self.store, self.settings)  # a new process, as far as memory goes
        app_services(app).watch.probe_config = ProbeConfig.model_validate(probe_settings(self.ca))
        self.http.start(app)

    def stop(self) -> None:
        self.http.stop()

    def ids(self, vantage: str) -> list[str]:
        with self.store.session() as session:
            return list(
                session.scalars(
                    select(WatchMeasurement.id).where(WatchMeasurement.vantage == vantage)
                )
            )

    def rows(self) -> int:
        with self.store.session() as session:
            return int(session.scalar(select(func.count()).select_from(WatchMeasurement)) or 0)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Server, int, Path]]:
    with tls_site(tmp_path / "tls") as (port, ca):
        server = Server(tmp_path, ca)
        try:
            yield server, port, ca
        finally:
            server.stop()
            server.store.dispose()


def outbox_ids(path: Path) -> tuple[set[str], set[str]]:
    """(every id, the ids still pending) in an agent's outbox, read beside the agent."""
    db = sqlite3.connect(path, timeout=30)
    try:
        every = {r[0] for r in db.execute("SELECT id FROM outbox")}
        pending = {r[0] for r in db.execute("SELECT id FROM outbox WHERE uploaded_at IS NULL")}
    finally:
        db.close()
    return every, pending


@pytest.mark.integration
async def test_a_server_that_goes_away_loses_nothing(
    site: tuple[Server, int, Path], tmp_path: Path
) -> None:
    server, port, ca = site
    targets_file = tmp_path / "targets.toml"
    targets_file.write_text(targets_toml(port, ca))
    from jalsa.watch.agent import load_targets

    targets, settings = load_targets(targets_file)
    outbox = Outbox(tmp_path / "agent" / OUTBOX_FILE)
    agent = Agent(
        server=f"http://127.0.0.1:{server.http.port}",
        token=server.token,
        vantage=Vantage(name="lahore-1", city="Lahore", network="PTCL"),
        outbox=outbox,
        targets=targets,
        probe=probe_config(settings),
        every=1.0,
        control_timeout=5.0,
    )
    server.start()
    await agent.run(rounds=2)
    assert outbox.count_pending() == 0 and len(server.ids("lahore-1")) == 4
    first = await agent.round(datetime.now(UTC))
    assert first.control  # the server observed localhost for us
    loopback = next(m for m in first.measurements if m.target == "localhost")
    assert loopback.control is not None and loopback.verdict.control == "measured"
    assert loopback.observations.tls and loopback.observations.tls[0].cert_valid

    server.stop()  # the server goes away: rounds go on, into the outbox
    await agent.run(rounds=3)
    report = await agent.round(datetime.now(UTC))
    assert not report.control and report.problem and "unreachable" in report.problem
    assert outbox.count_pending() == 8
    assert len(server.ids("lahore-1")) == 6

    server.start()  # back: the backlog goes up, oldest first, with the new round
    await agent.run(rounds=1)
    every, pending = outbox_ids(outbox.path)
    stored = server.ids("lahore-1")
    assert not pending
    assert sorted(stored) == sorted(every) and len(stored) == len(set(stored)) == 16
    await agent.close()
    outbox.close()


class DropAnswers(httpx.AsyncBaseTransport):
    """Delivers requests to the app but loses the answer to the first `drop` uploads, as a
    cut in the network would after the server stored the batch."""

    def __init__(self, app: Any, drop: int) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.drop = drop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path == "/api/watch/measurements" and self.drop > 0:
            self.drop -= 1
            await response.aread()
            raise httpx.ReadError("connection reset after the server answered")
        return response


async def test_a_lost_answer_is_sent_again_and_stored_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jalsa.db'}"
    store = Store(url)
    token = agent_token(store, make_team(store)["volunteer"], "lahore-1")
    app = create_app(store, web_settings(tmp_path, url))
    outbox = Outbox(tmp_path / OUTBOX_FILE)
    outbox.add([measurement(0, h) for h in ("x.com", "twitter.com")])
    client = httpx.AsyncClient(
        transport=DropAnswers(app, drop=1),
        base_url="http://jalsa",
        headers={"Authorization": f"Bearer {token}"},
    )
    agent = Agent(
        server="http://jalsa",
        token=token,
        vantage=Vantage(name="lahore-1"),
        outbox=outbox,
        probe=probe_config({"resolvers": ["system"]}),
        client=client,
    )
    with pytest.raises(Exception, match="unreachable"):
        await agent.upload_pending()
    assert outbox.count_pending() == 2  # not confirmed: still pending
    assert await agent.upload_pending() == 2  # sent again: the server says "duplicate"
    assert outbox.count_pending() == 0
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(WatchMeasurement)) == 2
    await client.aclose()
    outbox.close()
    store.dispose()


# -- kill -9 -----------------------------------------------------------------------------------


def agent_process(
    server: Server, targets: Path, data: Path, *extra: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "JALSA_CONFIG": str(data / "absent.toml"),
        "JALSA_DATA_DIR": str(data),
        "NO_COLOR": "1",
    }
    token = agent_token(server.store, server.volunteer, "karachi-1")
    return subprocess.Popen(
        [
            sys.executable, "-m", "jalsa.cli", "watch", "agent",
            "--server", f"http://127.0.0.1:{server.http.port}", "--token", token,
            "--name", "karachi-1", "--city", "Karachi", "--network", "Jazz",
            "--every", "1", "--targets", str(targets), "--data-dir", str(data / "agent"),
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )  # fmt: skip


def wait_for(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not reached in {timeout} s")


def kill9(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate(timeout=10)
    return out.decode(errors="replace")


@pytest.mark.integration
def test_kill_9_at_any_moment_loses_and_duplicates_nothing(
    site: tuple[Server, int, Path], tmp_path: Path
) -> None:
    server, port, ca = site
    targets = tmp_path / "targets.toml"
    targets.write_text(targets_toml(port, ca))
    data = tmp_path / "agentdata"
    path = data / "agent" / OUTBOX_FILE

    def pending_at_least(n: int) -> bool:
        try:
            return len(outbox_ids(path)[1]) >= n
        except sqlite3.OperationalError:  # not created yet
            return False

    # 1. No server: rounds are stored, nothing can go up; killed between storing and uploading.
    agent = agent_process(server, targets, data)
    wait_for(lambda: pending_at_least(6))
    output = kill9(agent)
    assert "Traceback" not in output and "unreachable" in output

    # 2. The server is back; the agent is killed at random moments, mid-upload included.
    server.start()
    chance = random.Random(5)
    for _ in range(4):
        before = len(server.ids("karachi-1"))
        agent = agent_process(server, targets, data)
        wait_for(lambda before=before: len(server.ids("karachi-1")) > before)
        time.sleep(chance.uniform(0.0, 1.0))
        assert "Traceback" not in kill9(agent)

    # 3. One last round run to its end: everything is up, each measurement once.
    final = agent_process(server, targets, data, "--rounds", "1")
    out, _ = final.communicate(timeout=120)
    assert final.returncode == 0, out.decode()
    every, pending = outbox_ids(path)
    stored = server.ids("karachi-1")
    assert not pending
    assert len(stored) == len(set(stored)) == server.rows()
    assert set(stored) == every
    assert len(every) >= 10
