"""Helpers for the simulator tests: a small scenario with every kind of event at known minutes,
a clock the test sets by hand, and the app on an in-process transport."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx

from jalsa.sim.scenario import Scenario, parse_scenario
from jalsa.sim.server import create_app

# Minutes (from the rally start) at which each event of TEST_SCENARIO happens.
CALM = 20.0  # live, unrestricted, no burst, no expiry
RESTRICTED = 45.0  # all platforms at 20 %
TEST_SCENARIO = """
name = "test rally"
timezone = "Asia/Karachi"
start = 2023-12-17T20:00:00
duration_minutes = 120
lead_in_minutes = 10
seed = 7

[[streams]]
platform = "youtube"
id = "vid00000001"
ramp_minutes = 10
peak = 50000
peak_at_minutes = 60
noise = 0.05

[[streams]]
platform = "facebook"
id = "111"
video_id = "222"
ramp_minutes = 10
peak = 30000
peak_at_minutes = 60

[[streams]]
platform = "x_space"
id = "1space"
title = "Test Space"
ramp_minutes = 5
peak = 20000
peak_at_minutes = 50
subscribers = 900

[[streams]]
platform = "instagram"
id = "178"
ramp_minutes = 5
peak = 8000
peak_at_minutes = 40

[[streams]]
platform = "x_counts"
id = "#TestJalsa"
baseline = 10
ramp_minutes = 10
peak = 500
peak_at_minutes = 40
noise = 0.1

[[restrictions]]
start_minutes = 30
end_minutes = 60
platforms = ["x", "facebook", "instagram", "youtube"]
audience_factor = 0.2

[[restrictions]]
start_minutes = 100
end_minutes = 105
platforms = ["x"]
mode = "unreachable"

[[restrictions]]
start_minutes = 106
end_minutes = 108
platforms = ["facebook"]
mode = "reset"

[[rate_limit_bursts]]
platform = "x"
start_minutes = 70
end_minutes = 72

[[rate_limit_bursts]]
platform = "youtube"
start_minutes = 72
end_minutes = 74

[[rate_limit_bursts]]
platform = "facebook"
start_minutes = 74
end_minutes = 76
code = 613

[[rate_limit_bursts]]
platform = "instagram"
start_minutes = 76
end_minutes = 78

[[token_expiry]]
platform = "facebook"
from_minutes = 80
until_minutes = 85

[[token_expiry]]
platform = "x"
from_minutes = 85
until_minutes = 88

[[token_expiry]]
platform = "youtube"
from_minutes = 88
until_minutes = 90

[[token_expiry]]
platform = "instagram"
from_minutes = 90
until_minutes = 92
"""


class ManualClock:
    """A clock that stands still until the test moves it."""

    speed = 1.0

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.current += timedelta(seconds=max(0.0, seconds))
        await asyncio.sleep(0)


def make_scenario(**changes: object) -> Scenario:
    """TEST_SCENARIO with top-level keys replaced (e.g. malformed_rate=0.1)."""
    text = TEST_SCENARIO
    for key, value in changes.items():
        text = f"{key} = {value!r}\n" + text.replace(f"\n{key} = ", f"\n# {key} = ")
    return parse_scenario(text, "test scenario")


class Sim:
    """The simulator app on an in-process transport, with its clock and scenario at hand."""

    def __init__(self, scenario: Scenario, clock: ManualClock) -> None:
        self.scenario = scenario
        self.clock = clock
        self.app = create_app(scenario, clock, hang_seconds=30.0)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://sim"
        )

    def at(self, minutes: float) -> datetime:
        self.clock.current = self.scenario.at(minutes)
        return self.clock.current

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.client.get(path, params=params)

    async def x(self, path: str, **params: str) -> httpx.Response:
        return await self.client.get(
            path, params=params, headers={"Authorization": "Bearer test-token"}
        )
