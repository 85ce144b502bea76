"""The demo's disruption watch: the scenario's restrictions, as probes would see them, reach
the real detector through the watch service."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from jalsa.clock import CompressedClock
from jalsa.config import load_settings
from jalsa.demo.watch import restriction_blocks, run_demo_watch
from jalsa.sim import load_scenario
from jalsa.watch.service import WatchService
from jalsa.watch.store import incidents_between


def test_only_restrictions_with_a_probe_method_are_blocks() -> None:
    scenario = load_scenario()
    blocks = restriction_blocks(scenario)
    seen = [r for r in scenario.restrictions if r.probe_method]
    assert len(blocks) == len(seen) < len(scenario.restrictions)
    nationwide = blocks[0]
    assert nationwide.platforms == ("facebook", "instagram", "x")
    assert nationwide.vantages is None and nationwide.method == "tls.sni_filter"
    assert nationwide.start == scenario.at(10)


async def test_the_restriction_opens_one_incident_within_two_rounds(
    sqlite_url: str, tmp_path: Any
) -> None:
    from jalsa.store import Store

    scenario = load_scenario()
    store = Store(sqlite_url)
    # 600 simulated seconds a second: a round every 0.1 s, from 20:05 to 20:20
    clock = CompressedClock(scenario.at(5), speed=600)
    service = WatchService(store, load_settings(data_dir=tmp_path), clock=clock)
    submitted = await run_demo_watch(service, scenario, clock, scenario.at(20))
    assert submitted == 16 * 5 * 10  # rounds x vantages x targets
    with store.session() as s:
        (incident,) = incidents_between(s)
    record = incident.record
    assert set(incident.platforms) == {"x", "facebook", "instagram", "youtube"}
    assert incident.started_at == scenario.at(10)
    assert incident.ended_at is None
    # opened in the block's second round at the latest
    assert datetime.fromisoformat(record["detected_at"]) <= scenario.at(11)
    assert len(record["vantages"]) == 5
    store.dispose()
    assert timedelta(0) < clock.now() - scenario.at(20) < timedelta(minutes=5)
