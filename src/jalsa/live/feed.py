"""The read side of live figures: the feed of one event, which keeps the event's live aggregate
current from the store and publishes each stored poll, for the web app's dashboards and SSE
streams (which only format what it gives them). It follows the store, not a tracker process:
whichever process polls (`jalsa track` on another machine, or the demo in this one), every
poll it stores reaches the dashboards. Its figures are planned, restored and updated by the same
code as the tracker's (`plan`, `restore`, `LiveAggregate.apply_poll`), and it builds no
connector: it needs no HTTP client. Message numbers are poll ids, so a browser that drops
its connection resumes with `Last-Event-ID` and gets exactly what it missed, even across a
restart of the web server or from another worker.

A feed follows the store only while a client listens: an idle worker reads nothing. On
PostgreSQL it reads when the writer's NOTIFY says its streams got polls (and every
SAFETY_POLL seconds in case one was lost); on SQLite it looks every FOLLOW_EVERY seconds."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select

from jalsa.config import Settings
from jalsa.live.aggregate import LiveAggregate
from jalsa.live.bus import EventBus, Message, Subscription
from jalsa.live.messages import poll_message
from jalsa.live.plan import add_streams
from jalsa.live.restore import restore
from jalsa.store import Poll, Sample, Store
from jalsa.store.notify import PollListener, Waiter
from jalsa.store.repo import get_event

log = logging.getLogger(__name__)
FOLLOW_EVERY = 0.25  # seconds between looks at the store when nothing wakes the feed
SAFETY_POLL = 10.0  # seconds between looks on PostgreSQL, in case a notification was lost
BATCH = 5_000
# Recent messages kept for clients that reconnect (about four minutes of a 20-stream event);
# a client away longer gets what it missed from the store instead.
HISTORY = 1_000


class EventFeed:
    def __init__(
        self, store: Store, slug: str, settings: Settings, listener: PollListener | None = None
    ) -> None:
        self.store = store
        self.slug = slug
        self.settings = settings
        self.listener = listener
        with store.session() as session:
            event = get_event(session, slug)
            streams = list(event.streams)
            self.stream_ids = [s.id for s in streams]
            self.cursor = (
                session.scalar(select(func.max(Poll.id)).where(Poll.stream_id.in_(self.stream_ids)))
                or 0
            )
        self.aggregate = LiveAggregate(event.ends_at, event.timezone)
        add_streams(self.aggregate, streams, settings)
        restore(store, self.aggregate)
        self.bus = EventBus(history=HISTORY)
        self.bus.start_at(self.cursor)
        self._task: asyncio.Task[None] | None = None
        self._waiter: Waiter | None = None
        self._reading = asyncio.Lock()  # one reader at a time moves the cursor
        self.listeners = 0
        self.store_reads = 0
        self.stale = False

    @property
    def following(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def wake(self) -> str:
        """How the feed learns of new polls now: "notify", "poll", or "idle" (it does not)."""
        if not self.following:
            return "idle"
        return "notify" if self.listener is not None and self.listener.connected else "poll"

    def start(self) -> None:
        if not self.following:
            if self._waiter is not None:
                self._waiter.close()
            if self.listener is not None:
                self._waiter = self.listener.add(self.stream_ids)
            self._task = asyncio.create_task(self._follow(), name=f"feed-{self.slug}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if self._waiter is not None:
            self._waiter.close()
            self._waiter = None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def snapshot(self, now: datetime) -> dict[str, Any]:
        return self.aggregate.snapshot(now)

    async def catch_up(self) -> None:
        """Take in what was stored since the feed last looked, unless it is following (then it
        is as current as the follower)."""
        if not self.following:
            while await self._advance() >= BATCH:
                pass

    async def _follow(self) -> None:
        while True:
            waiter = self._waiter
            if waiter is not None:
                waiter.clear()  # before reading: a notification during the read wakes again
            try:
                count = await self._advance()
            except Exception:  # the database may be restarting; try again shortly
                log.exception("reading new polls of %s failed", self.slug)
                count = 0
            if count >= BATCH:
                continue
            if waiter is not None and self.listener is not None and self.listener.connected:
                await waiter.wait(SAFETY_POLL)
            elif waiter is not None:
                await waiter.wait(FOLLOW_EVERY)  # not listening (yet): look meanwhile
            else:
                await asyncio.sleep(FOLLOW_EVERY)

    async def _advance(self) -> int:
        """Read the polls stored after the cursor (one batch), publish them; how many."""
        async with self._reading:
            if self.stale:
                self.stale = False
                await asyncio.to_thread(self.refresh)
            self.store_reads += 1
            polls = await asyncio.to_thread(self._fetch, self.cursor)
            for poll, samples in polls:
                self.aggregate.apply_poll(poll, samples)
                message = poll_message(
                    self.aggregate, self.slug, poll.stream_id, poll.finished_at, samples
                )
                self.bus.publish("poll", message, seq=poll.id)
                self.cursor = poll.id
            return len(polls)

    def _fetch(
        self, after: int, until: int | None = None
    ) -> list[tuple[Poll, list[tuple[str, datetime, int]]]]:
        """Stored polls of this event after poll id `after` (and up to `until`), in id order,
        each with the samples it wrote."""
        if not self.stream_ids:
            return []
        where = [Poll.stream_id.in_(self.stream_ids), Poll.id > after]
        if until is not None:
            where.append(Poll.id <= until)
        with self.store.session() as session:
            polls = list(session.scalars(select(Poll).where(*where).order_by(Poll.id).limit(BATCH)))
            if not polls:
                return []
            rows = session.execute(
                select(Poll.id, Sample.metric, Sample.observed_at, Sample.value)
                .join(
                    Sample,
                    and_(
                        Sample.stream_id == Poll.stream_id,
                        Sample.fetched_at == Poll.finished_at,
                    ),
                )
                .where(Poll.id.in_([p.id for p in polls]))
            ).all()
        samples: dict[int, list[tuple[str, datetime, int]]] = {p.id: [] for p in polls}
        for poll_id, metric, at, value in rows:
            samples[poll_id].append((metric, at, value))
        return [(p, samples[p.id]) for p in polls]

    async def stored_after(self, after: int) -> AsyncIterator[Message]:
        """Messages rebuilt from the store for polls after `after` up to what the feed has
        published: for a client that was away longer than the bus remembers. They carry the
        points; the stream's figures in them are the current ones."""
        until = self.cursor
        while after < until:
            polls = await asyncio.to_thread(self._fetch, after, until)
            if not polls:
                return
            for poll, samples in polls:
                message = poll_message(
                    self.aggregate, self.slug, poll.stream_id, poll.finished_at, samples
                )
                yield Message(poll.id, "poll", message)
                after = poll.id

    async def messages(self, last_event_id: int | None) -> Delivery:
        """What a client should receive: what it missed since `last_event_id` (from the bus,
        or from the store when the bus no longer has it), then everything new. Subscribes at
        once, so a snapshot taken right after this call misses nothing. The feed follows the
        store until the last client's delivery is closed."""
        await self.catch_up()
        subscription = self.bus.subscribe(self.bus.last_seq)
        self.listeners += 1
        self.start()
        if last_event_id is None or last_event_id >= self.bus.last_seq:
            return Delivery(subscription, on_close=self._left)
        missed = self.bus.missed(last_event_id)
        if missed is None:
            return Delivery(
                subscription, replay=self.stored_after(last_event_id), on_close=self._left
            )
        return Delivery(subscription, missed=missed, on_close=self._left)

    async def _left(self) -> None:
        self.listeners -= 1
        if self.listeners <= 0:
            self.listeners = 0
            await self.stop()  # started again by the next client

    def refresh(self) -> None:
        """Take in streams added to the event and a changed end time, keeping the bus (and so
        every open dashboard's subscription) and the cursor."""
        with self.store.session() as session:
            event = get_event(session, self.slug)
            streams = list(event.streams)
        self.aggregate.ends_at = event.ends_at
        new = [s for s in streams if s.id not in self.aggregate.streams]
        if not new:
            return
        add_streams(self.aggregate, streams, self.settings)
        self.stream_ids = [s.id for s in streams]
        if self._waiter is not None:
            self._waiter.stream_ids = set(self.stream_ids)


