"""The simulator on a real port: uvicorn started by the runner, fetched over TCP with httpx."""

from __future__ import annotations

import socket

import httpx
import pytest
from simkit import CALM, make_scenario

from jalsa.clock import CompressedClock
from jalsa.platforms.base import PollError, StreamStatus, Target
from jalsa.platforms.registry import CONNECTORS
from jalsa.sim.runner import SimServer, make_clock

pytestmark = pytest.mark.integration


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_background_server_on_a_free_port() -> None:
    scenario = make_scenario()
    clock = make_clock(scenario, speed=60.0, start=scenario.at(CALM))
    with SimServer(scenario, clock) as sim:
        assert sim.port != 0 and sim.url == f"http://127.0.0.1:{sim.port}"
        base = sim.base_urls["youtube_base_url"]
        response = httpx.get(
            f"{base}/videos",
            params={"part": "liveStreamingDetails,statistics", "id": "vid00000001", "key": "k"},
            timeout=5,
        )
        assert response.status_code == 200
        item = response.json()["items"][0]
        assert int(item["liveStreamingDetails"]["concurrentViewers"]) > 1000
        status = httpx.get(f"{sim.url}/_sim/status", timeout=5).json()
        assert status["speed"] == 60.0 and status["phase"] == "live"
        port = sim.port
    assert not port_is_open(port)


def test_default_scenario_and_clock() -> None:
    with SimServer(speed=30.0) as sim:
        assert isinstance(sim.clock, CompressedClock)
        status = httpx.get(f"{sim.url}/_sim/status", timeout=5).json()
        assert status["scenario"].startswith("Virtual jalsa, 17 December 2023")
        assert status["phase"] == "before"  # the clock starts in the lead-in
        assert -21 <= status["minutes_from_start"] <= -19


def test_busy_port_is_a_user_error() -> None:
    from jalsa.errors import UserError

    with SimServer(make_scenario()) as first:
        second = SimServer(make_scenario(), port=first.port)
        with pytest.raises(UserError, match="cannot listen"):
            second.start()


async def test_async_server_serves_connectors_and_network_faults() -> None:
    scenario = make_scenario()
    clock = make_clock(scenario, speed=1.0, start=scenario.at(CALM))
    async with (
        SimServer(scenario, clock, hang_seconds=5.0) as sim,
        httpx.AsyncClient(timeout=httpx.Timeout(0.5)) as client,
    ):
        cls = CONNECTORS["x_space"]
        x = cls(client, sim.base_urls["x_base_url"], "token")
        result = await x.poll(Target("1space"), clock.now())
        assert result.status is StreamStatus.OK

        # an unreachable platform: the request hangs until the client times out
        clock.start = scenario.at(101)
        with pytest.raises(PollError) as caught:
            await x.poll(Target("1space"), clock.now())
        assert caught.value.status is StreamStatus.TIMEOUT

        # a reset: the connection closes mid-response
        clock.start = scenario.at(106.5)
        fb = CONNECTORS["facebook"](client, sim.base_urls["facebook_base_url"], "token")
        with pytest.raises(PollError) as caught:
            await fb.poll(Target("111"), clock.now())
        assert caught.value.status is StreamStatus.NETWORK_ERROR
        # ... while YouTube still answers
        yt = CONNECTORS["youtube"](client, sim.base_urls["youtube_base_url"], "key")
        assert (await yt.poll(Target("vid00000001"), clock.now())).status is StreamStatus.OK


async def test_hang_ends_in_a_closed_connection() -> None:
    scenario = make_scenario()
    clock = make_clock(scenario, start=scenario.at(101))
    async with (
        SimServer(scenario, clock, hang_seconds=0.2) as sim,
        httpx.AsyncClient(timeout=5) as client,
    ):
        with pytest.raises(httpx.TransportError):
            await client.get(
                f"{sim.base_urls['x_base_url']}/spaces/1space",
                headers={"Authorization": "Bearer t"},
            )
