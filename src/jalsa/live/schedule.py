"""When to poll: a fixed grid per stream, spread by a per-stream phase, and backoff on failure.

The grid is anchored to the Unix epoch, so after a restart a stream lands on the same slots as
before: a slot is the natural key of a poll, and nothing is polled or stored twice.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from jalsa.platforms.base import StreamStatus

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_GOLDEN = 0.6180339887498949
MAX_BACKOFF = 300.0  # seconds of clock time


def phase(stream_id: int, interval: float) -> float:
    """A deterministic offset in [0, interval) that spreads streams evenly (golden-ratio
    sequence): streams with the same interval do not all fire at once."""
    return ((stream_id * _GOLDEN) % 1.0) * interval


def next_slot(after: datetime, interval: float, offset: float) -> datetime:
    """The first grid time strictly after `after`."""
    elapsed = (after - _EPOCH).total_seconds() - offset
    k = math.floor(elapsed / interval) + 1
    slot = _EPOCH + timedelta(seconds=offset + k * interval)
    # Round to the millisecond so the slot is stored identically on every backend.
    return slot.replace(microsecond=(slot.microsecond // 1000) * 1000)


def backoff(
    status: StreamStatus, consecutive_errors: int, interval: float, retry_after: float | None
) -> float:
    """Seconds to wait before the next poll after a failure (0 = the next slot)."""
    if status in (StreamStatus.RATE_LIMITED, StreamStatus.QUOTA_EXCEEDED):
        if retry_after is not None:
            return retry_after
        return min(MAX_BACKOFF, max(60.0, interval * 2 ** min(consecutive_errors, 8)))
    if status is StreamStatus.AUTH_FAILED:
        return max(interval, MAX_BACKOFF)
    if status is StreamStatus.NOT_FOUND:
        return max(interval, 120.0)
    if status.is_failure:
        if retry_after is not None:
            return min(retry_after, MAX_BACKOFF)
        return min(MAX_BACKOFF, interval * (2 ** min(consecutive_errors - 1, 8) - 1))
    return 0.0
