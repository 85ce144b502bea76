"""The inbox collects through each platform's `InboxSource` (`Platform.inbox`), naming no
platform itself: every stream gets its platform's jobs, each platform's event-wide jobs come
once after them, and a plugin's source is collected and moderated like a built-in one."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from inboxkit import FakeModel
from sqlalchemy import select

from jalsa.clock import SystemClock
from jalsa.config import load_settings
from jalsa.inbox import collecting
from jalsa.inbox.collecting import platform_jobs
from jalsa.inbox.policy_file import load_policy
from jalsa.inbox.service import InboxService
from jalsa.platforms.collect.inbox import InboxContext, InboxSource, Job
from jalsa.platforms.inbox_record import InboxItem
from jalsa.platforms.registry import INBOX_SOURCES, PLATFORMS
from jalsa.store import Store
from jalsa.store.models import InboxItemRow
from jalsa.store.repo import add_stream, create_event

T0 = datetime(2023, 12, 17, 15, 0, tzinfo=UTC)


def test_every_built_in_platform_brings_its_inbox_collecting() -> None:
    assert {name: cls.platform for name, cls in INBOX_SOURCES.items()} == {
        name: name for name in PLATFORMS
    }


def context(tmp_path: Path, **overrides: object) -> InboxContext:
    fields: dict[str, object] = {
        "client": None,
        "settings": load_settings(data_dir=tmp_path),
        "clock": SystemClock(),
        "dataset_dir": tmp_path / "inbox",
        "arrived": lambda items, stored: None,
        "stop": asyncio.Event(),
        "sources": {},
        "first_answers": lambda platform, kind: [],
    }
    return InboxContext(**(fields | overrides))  # type: ignore[arg-type]


async def _nothing() -> None:
    pass


MADE: list[str] = []  # the jobs the recording sources were asked for
INSTANCES: list[InboxSource] = []


class Recording(InboxSource):
    """Names its jobs in MADE instead of collecting anything."""

    def __init__(self, ctx: InboxContext) -> None:
        super().__init__(ctx)
        INSTANCES.append(self)

    def stream_jobs(self, kind: str, external_id: str) -> list[Job]:
        MADE.append(f"{self.platform}:{kind}:{external_id}")
        return [_nothing()]

    def event_jobs(self) -> list[Job]:
        MADE.append(f"{self.platform}:event")
        return [_nothing()]


class Alpha(Recording):
    platform = "alpha"


class Beta(Recording):
    platform = "beta"


def test_stream_jobs_in_the_streams_order_then_each_platforms_event_jobs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_kind = {"alpha_live": Alpha, "alpha_post": Alpha, "beta": Beta}
    monkeypatch.setattr(collecting, "inbox_source_for", by_kind.get)
    MADE.clear()
    INSTANCES.clear()
    streams = [("alpha_live", "1"), ("beta", "2"), ("unknown", "3"), ("alpha_post", "4")]
    jobs = platform_jobs(streams, context(tmp_path))
    for job in jobs:
        job.close()
    assert MADE == [
        "alpha:alpha_live:1",
        "beta:beta:2",
        "alpha:alpha_post:4",
        "alpha:event",
        "beta:event",
    ]
    assert len(jobs) == 5
    assert [type(s) for s in INSTANCES] == [Alpha, Beta]  # one per platform and run


MARKED: list[str] = []  # the items the chat was told are stored


class Chat(InboxSource):
    """A plugin's inbox collecting: one message per stream, then nothing until the run ends."""

    platform = "twitch"

    def stream_jobs(self, kind: str, external_id: str) -> list[Job]:
        return [self.chat(external_id)]

    async def chat(self, channel: str) -> None:
        item = InboxItem(
            platform="twitch",
            external_id=f"m-{channel}",
            kind="live_chat",
            thread_id=channel,
            author_id="u1",
            author_name="viewer",
            text="zindabad",
            created_at=T0,
        )

        def stored() -> None:
            assert threading.current_thread() is not threading.main_thread()
            MARKED.append(item.external_id)

        self.ctx.arrived([item], stored)
        self.ctx.sources[f"twitch-chat-{channel}"] = "ok"
        await self.ctx.stop.wait()


def test_a_plugins_inbox_collecting_is_run_and_moderated(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collecting, "inbox_source_for", lambda kind: Chat)
    MARKED.clear()
    with store.session() as s:
        event = create_event(
            s, name="PTI jalsa", starts_at=T0, duration=timedelta(hours=2), timezone="UTC"
        )
        add_stream(s, event, kind="youtube", external_id="afro")
        event_id = event.id
    service = InboxService(
        store,
        load_settings(data_dir=tmp_path),
        model=FakeModel(),
        policy=load_policy(),
        actions={},
        dry_run=True,
    )
    stop = asyncio.Event()

    def stored(round_: object) -> None:
        if MARKED:
            stop.set()

    asyncio.run(service.run_event(event_id, stop, wait=0.01, on_round=stored))
    with store.session() as s:
        row = s.scalars(select(InboxItemRow).where(InboxItemRow.platform == "twitch")).one()
        assert (row.external_id, row.status) == ("m-afro", "allowed")
    assert MARKED == ["m-afro"]
    assert service.sources == {"twitch-chat-afro": "ok"}
