from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jalsa.live.aggregate import LiveAggregate, StreamState
from jalsa.platforms.base import StreamStatus, Usage

T0 = datetime(2023, 12, 17, 15, 0, tzinfo=UTC)


def _state(sid: int, kind: str, metric: str | None, interval: float = 10) -> StreamState:
    return StreamState(
        stream_id=sid,
        kind=kind,
        platform=kind,
        label=kind,
        external_id=str(sid),
        interval=interval,
        expected_usage=Usage(requests=1, quota_units=1),
        audience_metric=metric,
    )


def _agg() -> LiveAggregate:
    agg = LiveAggregate(T0 + timedelta(hours=2), "Asia/Karachi")
    agg.add(_state(1, "youtube", "youtube.concurrent_viewers"))
    agg.add(_state(2, "facebook", "facebook.live_views"))
    agg.add(_state(3, "instagram", None))
    return agg


def _ok(agg: LiveAggregate, sid: int, at: datetime, metric: str, value: int) -> None:
    agg.apply(
        sid,
        finished_at=at,
        status=StreamStatus.OK,
        detail="",
        usage=Usage(requests=1, quota_units=1),
        readings=[(metric, at, value)],
    )


def test_combined_sums_fresh_concurrent_audiences_only() -> None:
    agg = _agg()
    _ok(agg, 1, T0, "youtube.concurrent_viewers", 100)
    _ok(agg, 2, T0 + timedelta(seconds=5), "facebook.live_views", 40)
    _ok(agg, 3, T0 + timedelta(seconds=5), "instagram.live_media", 1)
    now = agg.combined(T0 + timedelta(seconds=6))
    assert (now.value, now.included, now.partial) == (140, [1, 2], False)
    # YouTube's reading goes stale after 3 intervals: the figure says it is partial
    later = agg.combined(T0 + timedelta(seconds=31))
    assert (later.value, later.stale, later.partial) == (40, [1], True)


def test_a_broadcast_that_is_not_live_is_not_stale() -> None:
    agg = _agg()
    _ok(agg, 1, T0, "youtube.concurrent_viewers", 100)
    agg.apply(
        2,
        finished_at=T0,
        status=StreamStatus.NOT_LIVE,
        detail="ended",
        usage=Usage(requests=1),
        readings=[],
    )
    now = agg.combined(T0)
    assert (now.value, now.included, now.not_live, now.partial) == (100, [1], [2], False)


def test_peak_keeps_the_first_time_of_the_highest_value() -> None:
    agg = _agg()
    for i, v in enumerate([10, 30, 20, 30]):
        _ok(agg, 1, T0 + timedelta(seconds=10 * i), "youtube.concurrent_viewers", v)
    peak = agg.streams[1].peak["youtube.concurrent_viewers"]
    assert (peak.value, peak.at) == (30, T0 + timedelta(seconds=10))


def test_failure_keeps_figures_and_counts_errors() -> None:
    agg = _agg()
    _ok(agg, 1, T0, "youtube.concurrent_viewers", 100)
    agg.apply(
        1,
        finished_at=T0 + timedelta(seconds=10),
        status=StreamStatus.QUOTA_EXCEEDED,
        detail="quota",
        usage=Usage(requests=1, quota_units=1),
        readings=[],
    )
    state = agg.streams[1]
    assert state.status is StreamStatus.QUOTA_EXCEEDED and state.errors == 1
    assert state.latest["youtube.concurrent_viewers"].value == 100
    assert state.spent.quota_units == 2


def test_forecast_adds_the_polls_left_until_the_end() -> None:
    agg = _agg()
    state = agg.streams[1]
    state.spent = Usage(requests=10, quota_units=10)
    total = state.forecast(T0 + timedelta(hours=1), agg.ends_at)
    assert total.quota_units == 10 + 360  # one hour left at one poll per 10 s


def test_snapshot_labels_the_combined_figure_as_a_sum() -> None:
    agg = _agg()
    _ok(agg, 1, T0, "youtube.concurrent_viewers", 7)
    snap = agg.snapshot(T0)
    assert snap["combined"]["value"] == 7
    assert "sum" in snap["combined"]["label"].lower()
    assert snap["streams"][2]["now"] is None and snap["streams"][2]["audience_metric"] is None


def test_peak_of_sum_replay_matches_the_live_rule() -> None:
    agg = _agg()
    history = []
    readings = [
        (0, 1, 100),
        (2, 2, 50),
        (10, 1, 120),
        (12, 2, 60),
        (20, 1, 90),
        # facebook goes silent; after 30 s its 60 no longer counts
        (30, 1, 95),
        (45, 1, 200),
    ]
    live_best = 0
    for sec, sid, value in readings:
        at = T0 + timedelta(seconds=sec)
        metric = "youtube.concurrent_viewers" if sid == 1 else "facebook.live_views"
        _ok(agg, sid, at, metric, value)
        history.append((at, sid, value))
        live_best = max(live_best, agg.combined(at).value)
    restarted = _agg()
    restarted.replay(history)
    replayed = restarted.peak_of_sum
    assert replayed is not None
    assert (
        (replayed.value, replayed.at)
        == (live_best, T0 + timedelta(seconds=45))
        == (
            200,
            T0 + timedelta(seconds=45),
        )
    )
    assert agg.peak_of_sum is not None and agg.peak_of_sum.value == 200
