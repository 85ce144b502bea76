"""Contract: jalsa's own connectors, pointed at the simulator, read exactly what the scenario
says, and see every simulated fault as the status the team should see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from simkit import CALM, ManualClock, Sim, make_scenario

from jalsa.platforms.base import PollError, StreamStatus, Target
from jalsa.platforms.registry import CONNECTORS
from jalsa.sim.server import sim_base_urls


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    scenario = make_scenario()
    s = Sim(scenario, ManualClock(scenario.at(CALM)))
    yield s
    await s.client.aclose()


def connector(sim: Sim, kind: str) -> Any:
    cls = CONNECTORS[kind]
    base = sim_base_urls("http://sim")[cls.base_url_setting]
    return cls(sim.client, base, "test-credential")


def values(result: Any) -> dict[str, int]:
    return {r.metric: r.value for r in result.readings}


async def test_youtube_connector_reads_the_scenario(sim: Sim) -> None:
    now = sim.at(CALM)
    stream = sim.scenario.stream("youtube", "vid00000001")
    assert stream is not None
    result = await connector(sim, "youtube").poll(Target("vid00000001"), now)
    assert result.status is StreamStatus.OK
    assert values(result) == {
        "youtube.concurrent_viewers": sim.scenario.expected_audience(stream, now),
        "youtube.view_count": sim.scenario.expected_views(stream, now),
    }


async def test_facebook_connector_reads_the_scenario(sim: Sim) -> None:
    now = sim.at(CALM)
    stream = sim.scenario.stream("facebook", "111")
    assert stream is not None
    result = await connector(sim, "facebook").poll(Target("111"), now)
    assert result.status is StreamStatus.OK, result.detail
    assert values(result) == {
        "facebook.live_views": sim.scenario.expected_audience(stream, now),
        "facebook.total_video_views": sim.scenario.expected_views(stream, now),
        "facebook.total_video_views_unique": sim.scenario.expected_unique_views(stream, now),
    }


async def test_instagram_connector_reads_the_scenario(sim: Sim) -> None:
    now = sim.at(CALM)
    stream = sim.scenario.stream("instagram", "178")
    assert stream is not None
    result = await connector(sim, "instagram").poll(Target("178"), now)
    assert result.status is StreamStatus.OK
    assert values(result) == {
        "instagram.live_media": 1,
        "instagram.live_comments": sim.scenario.expected_comments(stream, now),
    }
    later = sim.at(130)
    result = await connector(sim, "instagram").poll(Target("178"), later)
    assert result.status is StreamStatus.NOT_LIVE


async def test_x_space_connector_reads_the_scenario(sim: Sim) -> None:
    now = sim.at(CALM)
    stream = sim.scenario.stream("x_space", "1space")
    assert stream is not None
    result = await connector(sim, "x_space").poll(Target("1space"), now)
    assert result.status is StreamStatus.OK
    assert values(result) == {
        "x_space.participant_count": sim.scenario.expected_audience(stream, now),
        "x_space.subscriber_count": 900,
    }


async def test_youtube_connector_reads_several_videos_in_one_request(sim: Sim) -> None:
    now = sim.at(CALM)
    stream = sim.scenario.stream("youtube", "vid00000001")
    assert stream is not None
    targets = [Target("nope0000000"), Target("vid00000001")]
    outcomes, usage = await connector(sim, "youtube").poll_many(targets, now)
    missing, live = outcomes
    assert missing.status is StreamStatus.NOT_FOUND
    assert "nope0000000" in missing.detail
    assert live.status is StreamStatus.OK
    assert values(live)["youtube.concurrent_viewers"] == sim.scenario.expected_audience(stream, now)
    assert (usage.requests, usage.quota_units) == (1, 1)


async def test_x_space_connector_reads_several_spaces_in_one_request(sim: Sim) -> None:
    now = sim.at(CALM)
    stream = sim.scenario.stream("x_space", "1space")
    assert stream is not None
    targets = [Target("nope"), Target("1space"), Target("gone")]
    outcomes, usage = await connector(sim, "x_space").poll_many(targets, now)
    nope, live, gone = outcomes
    assert nope.status is StreamStatus.NOT_FOUND
    assert "[nope]" in nope.detail
    assert gone.status is StreamStatus.NOT_FOUND
    assert "[gone]" in gone.detail
    assert live.status is StreamStatus.OK
    assert values(live)["x_space.participant_count"] == sim.scenario.expected_audience(stream, now)
    assert (usage.requests, usage.billed_resources) == (1, 1)


async def test_x_space_connector_names_each_unknown_space(sim: Sim) -> None:
    targets = [Target("nope"), Target("gone")]
    outcomes, usage = await connector(sim, "x_space").poll_many(targets, sim.at(CALM))
    assert [o.status for o in outcomes] == [StreamStatus.NOT_FOUND, StreamStatus.NOT_FOUND]
    assert "[nope]" in outcomes[0].detail
    assert "[gone]" in outcomes[1].detail
    assert (usage.requests, usage.billed_resources) == (1, 0)


async def test_x_counts_connector_reads_the_scenario(sim: Sim) -> None:
    now = sim.at(CALM + 0.25)
    stream = sim.scenario.streams_of("x_counts")[0]
    since = sim.scenario.at(CALM - 6)
    target = Target("jalsa-tag", query="#TestJalsa", since=since)
    result = await connector(sim, "x_counts").poll(target, now)
    assert result.status is StreamStatus.OK
    assert len(result.readings) >= 4
    for reading in result.readings:
        assert reading.observed_at is not None
        assert reading.observed_at + timedelta(minutes=1) <= now
        assert reading.value == sim.scenario.expected_posts(stream, reading.observed_at)


@pytest.mark.parametrize(
    ("kind", "external_id", "minute", "status"),
    [
        ("youtube", "nope0000000", CALM, StreamStatus.NOT_FOUND),
        ("facebook", "999", CALM, StreamStatus.NOT_FOUND),
        ("instagram", "404", CALM, StreamStatus.NOT_FOUND),
        ("x_space", "nope", CALM, StreamStatus.NOT_FOUND),
        ("x_space", "1space", 71, StreamStatus.RATE_LIMITED),
        ("youtube", "vid00000001", 73, StreamStatus.RATE_LIMITED),
        ("facebook", "111", 75, StreamStatus.RATE_LIMITED),
        ("instagram", "178", 77, StreamStatus.RATE_LIMITED),
        ("facebook", "111", 81, StreamStatus.AUTH_FAILED),
        ("x_space", "1space", 86, StreamStatus.AUTH_FAILED),
        ("youtube", "vid00000001", 89, StreamStatus.AUTH_FAILED),
        ("instagram", "178", 91, StreamStatus.AUTH_FAILED),
    ],
)
async def test_connectors_see_simulated_faults(
    sim: Sim, kind: str, external_id: str, minute: float, status: StreamStatus
) -> None:
    now = sim.at(minute)
    with pytest.raises(PollError) as caught:
        await connector(sim, kind).poll(Target(external_id), now)
    assert caught.value.status is status, caught.value.detail


async def test_rate_limit_waits_are_in_clock_seconds(sim: Sim) -> None:
    now = sim.at(70.5)  # the X burst ends at 72
    with pytest.raises(PollError) as caught:
        await connector(sim, "x_space").poll(Target("1space"), now)
    assert caught.value.retry_after is not None
    assert 80 <= caught.value.retry_after <= 95
    now = sim.at(74.5)  # the Facebook burst ends at 76: Graph says 2 minutes
    with pytest.raises(PollError) as caught:
        await connector(sim, "facebook").poll(Target("111"), now)
    assert caught.value.retry_after == 120


async def test_garbled_responses_are_bad_responses_or_server_errors() -> None:
    scenario = make_scenario(malformed_rate=1.0)
    sim = Sim(scenario, ManualClock(scenario.at(CALM)))
    seen = set()
    async with sim.client:
        for _ in range(30):
            with pytest.raises(PollError) as caught:
                await connector(sim, "x_space").poll(Target("1space"), sim.clock.now())
            seen.add(caught.value.status)
    assert seen == {StreamStatus.BAD_RESPONSE, StreamStatus.SERVER_ERROR}
