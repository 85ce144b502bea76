"""Gathering an event's conversation live: the collectors for what the event has (X search on
its hashtags, the live chat of its YouTube streams, the comments on its Facebook live videos,
and the X filtered stream if asked), running side by side, and their raw logs ingested into the
event's dataset every few seconds. `jalsa collect` and the demo run it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from jalsa.clock import Clock, SystemClock
from jalsa.config import Settings
from jalsa.conversation.compaction import Compactor
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.follow import ingest_new_lines
from jalsa.conversation.ingest import IngestSummary
from jalsa.platforms.collect.base import (
    NEEDS_A_PERSON,
    CollectError,
    Collector,
    CollectResult,
    pause,
)
from jalsa.platforms.facebook.comments import FacebookCommentsCollector
from jalsa.platforms.x.collect import XCountsCollector, XSearchCollector
from jalsa.platforms.x.stream import XStreamCollector
from jalsa.platforms.youtube.chat import YouTubeChatCollector

log = logging.getLogger(__name__)
CHAT_RETRY_SECONDS = 60.0  # how often to look for a video's live chat before it has one


@dataclass
class Plan:
    """What to collect for an event."""

    x_query: str | None = None
    x_stream: bool = False
    youtube_videos: list[str] = field(default_factory=list)
    facebook_objects: list[str] = field(default_factory=list)
    since: datetime | None = None

    @classmethod
    def for_event(cls, event: Any, x_stream: bool = False) -> Plan:
        """Everything the event names: its hashtags and its YouTube and Facebook streams."""
        streams = list(event.streams)
        return cls(
            x_query=event.x_query,
            x_stream=x_stream,
            youtube_videos=[s.external_id for s in streams if s.kind == "youtube"],
            facebook_objects=[s.external_id for s in streams if s.kind == "facebook"],
            since=event.starts_at,
        )

    def is_empty(self) -> bool:
        return not (self.x_query or self.youtube_videos or self.facebook_objects)


@dataclass
class SourceState:
    name: str
    rounds: int = 0
    pages: int = 0
    items: int = 0
    status: str = "starting"
    detail: str = ""
    requests: int = 0
    quota_units: int = 0
    cost_usd: float = 0.0


@dataclass
class Totals:
    sources: dict[str, SourceState] = field(default_factory=dict)
    posts: int = 0  # new posts in the dataset since the gathering started
    duplicates: int = 0
    quarantined: int = 0
    rounds: int = 0
    last_error: str = ""

    def record(self, result: CollectResult) -> None:
        state = self.sources.setdefault(result.source, SourceState(result.source))
        state.rounds += 1
        state.pages += result.pages
        state.items += result.items
        state.status = result.status.value
        state.detail = result.detail
        state.requests += result.requests
        state.quota_units += result.quota_units
        state.cost_usd += result.cost_usd

    def add(self, summary: IngestSummary) -> None:
        self.posts += summary.accepted
        self.duplicates += summary.duplicates
        self.quarantined += summary.quarantined
        self.rounds += 1


class Gathering:
    """One event's live gathering: its plan's collectors appending to their raw logs, and the
    follower ingesting what they append, until stopped."""

    def __init__(
        self,
        dataset: PostDataset,
        plan: Plan,
        settings: Settings,
        *,
        every: float = 15.0,
        clock: Clock | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.dataset = dataset
        self.plan = plan
        self.settings = settings
        self.every = every
        self.clock = clock or SystemClock()
        self.client = client
        self.totals = Totals()
        self.compactor = Compactor(dataset)
        self.on_change: Callable[[Totals], None] | None = None

    async def run(self, stop: asyncio.Event) -> Totals:
        """Collect until `stop` is set, ingesting every `every` seconds and once at the end."""
        async with contextlib.AsyncExitStack() as stack:
            client = self.client
            if client is None:
                client = await stack.enter_async_context(
                    httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
                )
            jobs = [self._run_one(c, stop) for c in self._collectors(client)]
            jobs += [self._youtube(client, video, stop) for video in self.plan.youtube_videos]
            tasks = [asyncio.create_task(job) for job in jobs]
            try:
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.every)
                    await self.ingest()
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                await self.ingest()
                await asyncio.to_thread(self.compactor.stop)  # a merge cut short is redone
        return self.totals

    async def ingest(self) -> None:
        """Ingest what the collectors wrote since last time; merge the small parts that this
        leaves behind, in a thread of their own, once a tier of them is full."""
        summary = await asyncio.to_thread(ingest_new_lines, self.dataset)
        await asyncio.to_thread(self.compactor.poke)
        if summary is not None:
            self.totals.add(summary)
            self._changed()

    def _options(self) -> dict[str, Any]:
        return {"dataset_dir": self.dataset.root, "clock": self.clock, "on_result": self._result}

    def _collectors(self, client: httpx.AsyncClient) -> list[Collector]:
        options = self._options()
        plan, settings = self.plan, self.settings
        found: list[Collector] = []
        if plan.x_query:
            for kind in (XSearchCollector, XCountsCollector):
                found.append(
                    kind.from_settings(
                        client, settings, plan.x_query, start_time=plan.since, **options
                    )
                )
        if plan.x_stream:
            found.append(XStreamCollector.from_settings(client, settings, **options))
        for object_id in plan.facebook_objects:
            found.append(
                FacebookCommentsCollector.from_settings(client, settings, object_id, **options)
            )
        return found

    async def _youtube(self, client: httpx.AsyncClient, video: str, stop: asyncio.Event) -> None:
        """The video's live chat, once it has one: before the broadcast starts there is none,
        so look again every minute."""
        key = self.settings.youtube_api_key
        while not stop.is_set():
            try:
                chat = await YouTubeChatCollector.for_video(
                    client,
                    self.settings.youtube_base_url,
                    key.get_secret_value() if key else None,
                    video,
                    **self._options(),
                )
            except CollectError as exc:
                self._result(exc.result)
                if exc.result.status in NEEDS_A_PERSON:
                    self.totals.last_error = str(exc)
                    return
                if await pause(self.clock, CHAT_RETRY_SECONDS, stop):
                    return
                continue
            await self._run_one(chat, stop)
            return

    async def _run_one(self, collector: Collector, stop: asyncio.Event) -> None:
        try:
            await collector.run(stop)
        except CollectError as exc:
            self.totals.last_error = str(exc)
            self._changed()
        except Exception:  # one source failing must not stop the others
            log.exception("collector %s failed", getattr(collector, "source", collector))

    def _result(self, result: CollectResult) -> None:
        self.totals.record(result)
        self._changed()

    def _changed(self) -> None:
        if self.on_change:
            self.on_change(self.totals)
