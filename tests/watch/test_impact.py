"""The audience link: exact figures from stored samples, computed again here by hand, and the
cases that are not measured (which must never come out as zero)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import mean
from typing import Any

import pytest

from jalsa.store.models import Sample, WatchIncident
from jalsa.store.repo import add_stream, create_event, get_event
from jalsa.watch.impact import audience_impact
from jalsa.watch.store import incidents_between, save_incident

T0 = datetime(2023, 12, 17, 15, 0, tzinfo=UTC)  # 20:00 in Karachi: the incident starts
END = T0 + timedelta(minutes=20)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# (minutes from T0, value): the YouTube stream drops, the Facebook one is steady,
# and each list has samples just outside the windows that must not count.
YOUTUBE = [
    (-11, 9_999_999),  # before the 10-minute window
    (-10, 1000),
    (-7, 1100),
    (-4, 1200),
    (-1, 1300),
    (0, 900),  # the start belongs to the incident
    (5, 400),
    (10, 300),
    (20, 350),  # so does the end
    (21, 9_999_999),  # after it
]
FACEBOOK = [(-5, 200), (-2, 220), (3, 210), (12, 230)]


def seed(store: Any, *, ended: bool = True) -> dict[str, int]:
    with store.session() as s:
        event = create_event(
            s,
            name="Virtual jalsa",
            starts_at=at(-60),
            duration=timedelta(hours=3),
            timezone="Asia/Karachi",
            slug="rally",
        )
        ids = {
            kind: add_stream(s, event, kind=kind, external_id=f"{kind}-1").id
            for kind in ("youtube", "facebook", "x_space", "instagram")
        }
        for kind, metric, rows in (
            ("youtube", "youtube.concurrent_viewers", YOUTUBE),
            ("facebook", "facebook.live_views", FACEBOOK),
        ):
            for minutes, value in rows:
                s.add(
                    Sample(
                        stream_id=ids[kind],
                        metric=metric,
                        observed_at=at(minutes),
                        value=value,
                        fetched_at=at(minutes),
                    )
                )
        # Another metric of the same stream inside the window: not the audience, not counted.
        s.add(
            Sample(
                stream_id=ids["youtube"],
                metric="youtube.view_count",
                observed_at=at(2),
                value=77,
                fetched_at=at(2),
            )
        )
        save_incident(
            s,
            id="inc-1",
            status="closed" if ended else "open",
            started_at=T0,
            ended_at=END if ended else None,
            platforms=["youtube", "x"],
            method="tls.sni_filter",
            confidence=0.9,
            summary="YouTube and X blocked by SNI in Lahore",
            record={},
        )
    return ids


def impact_of(store: Any, **kwargs: Any) -> Any:
    with store.session() as s:
        incident: WatchIncident = incidents_between(s)[0]
        return audience_impact(s, incident, get_event(s, "rally"), **kwargs)


def rows(impact: Any) -> dict[str, Any]:
    return {c.kind: c for p in impact.platforms for c in p.streams}


def test_the_change_is_the_mean_during_minus_the_mean_before(store: Any) -> None:
    ids = seed(store)
    impact = impact_of(store)
    yt = rows(impact)["youtube"]
    before = [v for m, v in YOUTUBE if -10 <= m < 0]
    during = [v for m, v in YOUTUBE if 0 <= m <= 20]
    assert before == [1000, 1100, 1200, 1300] and during == [900, 400, 300, 350]
    assert yt.stream_id == ids["youtube"]
    assert yt.metric == "youtube.concurrent_viewers" and yt.unit == "viewers"
    assert (yt.before, yt.before_samples) == (mean(before), 4)
    assert (yt.during, yt.during_min, yt.during_samples) == (mean(during), 300, 4)
    assert yt.change == mean(during) - mean(before) == 487.5 - 1150
    assert yt.relative == pytest.approx((487.5 - 1150) / 1150)
    assert yt.not_measured is None
    fb = rows(impact)["facebook"]
    assert (fb.before, fb.during, fb.change, fb.before_samples, fb.during_samples) == (
        210,
        220,
        10,
        2,
        2,
    )
    assert fb.relative == pytest.approx(10 / 210)
    assert (impact.start, impact.end, impact.open, impact.before_minutes) == (T0, END, False, 10)


def test_affected_platforms_come_first_and_the_others_are_the_comparison(store: Any) -> None:
    seed(store)
    impact = impact_of(store)
    summary = [(p.platform, p.affected, [c.kind for c in p.streams]) for p in impact.platforms]
    assert summary == [
        ("x", True, ["x_space"]),
        ("youtube", True, ["youtube"]),
        ("facebook", False, ["facebook"]),
        ("instagram", False, ["instagram"]),
    ]


def test_without_samples_the_change_is_not_measured_not_zero(store: Any) -> None:
    seed(store)
    found = rows(impact_of(store))
    space = found["x_space"]  # an audience metric, but no samples stored
    assert (space.before, space.during, space.during_min, space.change, space.relative) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert (space.before_samples, space.during_samples) == (0, 0)
    assert space.not_measured == (
        "no audience samples in the 10 min before nor during the incident"
    )
    instagram = found["instagram"]  # no audience metric at all
    assert instagram.metric is None and instagram.change is None
    assert "gives no viewer count" in (instagram.not_measured or "")


def test_one_missing_side_is_not_measured(store: Any) -> None:
    seed(store)
    # With a 1-minute window only YouTube's sample at -1 is before; Facebook has none.
    found = rows(impact_of(store, before_minutes=1))
    assert (found["youtube"].before, found["youtube"].before_samples) == (1300, 1)
    fb = found["facebook"]
    assert fb.before is None and fb.change is None and fb.during == 220
    assert fb.not_measured == "no audience samples in the 1 min before the incident"


def test_an_open_incident_lasts_until_now(store: Any) -> None:
    seed(store, ended=False)
    impact = impact_of(store, now=at(6))
    yt = rows(impact)["youtube"]
    assert impact.open and impact.end == at(6)
    assert (yt.during, yt.during_min, yt.during_samples) == (mean([900, 400]), 400, 2)
    early = rows(impact_of(store, now=at(-0.5)))["facebook"]
    assert early.during is None and early.before == 210
    assert early.not_measured == "no audience samples during the incident"
