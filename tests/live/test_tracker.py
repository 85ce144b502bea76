"""The tracker against the simulator, in-process: real connectors, real HTTP shapes, the real
store (SQLite and PostgreSQL), a compressed clock."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from simkit import make_scenario
from sqlalchemy import func, select

from jalsa.clock import CompressedClock
from jalsa.config import load_settings
from jalsa.live.aggregate import LiveAggregate
from jalsa.live.bus import EventBus
from jalsa.live.feed import EventFeed
from jalsa.live.schedule import phase
from jalsa.live.tracker import Tracker, cancel
from jalsa.platforms.registry import METRICS
from jalsa.sim.scenario import Scenario
from jalsa.sim.server import create_app, sim_base_urls
from jalsa.store import Poll, Sample, Store
from jalsa.store.repo import add_stream, create_event

CREDENTIALS = {
    "youtube_api_key": "k",
    "facebook_access_token": "t",
    "instagram_access_token": "t",
    "x_bearer_token": "t",
}
INTERVALS = {
    "youtube_interval": 20.0,
    "facebook_interval": 15.0,
    "instagram_interval": 30.0,
    "x_space_interval": 15.0,
    "x_counts_interval": 60.0,
}


def _setup(store: Store, scenario: Scenario, extra_streams: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
    with store.session() as s:
        event = create_event(
            s,
            name="test rally",
            starts_at=scenario.start_utc,
            duration=timedelta(minutes=scenario.duration_minutes),
            timezone=scenario.timezone,
            hashtags=["#TestJalsa"],
            slug="rally",
        )
        for stream in scenario.streams:
            add_stream(s, event, kind=stream.platform, external_id=stream.id)
        for kind, ident in extra_streams:
            add_stream(s, event, kind=kind, external_id=ident)


async def _track(
    store: Store,
    scenario: Scenario,
    start_minute: float,
    end_minute: float,
    speed: float = 300.0,
    bus: EventBus | None = None,
) -> Tracker:
    clock = CompressedClock(scenario.at(start_minute), speed)
    app = create_app(scenario, clock, hang_seconds=1.0)
    settings = load_settings(
        **sim_base_urls("http://sim"), **CREDENTIALS, **INTERVALS, http_timeout=0.5
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=0.5) as client:
        tracker = Tracker(store, "rally", settings, clock=clock, client=client, bus=bus)
        await tracker.run(until=scenario.at(end_minute))
    return tracker


def _samples(store: Store, metric: str) -> list[tuple[datetime, datetime, int]]:
    with store.session() as s:
        rows = s.execute(
            select(Sample.observed_at, Sample.fetched_at, Sample.value)
            .where(Sample.metric == metric)
            .order_by(Sample.observed_at)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def _close_to_expected(
    scenario: Scenario, platform: str, rows: list[tuple[datetime, datetime, int]]
) -> None:
    """Each stored value is what the simulator served at some moment between the poll's slot
    and its answer (the compressed clock moves a few simulated seconds meanwhile)."""
    stream = scenario.streams_of(platform)[0]
    for observed_at, fetched_at, value in rows:
        span = fetched_at - observed_at
        # the value was read at some moment between observed_at and fetched_at (under load
        # that can be minutes of compressed time): it lies within the curve's range there
        candidates = [
            scenario.expected_audience(stream, observed_at + span * (i / 64)) for i in range(65)
        ]
        tolerance = max(3, 0.01 * value)
        assert min(candidates) - tolerance <= value <= max(candidates) + tolerance, (
            platform,
            observed_at,
            value,
            candidates,
        )


async def test_tracks_every_stream_and_stores_what_the_platforms_said(store: Store) -> None:
    scenario = make_scenario()
    _setup(store, scenario)
    bus = EventBus()
    subscription = bus.subscribe()  # the bus publishes only while someone listens
    tracker = await _track(store, scenario, 15, 40, bus=bus)
    subscription.close()

    for platform, metric in [
        ("youtube", "youtube.concurrent_viewers"),
        ("facebook", "facebook.live_views"),
        ("x_space", "x_space.participant_count"),
    ]:
        rows = _samples(store, metric)
        assert len(rows) >= 40, (metric, len(rows))
        _close_to_expected(scenario, platform, rows)
        # the restriction from minute 30 cuts the audience to a fifth
        # (a value was read between its observed and fetched times: under load a poll can
        # be answered minutes of compressed time after its slot)
        before = [v for _, fetched, v in rows if scenario.minutes(fetched) < 29]
        during = [v for at, _, v in rows if scenario.minutes(at) > 31]
        assert max(during) < 0.35 * min(before)

    live_media = _samples(store, "instagram.live_media")
    assert live_media and {v for _, _, v in live_media} == {1}

    # X counts: one sample per minute bucket, dated by X's bucket start, equal to the scenario
    counts = _samples(store, "x.posts_per_minute")
    stream = scenario.streams_of("x_counts")[0]
    assert counts
    for at, _, value in counts:
        assert at.second == 0
        if scenario.minutes(at) < 38:  # buckets closed well before the run ended
            assert value == scenario.expected_posts(stream, at)

    # every poll is on its stream's grid, once
    with store.session() as s:
        polls = s.execute(select(Poll.stream_id, Poll.scheduled_at)).all()
    assert len(polls) == len(set(polls))
    intervals = {st.stream_id: st.interval for st in tracker.aggregate.streams.values()}
    for sid, at in polls:
        offset = (at.timestamp() - phase(sid, intervals[sid])) % intervals[sid]
        assert min(offset, intervals[sid] - offset) < 0.002

    # live peaks are the maxima of what was stored; one bus message per stored poll
    youtube = next(s for s in tracker.aggregate.streams.values() if s.kind == "youtube")
    stored = _samples(store, "youtube.concurrent_viewers")
    best = max(stored, key=lambda r: (r[2], -r[0].timestamp()))
    peak = youtube.peak["youtube.concurrent_viewers"]
    assert (peak.value, peak.at) == (best[2], best[0])
    assert bus.last_seq == len(polls)


async def test_faults_show_as_statuses_and_other_streams_keep_polling(store: Store) -> None:
    scenario = make_scenario(malformed_rate=0.15)
    _setup(store, scenario, extra_streams=[("youtube", "nosuchvideo"), ("x_space", "1nope")])
    tracker = await _track(store, scenario, 68, 95, speed=400)

    by_stream = {(s.kind, s.external_id): s.stream_id for s in tracker.aggregate.streams.values()}
    with store.session() as s:
        statuses = Counter(
            dict(s.execute(select(Poll.status, func.count()).group_by(Poll.status)).all())
        )
        for unknown in (("youtube", "nosuchvideo"), ("x_space", "1nope")):
            seen = set(
                s.scalars(select(Poll.status).where(Poll.stream_id == by_stream[unknown])).all()
            )
            assert "not_found" in seen and "ok" not in seen, (unknown, seen)
    # 429 bursts (70-78), expired tokens (80-92) and garbled answers all happened, as statuses
    for status in ("rate_limited", "auth_failed", "bad_response", "not_found", "ok"):
        assert statuses[status] > 0, (status, statuses)
    # through all that, the real streams kept producing samples in every 5-minute window
    rows = _samples(store, "x_space.participant_count")
    minutes_seen = {int(scenario.minutes(at)) // 5 for at, _, _ in rows}
    assert {14, 15, 18} <= minutes_seen  # minutes 70-79 and 90-94: bursts and expiry over
    assert tracker.written == sum(statuses.values())
    # the two YouTube streams share one videos.list request per slot: one quota unit, not two
    youtube_ids = [by_stream[k] for k in by_stream if k[0] == "youtube"]
    with store.session() as s:
        rows = s.execute(
            select(Poll.scheduled_at, Poll.requests, Poll.quota_units).where(
                Poll.stream_id.in_(youtube_ids)
            )
        ).all()
    slots = Counter(at for at, _, _ in rows)
    assert set(slots.values()) == {2}
    assert sum(q for _, _, q in rows) == sum(r for _, r, _ in rows) == len(slots)


async def test_restart_resumes_on_the_same_grid_without_duplicates(store: Store) -> None:
    scenario = make_scenario()
    _setup(store, scenario)
    # a gentler compression than elsewhere: the gaps are the point, so a busy CI machine
    # must not stretch a 20 s poll interval into several
    first = await _track(store, scenario, 15, 22, speed=100)
    peak_before = first.aggregate.peak_of_sum
    spent_before = {s.stream_id: s.spent.quota_units for s in first.aggregate.streams.values()}
    # "downtime" from minute 22 to 25, then a new tracker process picks up
    second = await _track(store, scenario, 25, 30, speed=100)
    with store.session() as s:
        rows = s.execute(select(Sample.stream_id, Sample.metric, Sample.observed_at)).all()
        polls = s.execute(select(Poll.stream_id, Poll.scheduled_at)).all()
    assert len(rows) == len(set(rows)) and len(polls) == len(set(polls))
    # Both processes polled every stream on one grid: each slot of a stream is a whole
    # number of intervals from its others (wall-clock stalls on a busy machine may skip
    # slots, which is why this checks the grid, not the gaps).
    interval = INTERVALS["youtube_interval"]
    youtube = {s.stream_id for s in second.aggregate.streams.values() if s.kind == "youtube"}
    down_from, down_to = scenario.at(22) + timedelta(seconds=interval), scenario.at(25)
    for sid in youtube:
        slots = sorted(at for stream, at in polls if stream == sid)
        assert any(at < down_from for at in slots) and any(at >= down_to for at in slots)
        assert not [at for at in slots if down_from < at < down_to]  # nothing in the downtime
        for a, b in itertools.pairwise(slots):
            steps = (b - a).total_seconds() / interval
            assert abs(steps - round(steps)) < 1e-3, (a, b)
    assert any(m == "youtube.concurrent_viewers" and at >= down_to for _, m, at in rows)
    # figures and spend were restored from the store, then grew
    assert second.aggregate.peak_of_sum is not None and peak_before is not None
    assert second.aggregate.peak_of_sum.value >= peak_before.value
    for sid, units in spent_before.items():
        assert second.aggregate.streams[sid].spent.quota_units >= units


async def test_a_reader_of_the_store_shows_the_trackers_figures(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The feed that follows the store (the web app's) plans its streams and takes in polls
    with the tracker's own code: after a run its figures are the tracker's, and both took in
    every stored poll through the one `LiveAggregate.apply_poll`."""
    applied: Counter[str] = Counter()
    original = LiveAggregate.apply_poll

    def spy(self: LiveAggregate, poll: Any, samples: Any) -> None:
        applied["feed" if self is feed.aggregate else "tracker"] += 1
        original(self, poll, samples)

    monkeypatch.setattr(LiveAggregate, "apply_poll", spy)
    scenario = make_scenario()
    _setup(store, scenario)
    settings = load_settings(**sim_base_urls("http://sim"), **CREDENTIALS, **INTERVALS)
    feed = await asyncio.to_thread(EventFeed, store, "rally", settings)
    tracker = await _track(store, scenario, 15, 25)
    await feed.catch_up()

    with store.session() as s:
        polls = s.scalar(select(func.count()).select_from(Poll))
    assert applied == {"tracker": polls, "feed": polls}
    now = tracker.clock.now()
    ours, theirs = tracker.aggregate.snapshot(now), feed.snapshot(now)
    for snapshot in (ours, theirs):
        for stream in snapshot["streams"]:  # the tracker's own schedule, not in the store
            del stream["next_poll_at"], stream["consecutive_errors"]
    assert theirs == ours


def test_every_metric_a_connector_declares_is_in_the_catalogue() -> None:
    from jalsa.platforms.registry import CONNECTORS

    for connector in CONNECTORS.values():
        for name in connector.metrics:
            assert name in METRICS


@pytest.fixture(autouse=True)
def _no_leaked_tasks() -> Any:
    yield
    loop_tasks = [t for t in asyncio.all_tasks() if not t.done()] if _loop_running() else []
    assert not loop_tasks


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def test_stopping_ends_a_task_that_lost_its_cancellation() -> None:
    """On Python 3.11 `asyncio.wait_for` can swallow a cancellation (the demo then hung at the
    end of the rally, its pollers still polling): `cancel` asks again until the task ends."""
    swallowed = asyncio.Event()

    async def poller() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            swallowed.set()  # lost, as wait_for loses it when the call finishes at that moment
        await asyncio.sleep(60)

    task = asyncio.create_task(poller())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel([task]), timeout=10)
    assert swallowed.is_set() and task.cancelled()
