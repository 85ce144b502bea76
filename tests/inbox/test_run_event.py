"""`InboxService.run_event`: a restart loses no collected item, and an event's Instagram and X
streams bring Instagram live comments, X mentions and replies in the team's conversations
(against the simulator), or a one-line note of the setting that is missing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from inboxkit import FakeActions, FakeModel
from rich.console import Console
from simkit import ManualClock, Sim, make_scenario
from sqlalchemy import func, select

from jalsa.cli.inbox import summary_table
from jalsa.config import load_settings
from jalsa.inbox.pipeline import Ingested
from jalsa.inbox.policy_file import load_policy
from jalsa.inbox.service import InboxService
from jalsa.platforms.facebook.inbox import FacebookCommentsInbox, graph_comment_items
from jalsa.platforms.instagram.inbox import SKIPPED_INSTAGRAM
from jalsa.platforms.x.inbox import SKIPPED_X_USER
from jalsa.platforms.x.sim.posts import FIXED_AUTHORS
from jalsa.store import Store
from jalsa.store.models import Event, InboxItemRow
from jalsa.store.repo import add_stream, create_event
from testkit import BASE_URLS, MockApi, fixture_response, load_fixture

T0 = datetime(2023, 12, 17, 15, 0, tzinfo=UTC)


class Nap:
    """A clock standing at `at` whose sleeps are short real pauses (collectors loop slowly)."""

    speed = 1.0

    def __init__(self, at: Callable[[], datetime]) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0.02)


def make_event(store: Store, *streams: tuple[str, str]) -> int:
    with store.session() as s:
        event = create_event(
            s, name="PTI jalsa", starts_at=T0, duration=timedelta(hours=2), timezone="UTC"
        )
        for kind, external_id in streams:
            add_stream(s, event, kind=kind, external_id=external_id)
        return event.id


def service_for(store: Store, tmp_path: Path, clock: Nap, **settings: Any) -> InboxService:
    return InboxService(
        store,
        load_settings(data_dir=tmp_path, **settings),
        model=FakeModel(),
        policy=load_policy(),
        actions={p: FakeActions() for p in ("facebook", "instagram", "x")},
        clock=clock,
        dry_run=True,
    )


def stored_ids(store: Store, platform: str) -> list[str]:
    with store.session() as s:
        return list(
            s.scalars(select(InboxItemRow.external_id).where(InboxItemRow.platform == platform))
        )


def test_items_logged_but_not_stored_before_a_crash_are_stored_once_after_it(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run logs a page (its cursor moves on) and dies before the store commits; the
    restarted run stores that page's items with the next page's, each once, and a third run
    hands none of them on again."""
    event_id = make_event(store)
    clock = Nap(lambda: T0)

    async def run(service: InboxService, *answers: Any) -> tuple[Ingested, MockApi]:
        stop = asyncio.Event()
        api = MockApi(*answers)
        comments = FacebookCommentsInbox(
            api.client(),
            BASE_URLS["facebook"],
            "t",
            "111",
            dataset_dir=tmp_path / "inbox",
            clock=clock,
            on_result=lambda _: stop.set(),  # one round per run
        )
        total = await service.run_event(event_id, stop, collectors=[comments], wait=0.01)
        return total, api

    crashing = service_for(store, tmp_path, clock)

    def store_down(*args: Any, **kwargs: Any) -> Any:
        raise OSError("the process is killed before the store commits")

    monkeypatch.setattr(crashing, "store_and_decide", store_down)
    page1 = fixture_response("facebook", "comments_page1.json")
    throttled = fixture_response("facebook", "error_throttled_page.json", 400)
    asyncio.run(run(crashing, page1, throttled))
    assert stored_ids(store, "facebook") == []

    restarted = service_for(store, tmp_path, clock)
    total, api = asyncio.run(run(restarted, fixture_response("facebook", "comments_page2.json")))
    assert "after" in api.last.url.params  # page 1 was not fetched again
    ids = stored_ids(store, "facebook")
    pages = [load_fixture("facebook", f"comments_page{n}.json") for n in (1, 2)]
    expected = {i.external_id for p in pages for i in graph_comment_items(p, "facebook", "111")[0]}
    assert sorted(ids) == sorted(expected) and total.stored == len(expected)

    again = service_for(store, tmp_path, clock)
    total, _ = asyncio.run(run(again, httpx.Response(200, json={"data": []})))
    assert total.stored == total.duplicate == 0
    assert sorted(stored_ids(store, "facebook")) == sorted(expected)


