"""A worker follows the store for an event only while a client listens to its live stream:
with none, it reads nothing (an idle worker costs no database work); the first client starts
the follower, the last one to leave stops it. On PostgreSQL the follower wakes on the writer's
NOTIFY instead of looking four times a second. A real uvicorn server, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx
from webkit import Site, SSEReader, poll_record, store_polls, stored_poll_ids

from jalsa.live.feed import FOLLOW_EVERY
from jalsa.store.notify import EVERYTHING, PAYLOAD_MAX, streams_in
from jalsa.timeutil import utc_now


def _api(site: Site) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=site.url,
        headers={"Authorization": f"Bearer {site.team['viewer'].token}"},
        timeout=30,
    )


async def _feed(client: httpx.AsyncClient, slug: str) -> dict[str, Any]:
    response = await client.get("/api/feeds")
    assert response.status_code == 200, response.text
    (feed,) = [f for f in response.json() if f["event"] == slug]
    return dict(feed)


async def _until(client: httpx.AsyncClient, slug: str, **wanted: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        feed = await _feed(client, slug)
        if all(feed[k] == v for k, v in wanted.items()):
            return feed
        assert time.monotonic() < deadline, (wanted, feed)
        await asyncio.sleep(0.05)


def _store_one(site: Site, value: int) -> int:
    yt = site.event.stream_ids[0]
    at = utc_now() - timedelta(seconds=60 - value)
    before = set(stored_poll_ids(site.store, [yt]))
    store_polls(site.store, [poll_record(yt, at, [("youtube.concurrent_viewers", at, value)])])
    (new,) = set(stored_poll_ids(site.store, [yt])) - before
    return new


async def test_the_feed_reads_the_store_only_while_a_client_listens(site: Site) -> None:
    slug = site.event.slug
    postgres = site.store.is_postgres
    async with _api(site) as client:
        # a snapshot takes in what was stored, once, and starts no follower
        first = _store_one(site, 1)
        live = (await client.get(f"/api/events/{slug}/live")).json()
        assert live["seq"] == first
        idle = await _feed(client, slug)
        assert idle["following"] is False and idle["wake"] == "idle"
        await asyncio.sleep(1.0)
        assert (await _feed(client, slug))["store_reads"] == idle["store_reads"]

        async with SSEReader(client, f"/api/events/{slug}/stream") as stream:
            assert (await stream.next()).event == "snapshot"
            listening = await _until(
                client, slug, following=True, listeners=1, wake="notify" if postgres else "poll"
            )
            new = _store_one(site, 2)
            message = await stream.next(timeout=3)
            assert (message.id, message.data["samples"][0]["value"]) == (new, 2)
            # nothing stored for a while: on PostgreSQL the follower sleeps until notified,
            # on SQLite it looks every FOLLOW_EVERY seconds
            before = (await _feed(client, slug))["store_reads"]
            await asyncio.sleep(1.5)
            reads = (await _feed(client, slug))["store_reads"] - before
            if postgres:
                assert reads == 0, reads
            else:
                assert reads >= 1.5 / FOLLOW_EVERY / 2, reads
            assert listening["last_poll_id"] == first

        # the last client left: the follower stops, and nothing reads the store any more
        left = await _until(client, slug, following=False, listeners=0, wake="idle")
        _store_one(site, 3)
        await asyncio.sleep(1.0)
        assert (await _feed(client, slug))["store_reads"] == left["store_reads"]

        # a new client starts it again, and what was stored meanwhile is in its snapshot
        async with SSEReader(client, f"/api/events/{slug}/stream") as again:
            snapshot = await again.next()
            assert snapshot.event == "snapshot"
            assert snapshot.id == max(stored_poll_ids(site.store, site.event.stream_ids))
            await _until(client, slug, following=True, listeners=1)


async def test_two_clients_keep_the_feed_until_both_left(sqlite_site: Site) -> None:
    site = sqlite_site
    slug = site.event.slug
    async with _api(site) as client:
        path = f"/api/events/{slug}/stream"
        async with SSEReader(client, path) as one:
            await one.next()
            async with SSEReader(client, path) as two:
                await two.next()
                await _until(client, slug, listeners=2, following=True)
            await _until(client, slug, listeners=1, following=True)
            new = _store_one(site, 4)
            assert (await one.next(timeout=3)).id == new
        await _until(client, slug, listeners=0, following=False)


def test_notification_payloads() -> None:
    assert streams_in("3,1,20") == {1, 3, 20}
    assert streams_in(EVERYTHING) is None
    assert streams_in("1,x") is None  # not ours: wake everyone rather than nobody
    assert streams_in("1," * PAYLOAD_MAX) is None
