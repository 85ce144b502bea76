"""Planning a stream's live state reads only what the connector classes declare: the expected
spend and what to poll come from the class (and Settings), so the read side needs no connector
and the tracker needs no case per platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jalsa.config import load_settings
from jalsa.live.aggregate import Point
from jalsa.platforms.base import Target
from jalsa.platforms.registry import CONNECTORS

STARTS = datetime(2024, 2, 8, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("kind", sorted(CONNECTORS))
def test_planned_spend_is_what_a_connector_built_from_the_settings_expects(kind: str) -> None:
    settings = load_settings(x_usd_per_request=0.002, x_usd_per_resource=0.01)
    cls = CONNECTORS[kind]
    built = cls.from_settings(None, settings)
    for batch in sorted({1, 2, cls.batch_size}):
        assert cls.planned_usage(settings, batch) == built.expected_usage(batch), batch


@pytest.mark.parametrize("kind", sorted(set(CONNECTORS) - {"x_counts"}))
def test_a_broadcast_stream_polls_its_own_id(kind: str) -> None:
    latest = {m: Point(STARTS, 5) for m in CONNECTORS[kind].metrics}
    target = CONNECTORS[kind].target("abc", query="#a OR #b", starts_at=STARTS, latest=latest)
    assert target == Target("abc")


def test_a_query_stream_reads_the_events_query_from_where_it_left_off() -> None:
    cls = CONNECTORS["x_counts"]
    first = cls.target("posts", query="#a OR #b", starts_at=STARTS, latest={})
    assert first == Target("posts", query="#a OR #b", since=STARTS - timedelta(minutes=30))
    bucket = STARTS + timedelta(minutes=7)
    later = cls.target(
        "posts",
        query="#a OR #b",
        starts_at=STARTS,
        latest={"x.posts_per_minute": Point(bucket, 12)},
    )
    # X revises a bucket while it is open: the last two are read again
    assert later == Target("posts", query="#a OR #b", since=bucket - timedelta(minutes=2))