def test_a_failed_store_is_tried_again_in_the_same_run(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round whose store fails keeps its items for the next one (the database restarting)."""
    event_id = make_event(store)
    service = service_for(store, tmp_path, Nap(lambda: T0))
    real = service.store_and_decide
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(args[1]))
        if len(calls) == 1:
            raise OSError("database restarting")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "store_and_decide", flaky)
    stop = asyncio.Event()
    nothing_new = [httpx.Response(200, json={"data": []}) for _ in range(500)]
    comments = FacebookCommentsInbox(
        MockApi(fixture_response("facebook", "comments_page1.json"), *nothing_new).client(),
        BASE_URLS["facebook"],
        "t",
        "111",
        dataset_dir=tmp_path / "inbox",
        clock=service.clock,
    )

    def stored(round_: Ingested) -> None:
        if round_.stored:
            stop.set()

    asyncio.run(
        service.run_event(event_id, stop, collectors=[comments], wait=0.01, on_round=stored)
    )
    assert calls[:2] == [calls[0], calls[0]] and calls[0] > 0
    assert len(stored_ids(store, "facebook")) == calls[0]


async def until(done: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await done():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_instagram_live_comments_x_mentions_and_replies_against_the_simulator(
    store: Store, tmp_path: Path
) -> None:
    """Instagram: the live media found from the account's id, and its comments. X: mentions of
    the team's account, and replies in the conversations they answer at the root; a restart
    follows those conversations again from the store."""
    scenario = make_scenario()
    sim = Sim(scenario, ManualClock(scenario.at(40)))
    team = FIXED_AUTHORS[0][0]
    event_id = make_event(store, ("instagram", "178"), ("x_space", "1space"))

    def new_service() -> InboxService:
        return service_for(
            store,
            tmp_path,
            Nap(sim.clock.now),
            instagram_base_url="http://sim/graph/v21.0",
            instagram_access_token="token",
            x_base_url="http://sim/x/2",
            x_bearer_token="bearer",
            inbox_x_user_id=team,
        )

    def kinds() -> dict[tuple[str, str], int]:
        with store.session() as s:
            rows = s.execute(
                select(InboxItemRow.platform, InboxItemRow.kind, func.count()).group_by(
                    InboxItemRow.platform, InboxItemRow.kind
                )
            )
            return {(p, k): n for p, k, n in rows}

    def followed(service: InboxService) -> set[str]:
        return {n.removeprefix("x-replies-") for n in service.sources if n.startswith("x-replies-")}

    async def run_until(service: InboxService, done: Callable[[], Awaitable[bool]]) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(service.run_event(event_id, stop, client=sim.client, wait=0.05))
        try:
            await until(done)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)

    service = new_service()

    async def collected() -> bool:
        found = await asyncio.to_thread(kinds)
        ig, x = found.get(("instagram", "comment")), found.get(("x", "mention"))
        return bool(ig and x and followed(service))

    await run_until(service, collected)
    live = service.sources["instagram-live-178"]
    assert live.startswith("ok: live media ")
    media_id = live.removeprefix("ok: live media ")
    assert service.sources[f"instagram-comments-{media_id}"] == "ok"
    assert service.sources[f"x-mentions-{team}"].startswith("ok")
    with store.session() as s:
        mentions = list(s.scalars(select(InboxItemRow).where(InboxItemRow.kind == "mention")))
        threads = {m.thread_id for m in mentions if m.extra["in_reply_to_user_id"] == team}
    assert followed(service) <= threads
    assert all(service.sources[f"x-replies-{c}"] == "ok" for c in followed(service))

    restarted = new_service()

    async def following() -> bool:
        return followed(restarted) == threads

    await run_until(restarted, following)
    await sim.client.aclose()


def test_missing_settings_skip_a_source_with_a_note_in_the_summary(
    store: Store, tmp_path: Path
) -> None:
    event_id = make_event(store, ("instagram", "178"), ("x_space", "1space"))
    service = service_for(store, tmp_path, Nap(lambda: T0))
    stop = asyncio.Event()
    stop.set()
    asyncio.run(service.run_event(event_id, stop, wait=0.01))
    assert service.sources == {
        "instagram-live-178": SKIPPED_INSTAGRAM,
        "x-mentions": SKIPPED_X_USER,
    }
    console = Console(record=True, width=200)
    with store.session() as s:
        slug = s.get(Event, event_id).slug
    console.print(summary_table(service, event_id, slug, Ingested()))
    text = console.export_text()
    assert "source x-mentions" in text and "JALSA_INBOX_X_USER_ID" in text
    assert "JALSA_INSTAGRAM_ACCESS_TOKEN" in text
