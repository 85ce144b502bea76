"""The tracker: one asyncio task per stream polls on its grid, one writer task stores results
in batches and only then updates the live aggregate and publishes on the bus, so nothing is
shown that is not stored."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from datetime import datetime, timedelta
from typing import Any

import httpx

from jalsa.clock import Clock, SystemClock
from jalsa.config import Settings
from jalsa.live.aggregate import LiveAggregate
from jalsa.live.bus import EventBus
from jalsa.live.messages import poll_message
from jalsa.live.plan import Group, Member, plan_groups
from jalsa.live.restore import restore
from jalsa.live.schedule import backoff, next_slot
from jalsa.platforms.base import Connector, PollError, PollResult, StreamStatus, Target, Usage
from jalsa.store import Store
from jalsa.store.models import Event, Stream
from jalsa.store.repo import (
    PollRecord,
    get_event,
    write_polls,
)

log = logging.getLogger(__name__)

WRITE_BATCH = 2_000
WRITE_EVERY = 0.5  # seconds (wall clock) a batch may wait to fill


async def cancel(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel the tasks and wait until they have ended. On Python 3.11 `asyncio.wait_for`
    loses a cancellation that arrives as the awaited call finishes (the task then goes on
    as if nothing happened), so a task still running a second later is cancelled again."""
    while running := [t for t in tasks if not t.done()]:
        for task in running:
            task.cancel()
        await asyncio.wait(running, timeout=1.0)
    await asyncio.gather(*tasks, return_exceptions=True)  # their errors are theirs to log


