"""Running the event's collectors and moderating what they bring.

`Collecting.run_event` starts, for each of the event's streams, the jobs its platform's inbox
collecting makes (`Platform.inbox`, found through the registry: a YouTube video's live chat and
comments, a Facebook live video's comments, an Instagram account's live comments, the mentions
and replies of the team's X account), each collector at its platform's pace in its own task,
and moderates what they hand over as it arrives. `self.sources` holds each source's last
status, or the setting a skipped source lacks. `Collecting.run` is the simpler loop that polls
one collecting function every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial

import httpx

from jalsa.errors import UserError
from jalsa.inbox import store as q
from jalsa.inbox.pipeline import Ingested, Pipeline, Todo, record_of
from jalsa.platforms.collect.inbox import (
    InboxContext,
    InboxSource,
    InboxTap,
    Job,
    inbox_dataset_dir,
)
from jalsa.platforms.inbox_record import InboxItem
from jalsa.platforms.registry import inbox_source_for
from jalsa.store.models import Event

log = logging.getLogger(__name__)

# Items handed over by a collector, when they arrived, and what to call once they are stored.
Arrival = tuple[datetime, list[InboxItem], Callable[[], None]]


class Collecting:
    """The collecting loops, moderating through `pipeline`."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.sources: dict[str, str] = {}  # collector source -> its last round's status

    async def run(
        self,
        event_id: int,
        collect: Callable[[], Awaitable[Sequence[InboxItem]]],
        *,
        every: float = 5.0,
        rounds: int | None = None,
        on_round: Callable[[Ingested], None] | None = None,
    ) -> Ingested:
        """Collect, moderate and retry, every `every` seconds of the pipeline's clock, until
        cancelled (or for `rounds` rounds). A failed collection is logged and tried again at
        the next round; it never ends the loop."""
        pipeline = self.pipeline
        total = Ingested()
        done = 0
        while rounds is None or done < rounds:
            round_ = Ingested()
            try:
                items = await collect()
                round_ = await pipeline.ingest(event_id, items)
            except UserError:
                raise
            except Exception:
                log.exception("inbox: a collection round failed; trying again next round")
            try:
                round_.results.update(await pipeline.retry_due())
            except Exception:
                log.exception("inbox: retrying platform actions failed")
            total.add(round_)
            if on_round is not None:
                on_round(round_)
            done += 1
            if every > 0 and (rounds is None or done < rounds):
                await pipeline.clock.sleep(every)
        return total

    async def run_event(
        self,
        event_id: int,
        stop: asyncio.Event,
        *,
        on_round: Callable[[Ingested], None] | None = None,
        collectors: Sequence[InboxTap] | None = None,
        wait: float = 1.0,
        client: httpx.AsyncClient | None = None,
    ) -> Ingested:
        """Collect the event's streams (each collector at its platform's pace, in its own
        task) and moderate what they bring as it arrives, until `stop` is set. The state of
        each source is in `self.sources`. `collectors`: these instead of the event's streams'.
        `client`: the collectors' HTTP client (default: one made and closed here)."""
        pipeline = self.pipeline
        feed: asyncio.Queue[Arrival] = asyncio.Queue()

        def arrived(items: list[InboxItem], stored: Callable[[], None]) -> None:
            feed.put_nowait((pipeline.clock.now(), items, stored))

        total = Ingested()
        acting: set[asyncio.Task[None]] = set()

        def counted(round_: Ingested) -> None:
            total.add(round_)
            if on_round is not None:
                on_round(round_)

        async def act(todo: list[Todo]) -> None:
            # Platform calls run beside the loop: a slow platform does not delay the next
            # items' decisions.
            counted(Ingested(results=await pipeline.perform(todo)))

        loop = asyncio.get_running_loop()

        def start_acting(todo: list[Todo]) -> None:
            task = asyncio.create_task(act(todo))
            acting.add(task)
            task.add_done_callback(acting.discard)

        def committed(todo: list[Todo]) -> None:  # called in the worker thread
            loop.call_soon_threadsafe(start_acting, todo)

        # Handed over, not yet stored: a failed round leaves its arrivals here, in order, for
        # the next (a collector's mark must never pass items that are not stored).
        pending: list[Arrival] = []

        async def moderate() -> None:
            round_ = Ingested()
            try:
                while pending:
                    at, items, stored = pending[0]
                    if items:
                        result, _ = await asyncio.to_thread(
                            pipeline.store_and_decide, event_id, items, at, committed
                        )
                        round_.add(result)
                    await asyncio.to_thread(stored)
                    del pending[0]
                round_.results.update(await pipeline.retry_due())
            finally:
                counted(round_)

        async def take() -> None:
            with contextlib.suppress(TimeoutError):
                pending.append(await asyncio.wait_for(feed.get(), wait))
            while not feed.empty():
                pending.append(feed.get_nowait())

        async with contextlib.AsyncExitStack() as resources:
            if client is None:
                client = await resources.enter_async_context(
                    httpx.AsyncClient(timeout=pipeline.settings.http_timeout)
                )
            ctx = InboxContext(
                client=client,
                settings=pipeline.settings,
                clock=pipeline.clock,
                dataset_dir=inbox_dataset_dir(pipeline.settings),
                arrived=arrived,
                stop=stop,
                sources=self.sources,
                first_answers=partial(self._first_answers, event_id),
            )
            if collectors is None:
                with pipeline.store.session() as session:
                    event = session.get(Event, event_id)
                    if event is None:
                        raise UserError(f"no event {event_id}")
                    streams = [(s.kind, s.external_id) for s in event.streams]
                jobs = platform_jobs(streams, ctx)
            else:
                jobs = [ctx.run(c) for c in collectors]
            tasks = [asyncio.create_task(job) for job in jobs]
            try:
                while not stop.is_set():
                    await take()
                    try:
                        await moderate()
                    except UserError:
                        raise
                    except Exception:  # the database may be restarting: next round again
                        log.exception("inbox: moderating a round failed")
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                # What arrived before the collectors stopped is moderated too.
                with contextlib.suppress(Exception):
                    await take()
                    await moderate()
                await asyncio.gather(*acting, return_exceptions=True)
        return total

    def _first_answers(self, event_id: int, platform: str, kind: str) -> list[InboxItem]:
        with self.pipeline.store.session() as session:
            return [record_of(r) for r in q.first_answers(session, event_id, platform, kind)]


def platform_jobs(streams: Sequence[tuple[str, str]], ctx: InboxContext) -> list[Job]:
    """The collecting jobs of the event's streams, (kind, external id) each, made by the inbox
    collecting of each stream's platform: every stream's jobs in order, then each platform's
    jobs for the event as a whole. A stream of a platform without inbox collecting (or of a
    kind no installed platform knows) has none."""
    made: dict[type[InboxSource], InboxSource] = {}
    jobs: list[Job] = []
    for kind, external_id in streams:
        cls = inbox_source_for(kind)
        if cls is None:
            continue
        source = made.get(cls) or made.setdefault(cls, cls(ctx))
        jobs += source.stream_jobs(kind, external_id)
    for source in made.values():
        jobs += source.event_jobs()
    return jobs
