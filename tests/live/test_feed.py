"""The read side of live figures (`jalsa.live.feed`) without the web app: it plans the
tracker's stream states from the connector classes alone, so it builds no connector and needs
no HTTP client, and it takes in stored polls through the aggregate's one `apply_poll`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from jalsa.config import load_settings
from jalsa.live.aggregate import LiveAggregate
from jalsa.live.feed import Feeds
from jalsa.live.plan import plan_groups
from jalsa.platforms.base import Connector
from jalsa.platforms.registry import CONNECTORS
from jalsa.store import Store
from jalsa.store.repo import PollRecord, add_stream, create_event, get_event, write_polls

SETTINGS = load_settings(x_usd_per_request=0.002, x_usd_per_resource=0.01)


def _event(store: Store, starts_at: datetime) -> None:
    with store.session() as s:
        event = create_event(
            s,
            name="read side",
            starts_at=starts_at,
            duration=timedelta(hours=2),
            timezone="Asia/Karachi",
            hashtags=["#ReadSide"],
            slug="rally",
        )
        for kind in sorted(CONNECTORS):
            add_stream(s, event, kind=kind, external_id=f"{kind}1")
        add_stream(s, event, kind="youtube", external_id="youtube2")  # a batch of two


def _poll(stream_id: int, metric: str | None, at: datetime, value: int) -> PollRecord:
    return PollRecord(
        stream_id=stream_id,
        scheduled_at=at,
        finished_at=at + timedelta(seconds=1),
        status="ok",
        detail="",
        http_status=200,
        requests=1,
        quota_units=1,
        billed_resources=0,
        cost_usd=0.0,
        samples=((metric, at, value),) if metric else (),
    )


@pytest.fixture
def no_connectors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a connector or an HTTP client fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the read side built a connector or an HTTP client")

    monkeypatch.setattr(Connector, "__init__", refuse)
    monkeypatch.setattr(httpx.AsyncClient, "__init__", refuse)


async def test_the_feed_builds_no_connector_and_no_http_client(
    store: Store, no_connectors: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    _event(store, now - timedelta(minutes=10))
    applied: list[int] = []
    original = LiveAggregate.apply_poll

    def spy(self: LiveAggregate, poll: Any, samples: Any) -> None:
        applied.append(poll.stream_id)
        original(self, poll, samples)

    monkeypatch.setattr(LiveAggregate, "apply_poll", spy)
    feeds = Feeds(store, SETTINGS)
    try:
        feed = await feeds.get("rally")
        with store.session() as s:
            streams = list(get_event(s, "rally").streams)
        # the states the tracker would plan, spend forecast included
        planned = {
            m.state.stream_id: m.state for g in plan_groups(streams, SETTINGS) for m in g.members
        }
        assert feed.aggregate.streams == planned
        audience = {s.id: CONNECTORS[s.kind].metrics[0] for s in streams}
        with store.session() as s:
            write_polls(
                s, [_poll(sid, m, now - timedelta(seconds=30), 100) for sid, m in audience.items()]
            )
        feed = await feeds.current("rally")
        assert sorted(applied) == sorted(audience)
        snapshot = feed.snapshot(now)
        assert {s["stream_id"]: s["polls"] for s in snapshot["streams"]} == dict.fromkeys(
            audience, 1
        )
        youtube = [s for s in snapshot["streams"] if s["kind"] == "youtube"]
        assert [s["now"] for s in youtube] == [100, 100]
        assert snapshot["combined"]["value"] is not None

        # a stream added later is planned the same way
        with store.session() as s:
            added = add_stream(s, get_event(s, "rally"), kind="x_space", external_id="x_space2").id
        feeds.refresh("rally")
        feed = await feeds.current("rally")
        assert feed.aggregate.streams[added].kind == "x_space"
    finally:
        await feeds.close()