class Tracker:
    """`jalsa track` for one event: its streams polled on their grids, each batch of results
    stored, then applied to the live aggregate and published on the bus."""

    def __init__(
        self,
        store: Store,
        event_ref: str,
        settings: Settings,
        *,
        clock: Clock | None = None,
        client: httpx.AsyncClient | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock or SystemClock()
        self.bus = bus or EventBus()
        self._client = client
        self._own_client = client is None
        with store.session() as session:
            self.event: Event = get_event(session, event_ref)
            self.streams: list[Stream] = list(self.event.streams)
        self.aggregate = LiveAggregate(self.event.ends_at, self.event.timezone)
        self._query = self.event.x_query  # what a query stream (X posts per minute) reads
        self.lateness: deque[float] = deque(maxlen=100_000)  # wall-clock seconds
        self.written = 0
        self._queue: asyncio.Queue[PollRecord] = asyncio.Queue()
        self._groups: list[tuple[Group, Connector]] = []  # each with the connector polling it

    # -- setup ------------------------------------------------------------------------------

    def _build_groups(self, client: httpx.AsyncClient) -> None:
        groups = plan_groups(self.streams, self.settings)
        self._groups = [(g, g.connector_class.from_settings(client, self.settings)) for g in groups]
        for group in groups:
            for member in group.members:
                self.aggregate.add(member.state)

    def _restore(self) -> None:
        """After a restart: figures, peaks and spend come back from the store."""
        restore(self.store, self.aggregate)

    # -- running ----------------------------------------------------------------------------

    async def run(
        self, *, until: datetime | None = None, stop: asyncio.Event | None = None
    ) -> None:
        """Poll every stream until `until` (clock time) or until `stop` is set."""
        client = self._client or httpx.AsyncClient(
            timeout=self.settings.http_timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
            headers={"User-Agent": "jalsa-tracker"},
        )
        self._build_groups(client)
        await asyncio.to_thread(self._restore)
        writer = asyncio.create_task(self._writer(), name="jalsa-writer")
        pollers = [
            asyncio.create_task(
                self._poll_loop(group, connector), name=f"poll-{group.members[0].stream.id}"
            )
            for group, connector in self._groups
        ]
        stop = stop or asyncio.Event()
        try:
            waiters: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
            if until is not None:
                waiters.append(asyncio.create_task(self._sleep_until(until)))
            _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        finally:
            await cancel(pollers)
            await self._queue.join()
            await cancel([writer])
            if self._own_client:
                await client.aclose()

    async def _sleep_until(self, when: datetime) -> None:
        while (remaining := (when - self.clock.now()).total_seconds()) > 0:
            await self.clock.sleep(min(remaining, 60.0))

    async def _poll_loop(self, group: Group, connector: Connector) -> None:
        slot = next_slot(self.clock.now(), group.interval, group.offset)
        while True:
            for member in group.members:
                member.state.next_poll_at = slot
            delay = (slot - self.clock.now()).total_seconds()
            if delay > 0:
                await self.clock.sleep(delay)
            self.lateness.append(
                max(0.0, (self.clock.now() - slot).total_seconds()) / self.clock.speed
            )
            records, failure, retry_after = await self._poll_once(group, connector, slot)
            for record in records:
                await self._queue.put(record)
            # Back off only when the poll as a whole failed (one stream's unknown id in a batch
            # must not slow down the others).
            group.consecutive_errors = group.consecutive_errors + 1 if failure else 0
            wait = backoff(
                failure or StreamStatus.OK, group.consecutive_errors, group.interval, retry_after
            )
            earliest = max(slot, self.clock.now() + timedelta(seconds=wait))
            if wait > 0:  # a little randomness so streams backing off do not retry in step
                earliest += timedelta(seconds=random.uniform(0, group.interval / 4))
            slot = next_slot(earliest, group.interval, group.offset)

    def _target(self, group: Group, member: Member) -> Target:
        """What the stream's connector class says to poll (its id; for a query stream, the
        event's query and where to start reading)."""
        return group.connector_class.target(
            member.stream.external_id,
            query=self._query,
            starts_at=self.event.starts_at,
            latest=member.state.latest,
        )

    async def _poll_once(
        self, group: Group, connector: Connector, slot: datetime
    ) -> tuple[list[PollRecord], StreamStatus | None, float | None]:
        """Poll the group once. Returns a record per stream, the status of the poll when it
        failed as a whole (else None), and how long the platform asked us to wait."""
        targets = [self._target(group, m) for m in group.members]
        outcomes: list[PollResult | PollError]
        try:
            outcomes, usage = await asyncio.wait_for(
                connector.poll_many(targets, slot),
                timeout=self.settings.http_timeout * 3,
            )
        except TimeoutError:
            failed = PollError(StreamStatus.TIMEOUT, "poll took too long")
            outcomes, usage = [failed] * len(targets), Usage()
        except Exception as exc:  # a connector bug must not stop the other streams
            log.exception("poll of streams %s failed", [m.stream.id for m in group.members])
            failed = PollError(StreamStatus.BAD_RESPONSE, f"internal error: {exc!r}")
            outcomes, usage = [failed] * len(targets), Usage()
        finished = self.clock.now()
        records = []
        for member, outcome, share in zip(
            group.members, outcomes, usage.share(len(outcomes)), strict=True
        ):
            state = member.state
            status = outcome.status
            state.consecutive_errors = state.consecutive_errors + 1 if status.is_failure else 0
            readings = outcome.readings if isinstance(outcome, PollResult) else []
            records.append(
                PollRecord(
                    stream_id=member.stream.id,
                    scheduled_at=slot,
                    finished_at=finished,
                    status=status.value,
                    detail=outcome.detail,
                    http_status=getattr(outcome, "http_status", None),
                    requests=share.requests,
                    quota_units=share.quota_units,
                    billed_resources=share.billed_resources,
                    cost_usd=share.cost_usd,
                    samples=tuple((r.metric, r.observed_at or slot, r.value) for r in readings),
                )
            )
        failures = [o for o in outcomes if isinstance(o, PollError)]
        if len(failures) == len(outcomes) and len({f.status for f in failures}) == 1:
            retry = max(
                (f.retry_after for f in failures if f.retry_after is not None), default=None
            )
            return records, failures[0].status, retry
        return records, None, None

    async def _writer(self) -> None:
        while True:
            batch = [await self._queue.get()]
            deadline = asyncio.get_running_loop().time() + WRITE_EVERY
            while len(batch) < WRITE_BATCH:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), timeout))
                except TimeoutError:
                    break
            try:
                await asyncio.to_thread(self._write, batch)
                self._publish(batch)
            except Exception:
                log.exception("writing %d polls failed; retrying", len(batch))
                for record in batch:  # keep them: they are retried with the next batch
                    self._queue.put_nowait(record)
                await asyncio.sleep(1.0)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(self, batch: list[PollRecord]) -> None:
        with self.store.session() as session:
            write_polls(session, batch)
        self.written += len(batch)

    def _publish(self, batch: list[PollRecord]) -> None:
        for record in batch:
            self.aggregate.apply_poll(record, record.samples)
            if not self.bus.has_subscribers:
                continue  # nobody in this process listens: skip building the message
            self.bus.publish(
                "poll",
                poll_message(
                    self.aggregate,
                    self.event.slug,
                    record.stream_id,
                    record.finished_at,
                    record.samples,
                ),
            )

    def snapshot(self) -> dict[str, object]:
        return self.aggregate.snapshot(self.clock.now())
