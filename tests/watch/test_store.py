"""The watch's store: repeated uploads store once; incidents are found by overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jalsa.watch.record import Measurement, Observations, Vantage, Verdict
from jalsa.watch.store import (
    incidents_between,
    measurements_by_id,
    measurements_since,
    save_incident,
    save_measurements,
)

T0 = datetime(2023, 12, 17, 15, 0, tzinfo=UTC)


def measurement(n: int, method: str = "ok") -> Measurement:
    at = T0 + timedelta(minutes=n)
    return Measurement(
        id=f"lahore-{n}",
        target="x.com",
        platform="x",
        vantage=Vantage(name="lahore-1", city="Lahore", network="PTCL"),
        round_at=at,
        started_at=at,
        finished_at=at + timedelta(seconds=2),
        observations=Observations(),
        verdict=Verdict(method=method, reason="test"),
        latency_ms=42.0,
    )


def test_a_repeated_upload_stores_nothing_twice(store: Any) -> None:
    first = [measurement(0), measurement(1, "tls.sni_filter")]
    with store.session() as s:
        assert [m.id for m in save_measurements(s, first)] == ["lahore-0", "lahore-1"]
    with store.session() as s:
        new = save_measurements(s, [measurement(1, "tls.sni_filter"), measurement(2)])
        assert [m.id for m in new] == ["lahore-2"]
    with store.session() as s:
        back = measurements_since(s, T0)
        assert [m.id for m in back] == ["lahore-0", "lahore-1", "lahore-2"]
        assert back[1] == first[1]
        assert measurements_by_id(s, ["lahore-1"])[0].verdict.blocked


def test_incidents_are_upserted_and_found_by_overlap(store: Any) -> None:
    def save(id: str, start: int, end: int | None, status: str = "closed") -> None:
        with store.session() as s:
            save_incident(
                s,
                id=id,
                status=status,
                started_at=T0 + timedelta(minutes=start),
                ended_at=None if end is None else T0 + timedelta(minutes=end),
                platforms=["x"],
                method="tls.sni_filter",
                confidence=0.8,
                summary=id,
                record={"id": id},
            )

    save("early", 0, 10)
    save("late", 100, None, "open")
    save("late", 100, 130)  # the same incident, closed
    with store.session() as s:
        assert [i.id for i in incidents_between(s)] == ["early", "late"]
        window = incidents_between(s, T0 + timedelta(minutes=20), T0 + timedelta(minutes=120))
        assert [(i.id, i.status) for i in window] == [("late", "closed")]
        assert [i.id for i in incidents_between(s, T0 + timedelta(minutes=5))] == [
            "early",
            "late",
        ]
