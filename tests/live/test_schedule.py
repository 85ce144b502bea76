from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from jalsa.live.schedule import MAX_BACKOFF, backoff, next_slot, phase
from jalsa.platforms.base import StreamStatus

T0 = datetime(2023, 12, 17, 15, 0, tzinfo=UTC)


@given(
    stream_id=st.integers(1, 10_000),
    interval=st.sampled_from([1.0, 5.0, 15.0, 30.0, 60.0]),
    offset_s=st.floats(0, 86_400),
)
def test_next_slot_is_after_and_on_the_grid(
    stream_id: int, interval: float, offset_s: float
) -> None:
    after = T0 + timedelta(seconds=offset_s)
    off = phase(stream_id, interval)
    slot = next_slot(after, interval, off)
    assert after < slot <= after + timedelta(seconds=interval + 0.001)
    # the same grid whatever moment we start from: a restart lands on the same slots
    assert next_slot(slot - timedelta(milliseconds=1), interval, off) == slot


def test_phases_spread_streams_over_the_interval() -> None:
    offsets = sorted(phase(i, 5.0) for i in range(1, 201))
    assert offsets[0] >= 0 and offsets[-1] < 5.0
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert max(gaps) < 0.1  # 200 streams over 5 s: no big clumps or holes


def test_backoff_policy() -> None:
    assert backoff(StreamStatus.OK, 0, 30, None) == 0
    assert backoff(StreamStatus.SERVER_ERROR, 1, 30, None) == 0  # first failure: next slot
    assert backoff(StreamStatus.SERVER_ERROR, 2, 30, None) == 30
    assert backoff(StreamStatus.SERVER_ERROR, 3, 30, None) == 90
    assert backoff(StreamStatus.SERVER_ERROR, 50, 30, None) == MAX_BACKOFF
    assert backoff(StreamStatus.RATE_LIMITED, 1, 30, 42.0) == 42.0
    assert backoff(StreamStatus.RATE_LIMITED, 1, 5, None) == 60.0
    assert backoff(StreamStatus.QUOTA_EXCEEDED, 1, 30, 3600.0) == 3600.0
    assert backoff(StreamStatus.AUTH_FAILED, 1, 30, None) == MAX_BACKOFF
    assert backoff(StreamStatus.NOT_FOUND, 1, 30, None) == 120.0
