"""Live trend alerts: the batch spike rule on the last minutes, announced once per spike after
its minute closes, with the evidence `jalsa trends` shows, to the app and to signed webhooks,
and delivered again after a crash between recording and delivering."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from postkit import T0, rally, write

from jalsa.conversation.analysis import analyze
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.engines import DuckDBEngine
from jalsa.conversation.trend_alerts import ALERTS_FILE, WEBHOOK_EVENT, TrendAlert, TrendAlerter
from jalsa.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, WebhookSink, verify
from webhook_receiver import receiving

SECRET = "trend-secret"
SPIKE_END = T0 + timedelta(minutes=21)  # the rally's #shutdown spikes in minutes 20 and 21


@pytest.fixture
def dataset(tmp_path: Path) -> PostDataset:
    found = PostDataset(tmp_path / "rally")
    write(rally(), found.posts, parts=3)
    return found


def alerter(dataset: PostDataset, at: datetime, **kw: object) -> TrendAlerter:
    return TrendAlerter(dataset, "rally", now=lambda: at, **kw)  # type: ignore[arg-type]


def test_a_spike_is_found_once_its_minute_closes_with_the_batch_figures(
    dataset: PostDataset,
) -> None:
    assert alerter(dataset, SPIKE_END + timedelta(seconds=4)).check() == []  # grace: 5 s
    [alert] = alerter(dataset, SPIKE_END + timedelta(seconds=6)).check()
    engine = DuckDBEngine(dataset.parts())
    batch = analyze(engine, only=("tag_spikes", "spike_evidence"))
    engine.close()
    spike = next(s for s in batch.spikes if s["tag"] == "shutdown")
    first = next(
        r
        for r in batch.results["tag_spikes"]
        if r["tag"] == "shutdown" and r["minute"] == spike["first_minute"]
    )
    assert (alert.tag, alert.minute, alert.at) == (
        "shutdown",
        first["minute"],
        T0 + timedelta(minutes=20),
    )
    assert alert.posts == first["posts"] and alert.score == round(first["score"], 3)
    assert alert.expected == round(first["expected"], 3) and alert.score >= alert.threshold
    assert [p.id for p in alert.top_posts] == [p["id"] for p in spike["top_posts"]]
    assert [a.id for a in alert.top_accounts] == [a["id"] for a in spike["top_accounts"]]
    assert alert.top_posts and alert.top_accounts
    assert alert.delay_seconds == 6.0 and "Poisson" in alert.definition


def test_each_spike_is_announced_once_and_survives_a_crash_before_delivery(
    dataset: PostDataset,
) -> None:
    at = SPIKE_END + timedelta(seconds=10)
    first = alerter(dataset, at)
    [alert] = first.check()
    # the process stops here, after recording, before delivering
    seen: list[TrendAlert] = []
    with receiving([503]) as receiver:  # the receiver fails once: retried
        sink = WebhookSink([receiver.url], SECRET, backoff=0.01)
        again = alerter(dataset, at + timedelta(minutes=1), in_app=[seen.append], webhooks=[sink])
        [pending] = again.check()
        assert pending == alert
        [delivery] = asyncio.run(again.deliver([pending]))
        assert delivery.ok and delivery.attempts == 2
        assert again.check() == []  # delivered: not again
        assert alerter(dataset, at + timedelta(minutes=2)).check() == []  # nor after a restart
    assert seen == [alert]
    (headers, body), (headers2, body2) = receiver.received
    assert body == body2 == alert.body() and headers[DELIVERY_HEADER] == headers2[DELIVERY_HEADER]
    assert headers[EVENT_HEADER] == WEBHOOK_EVENT
    assert verify(body, SECRET, headers[SIGNATURE_HEADER])
    sent = orjson.loads(body)
    assert sent["kind"] == WEBHOOK_EVENT and sent["alert"]["tag"] == "shutdown"
    assert again.alerts() == [alert]


def test_old_spikes_are_history_not_news(dataset: PostDataset) -> None:
    """A server started long after the spike does not announce it."""
    assert alerter(dataset, SPIKE_END + timedelta(minutes=10)).check() == []


def test_a_torn_record_line_is_skipped(dataset: PostDataset) -> None:
    at = SPIKE_END + timedelta(seconds=10)
    [alert] = alerter(dataset, at).check()
    with (dataset.root / ALERTS_FILE).open("a") as f:
        f.write('{"key": "shutdown@')  # the process died mid-line
    again = alerter(dataset, at)
    [pending] = again.check()
    assert pending == alert
    asyncio.run(again.deliver([pending]))  # its record closes the torn line first
    assert alerter(dataset, at).check() == []
    lines = (dataset.root / ALERTS_FILE).read_text().splitlines()
    assert json.loads(lines[0])["key"] == alert.key


def test_the_engine_reads_only_the_posts_since(dataset: PostDataset) -> None:
    since = T0 + timedelta(minutes=25)
    engine = DuckDBEngine(dataset.parts(), since=since)
    [[count, oldest]] = engine.con.execute("SELECT count(*), min(created_at) FROM posts").fetchall()
    engine.close()
    every = DuckDBEngine(dataset.parts())
    [[expected]] = every.con.execute(
        "SELECT count(*) FROM posts WHERE created_at >= ?", [since]
    ).fetchall()
    every.close()
    assert 0 < count == expected and oldest >= since
