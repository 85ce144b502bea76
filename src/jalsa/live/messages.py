"""The live message for one stored poll, the same whoever sends it (the tracker's in-process
bus, or the feed that follows the store for the web app)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from jalsa.live.aggregate import LiveAggregate


def poll_message(
    aggregate: LiveAggregate,
    event: str,
    stream_id: int,
    finished_at: datetime,
    samples: Sequence[tuple[str, datetime, int]],
) -> dict[str, Any]:
    combined = aggregate.combined(finished_at)
    return {
        "event": event,
        "stream": aggregate.stream_snapshot(aggregate.streams[stream_id], finished_at),
        "samples": [{"metric": m, "at": at.isoformat(), "value": v} for m, at, v in samples],
        "combined": {
            "value": combined.value if combined.included else None,
            "partial": combined.partial,
            "at": finished_at.isoformat(),
        },
        "peak_of_sum": (
            {"value": aggregate.peak_of_sum.value, "at": aggregate.peak_of_sum.at.isoformat()}
            if aggregate.peak_of_sum
            else None
        ),
    }