class Delivery:
    """One client's messages: first the ones it missed (from the bus's memory, or rebuilt from
    the store), then new ones as they are published."""

    def __init__(
        self,
        subscription: Subscription,
        missed: list[Message] | None = None,
        replay: AsyncIterator[Message] | None = None,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.subscription = subscription
        self.missed = deque(missed or [])
        self.replay = replay
        self._on_close = on_close

    async def next(self, timeout: float) -> Message | None:
        """The next message, or None when nothing new came within `timeout` seconds."""
        if self.replay is not None:
            message = await anext(self.replay, None)
            if message is not None:
                return message
            self.replay = None
        if self.missed:
            return self.missed.popleft()
        return await self.subscription.next(timeout)

    async def close(self) -> None:
        self.subscription.close()
        if self.replay is not None and hasattr(self.replay, "aclose"):
            await self.replay.aclose()
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            await on_close()


class Feeds:
    """One feed per event, made when a dashboard first asks for it; it follows the store while
    clients listen. On PostgreSQL the feeds share one LISTEN connection."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.listener = PollListener(store.engine) if store.is_postgres else None
        self._feeds: dict[str, EventFeed] = {}
        self._lock = asyncio.Lock()

    async def get(self, slug: str) -> EventFeed:
        """The event's feed, built (from the store, in a worker thread: database work must
        never block the event loop) on first use."""
        feed = self._feeds.get(slug)
        if feed is not None:
            return feed
        async with self._lock:
            feed = self._feeds.get(slug)
            if feed is None:
                feed = await asyncio.to_thread(
                    EventFeed, self.store, slug, self.settings, self.listener
                )
                self._feeds[slug] = feed
        return feed

    async def current(self, slug: str) -> EventFeed:
        """The event's feed with everything stored so far taken in (for a snapshot)."""
        feed = await self.get(slug)
        await feed.catch_up()
        return feed

    def refresh(self, slug: str) -> None:
        """The event's streams or times changed: let its feed (if any) take them in."""
        feed = self._feeds.get(slug)
        if feed is not None:
            feed.stale = True  # taken in by the next read, after the change is committed

    def status(self) -> list[dict[str, Any]]:
        """Each feed of this process: its clients, whether and how it follows the store, and
        how often it read the store."""
        return [
            {
                "event": slug,
                "listeners": feed.listeners,
                "following": feed.following,
                "wake": feed.wake,
                "store_reads": feed.store_reads,
                "last_poll_id": feed.cursor,
            }
            for slug, feed in sorted(self._feeds.items())
        ]

    async def close(self) -> None:
        for feed in self._feeds.values():
            await feed.stop()
        self._feeds.clear()
        if self.listener is not None:
            await self.listener.close()
