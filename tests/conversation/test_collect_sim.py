"""The collectors against the real simulator app (in process, on the shared manual clock): they
collect exactly what the scenario says, once, across rounds and restarts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from simkit import CALM, ManualClock, Sim, make_scenario

from jalsa.conversation.analysis import analyze
from jalsa.conversation.coverage import read_counts, x_coverage
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.engines import DuckDBEngine
from jalsa.conversation.follow import ingest_new_lines
from jalsa.platforms.base import StreamStatus
from jalsa.platforms.collect.base import CollectResult
from jalsa.platforms.facebook.comments import FacebookCommentsCollector
from jalsa.platforms.x.collect import XCountsCollector, XSearchCollector
from jalsa.platforms.x.stream import XStreamCollector
from jalsa.platforms.youtube.chat import YouTubeChatCollector
from jalsa.sim.server import sim_base_urls

URLS = sim_base_urls("http://sim")


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    scenario = make_scenario()
    s = Sim(scenario, ManualClock(scenario.at(CALM)))
    yield s
    await s.client.aclose()


@pytest.fixture
def on_sim(sim: Sim, tmp_path: Path) -> Callable[..., Any]:
    """Builds a collector (or calls a factory such as `for_video`) against the simulator: its
    client, the platform's base URL and a test token, the raw log in `tmp_path`, the sim's
    clock."""

    def make(kind: Callable[..., Any], platform: str, *ids: str, **options: Any) -> Any:
        base_url = URLS[f"{platform}_base_url"]
        return kind(
            sim.client,
            base_url,
            "test-token",
            *ids,
            dataset_dir=tmp_path,
            clock=sim.clock,
            **options,
        )

    return make


def pages(tmp_path: Path, source: str) -> list[Any]:
    text = (tmp_path / "raw" / f"{source}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def items(tmp_path: Path, source: str, key: str) -> list[Any]:
    return [item for page in pages(tmp_path, source) for item in page.get(key) or []]


def expected_posts(sim: Sim, start_minute: float, end_minute: float) -> int:
    stream = sim.scenario.stream("x_counts", "#TestJalsa")
    assert stream is not None
    minutes = int(end_minute - start_minute)
    return sum(
        sim.scenario.expected_posts(stream, sim.scenario.at(start_minute + m))
        for m in range(minutes)
    )


async def test_search_collects_every_post_once_across_rounds_and_a_restart(
    sim: Sim, tmp_path: Path, on_sim: Callable[..., Any]
) -> None:
    start = sim.scenario.at(CALM - 3)

    def collector(**options: Any) -> XSearchCollector:
        return on_sim(XSearchCollector, "x", "#TestJalsa", start_time=start, **options)

    first = collector(max_pages=3)
    cut = await first.run_once()
    assert cut.status is StreamStatus.OK and cut.more and cut.pages == 3
    await first.close()  # a restart in the middle of the round

    second = collector()
    rest = await second.run_once()
    assert rest.status is StreamStatus.OK and not rest.more
    sim.at(CALM + 2)
    newer = await second.run_once()
    await second.close()

    posts = items(tmp_path, "x-search", "data")
    ids = [p["id"] for p in posts]
    assert len(ids) == len(set(ids))  # no post, and so no page, twice
    assert len(ids) == expected_posts(sim, CALM - 3, CALM + 2)
    assert newer.items == expected_posts(sim, CALM, CALM + 2)
    assert cut.requests + rest.requests + newer.requests == len(pages(tmp_path, "x-search"))


async def test_counts_collect_the_buckets_the_scenario_says(
    sim: Sim, tmp_path: Path, on_sim: Callable[..., Any]
) -> None:
    start = sim.scenario.at(CALM - 5)
    collector = on_sim(XCountsCollector, "x", "#TestJalsa", start_time=start)
    result = await collector.run_once()
    await collector.close()
    assert result.status is StreamStatus.OK
    buckets = items(tmp_path, "x-counts", "data")
    stream = sim.scenario.stream("x_counts", "#TestJalsa")
    assert stream is not None
    assert [b["tweet_count"] for b in buckets] == [
        sim.scenario.expected_posts(stream, sim.scenario.at(CALM - 5 + m)) for m in range(5)
    ]


async def test_the_stream_collects_what_the_rules_match(
    sim: Sim, tmp_path: Path, on_sim: Callable[..., Any]
) -> None:
    sim.app.state.sim.stream_seconds = 60.0
    collector = on_sim(XStreamCollector, "x")
    changed = await collector.set_rules([("#TestJalsa", "jalsa")])
    assert [r["value"] for r in changed["added"]] == ["#TestJalsa"]
    assert await collector.rules() == changed["added"]
    result = await collector.run_once()
    await collector.close()
    assert result.connected and result.status is StreamStatus.OK
    assert result.errors[-1]["disconnect_type"] == "OperationalDisconnect"
    posts = [p["data"] for p in pages(tmp_path, "x-stream") if "data" in p]
    assert result.items == len(posts) == expected_posts(sim, CALM, CALM + 1)
    assert collector.backoff.delay(result) == 0.0  # it delivered: reconnect at once


async def test_live_chat_is_collected_until_the_stream_goes_offline(
    sim: Sim, tmp_path: Path, on_sim: Callable[..., Any]
) -> None:
    sim.at(117)
    seen: list[CollectResult] = []
    for_video = YouTubeChatCollector.for_video
    collector = await on_sim(for_video, "youtube", "vid00000001", on_result=seen.append)
    await asyncio.wait_for(collector.run(asyncio.Event()), 30)

    assert seen[-1].finished and "offline" in seen[-1].detail
    assert all(r.status is StreamStatus.OK for r in seen)
    assert sum(r.quota_units for r in seen) == 5 * len(seen)
    # One call per pollingIntervalMillis (5 s) from 117 min to the end at 120 min.
    assert 36 <= len(seen) <= 38
    messages = items(tmp_path, collector.source, "items")
    ids = [m["id"] for m in messages]
    assert len(ids) == len(set(ids))
    stream = sim.scenario.stream("youtube", "vid00000001")
    assert stream is not None
    chat = sim.app.state.sim.parts["youtube"].chat
    first_minute = int((sim.scenario.at(117) - timedelta(seconds=60)).timestamp() // 60)
    end_minute = int(sim.scenario.end_utc.timestamp() // 60)
    assert len(ids) == sum(chat.count(stream, m) for m in range(first_minute, end_minute))


async def test_comments_are_collected_once_across_rounds(
    sim: Sim, tmp_path: Path, on_sim: Callable[..., Any]
) -> None:
    def collector() -> FacebookCommentsCollector:
        since = sim.scenario.at(CALM - 5)
        return on_sim(FacebookCommentsCollector, "facebook", "111", since=since, limit=25)

    first = collector()
    for minute in (CALM, CALM + 1, CALM + 2.5):
        sim.at(minute)
        result = await first.run_once()
        assert result.status is StreamStatus.OK
    await first.close()
    sim.at(CALM + 4)
    again = collector()  # after a restart
    await again.run_once()
    await again.close()

    comments = items(tmp_path, "facebook-comments-111", "data")
    unique = {c["id"] for c in comments}
    facebook = sim.app.state.sim.parts["facebook"]
    stream = sim.scenario.stream("facebook", "111")
    assert stream is not None
    lo = int(sim.scenario.at(CALM - 5).timestamp() // 60)
    hi = int(sim.scenario.at(CALM + 4).timestamp() // 60)
    assert len(unique) == sum(facebook.comment_count(stream, m) for m in range(lo, hi))
    # Only comments of the boundary second of a round come again (the `since` is inclusive).
    assert len(comments) - len(unique) <= 3
    assert "test-token" not in (tmp_path / "raw" / "facebook-comments-111.jsonl").read_text()


async def test_coverage_of_what_x_counted_is_whole_when_search_got_everything(
    sim: Sim, tmp_path: Path, on_sim: Callable[..., Any]
) -> None:
    start = sim.scenario.at(CALM - 4)
    for kind in (XSearchCollector, XCountsCollector):
        collector = on_sim(kind, "x", "#TestJalsa", start_time=start)
        assert (await collector.run_once()).status is StreamStatus.OK
        await collector.close()
    with (tmp_path / "raw" / "x-counts.jsonl").open("a") as log:
        log.write('{"data": [{"start": "not a time"}]}\n')  # not a counts page
    dataset = PostDataset(tmp_path)
    ingest_new_lines(dataset)
    engine = DuckDBEngine(dataset.parts())
    platform_minutes = analyze(engine, only=("platform_minutes",)).results["platform_minutes"]
    found = read_counts(tmp_path)
    coverage = x_coverage(found, platform_minutes)
    assert coverage is not None and found.bad_lines == 1
    stream = sim.scenario.stream("x_counts", "#TestJalsa")
    assert stream is not None
    expected = [
        sim.scenario.expected_posts(stream, sim.scenario.at(CALM - 4 + m)) for m in range(4)
    ]
    assert [m["counted"] for m in coverage["minutes"]] == expected
    assert [m["collected"] for m in coverage["minutes"]] == expected
    assert coverage["share"] == 1.0
