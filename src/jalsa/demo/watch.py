"""The demo's disruption watch: five simulated volunteer vantages probe the platforms once a
simulated minute, and the scenario's restrictions show up in their measurements the way
`probe_method` says. The rounds go through the web app's `WatchService` like an agent's upload,
so the detector, the stored incidents and the dashboard's bands are the real ones; only the
probing is simulated (a demo has no censored network to probe).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from jalsa.clock import Clock
from jalsa.sim.scenario import Scenario
from jalsa.sim.watch import Block, WatchSim
from jalsa.watch.record import Measurement
from jalsa.watch.service import WatchService

ROUND = timedelta(minutes=1)


def restriction_blocks(scenario: Scenario) -> list[Block]:
    """The scenario's restrictions that probes see, as the simulator's injected blocks. A
    restricted X Space or X post count is X to a probe."""
    blocks = []
    for r in scenario.restrictions:
        if r.probe_method is None:
            continue
        platforms = sorted({"x" if p.startswith("x") else p for p in r.platforms})
        blocks.append(
            Block(
                platforms=tuple(platforms),
                start=scenario.at(r.start_minutes),
                end=scenario.at(r.end_minutes),
                method=r.probe_method,
                name=r.note,
            )
        )
    return blocks


def demo_rounds(
    scenario: Scenario, start: datetime, until: datetime
) -> Iterator[list[Measurement]]:
    """Every vantage's round of measurements, one simulated minute apart, from `start`
    (rounded down to the minute) to `until`."""
    first = start.replace(second=0, microsecond=0)
    sim = WatchSim(
        rounds_count=int((until - first) / ROUND) + 1,
        start=first,
        round_interval=ROUND,
        blocks=restriction_blocks(scenario),
        seed=scenario.seed,
    )
    return sim.rounds()


async def run_demo_watch(
    service: WatchService, scenario: Scenario, clock: Clock, until: datetime
) -> int:
    """Submit each round once its minute has passed on the demo's clock; returns how many
    measurements were submitted."""
    submitted = 0
    for measurements in demo_rounds(scenario, clock.now(), until):
        due = measurements[0].round_at + ROUND
        wait = (due - clock.now()).total_seconds()
        if wait > 0:
            await clock.sleep(wait)
        result = await service.submit(measurements)
        submitted += result.stored
    return submitted
