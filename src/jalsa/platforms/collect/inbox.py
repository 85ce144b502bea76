"""What the inbox collectors share: they are the conversation collectors (`jalsa.conversation.
collect`) with a tap on the pages a round commits, turned into `InboxItem`s.

Paging, polling pace, rate-limit waits and resuming after a restart are the conversation
collectors' own: each page is appended to a raw log under `<data_dir>/inbox/raw/` with the
cursor beside it, so a restarted collector goes on from the last page token, cursor, since-id
or since-time instead of fetching everything again. The store dedupes items by
(platform, external_id), so an item seen twice (a page re-read at a round's edge) is harmless.

A page is in the raw log (and the cursor past it) before its items are stored, so a crash in
between must not lose them: whoever stores the items calls back once they are committed, and
the collector then writes how far into its raw log everything is stored
(`<source>.handed.json`, {"log_bytes": n}). At start the items of the pages after that mark are
handed on again with the first round's; the store's dedupe makes a second hand-over harmless.

A platform's inbox collecting is its `InboxSource` (`Platform.inbox`): the jobs for each of an
event's streams of its kinds and, once per event that has such a stream, the jobs of the event
as a whole (X: the mentions of the team's account). The inbox runs them with an
`InboxContext`, which lends them what they need from it without the platforms knowing the
inbox: the HTTP client, the settings, the clock, where the raw logs go, the hand-over of items,
the stop signal, the status line of each source, and the items it has stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import abstractmethod
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from jalsa.platforms.collect.base import CollectError, Collector, CollectResult
from jalsa.platforms.collect.rawlog import write_json_atomic
from jalsa.platforms.graph import parse_graph_time
from jalsa.platforms.inbox_record import InboxItem

if TYPE_CHECKING:
    import httpx

    from jalsa.clock import Clock
    from jalsa.config import Settings

log = logging.getLogger(__name__)


def inbox_dataset_dir(settings: Settings) -> Path:
    """Where the inbox collectors keep their raw logs and cursors (apart from the conversation
    dataset, so the same chat can be collected for both without the two logs' locks meeting)."""
    return Path(settings.data_dir) / "inbox"


@dataclass
class InboxBatch:
    """One round: the items its pages held, the round's result (status, spend, waits), and
    how many entries could not become items (no id, no author, no time)."""

    items: list[InboxItem] = field(default_factory=list)
    result: CollectResult | None = None
    skipped: int = 0
    upto: int = 0  # the raw log's length after the round: its items are those of the log so far


# What a collector hands each round's items to: the items, and a function to call (in a worker
# thread: it writes a file) once they are committed to the store.
Handover = Callable[[list[InboxItem], Callable[[], None]], None]


def parse_time(value: Any) -> datetime | None:
    """A platform timestamp (YouTube's and X's ISO 8601 with Z, Graph's +0000) as aware UTC."""
    return parse_graph_time(value)


def newest_first(
    cursor: dict[str, Any], token_name: str, token: Any, stamps: list[Any]
) -> dict[str, Any]:
    """The cursor after one page of a newest-first listing without a `since` parameter (its
    next page `token`, sent as `token_name`; its entries' times `stamps`): go on while there is
    a next page and the page holds only entries newer than the previous rounds' newest
    (`since`, an ISO time); then end the round and move `since` to the newest seen."""
    current = dict(cursor.get("round") or {"params": {}})
    times = [t for t in (parse_time(s) for s in stamps) if t is not None]
    since = parse_time(cursor.get("since"))
    newest = parse_time(current.get("newest"))
    for when in times:
        newest = when if newest is None or when > newest else newest
    current["newest"] = newest.isoformat() if newest is not None else None
    reached_old = since is not None and any(t <= since for t in times)
    if token and not reached_old:
        return {**cursor, "round": {**current, token_name: str(token)}}
    latest = newest if since is None or (newest is not None and newest > since) else since
    return {**cursor, "since": latest.isoformat() if latest else None, "round": None}


def obj(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (partial answers lack fields)."""
    return value if isinstance(value, dict) else {}


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def ident(value: Any) -> str:
    """A platform id as text: a string or an integer (Graph sends some ids as numbers); "" for
    anything else, so a list or an object in its place is no id, not its repr."""
    if isinstance(value, bool):
        return ""
    return str(value) if isinstance(value, int) else text_of(value)


def entries(value: Any) -> list[Any]:
    """`value` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


class InboxTap(Collector):
    """Mixin put before a conversation collector: keeps the pages each round commits and turns
    them into items. `run` (the conversation loop) hands every round's items to `on_items`,
    those of pages not yet confirmed stored at start included."""

    on_items: Handover | None = None
    _tapped: list[Any] | None = None
    _unstored: list[Any] | None = None  # pages logged before a restart, their items not stored
    _handed = -1  # how far into the raw log the items were last handed on

    @property
    def stored_path(self) -> Path:
        return self.log.directory / f"{self.source}.handed.json"

    def stored_upto(self) -> int:
        """How far into the raw log every page's items are stored (0 if unknown: a page
        handed on twice is harmless, one never handed on is lost)."""
        try:
            return int(json.loads(self.stored_path.read_bytes())["log_bytes"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def mark_stored(self, upto: int) -> None:
        """Record that the items of the raw log's first `upto` bytes are stored (blocking)."""
        write_json_atomic(self.stored_path, {"log_bytes": upto})

    async def open(self) -> None:
        if self.log.is_open:
            return
        await super().open()
        self._unstored = await asyncio.to_thread(self.log.pages_after, self.stored_upto())

    async def commit(self, page: Any, cursor: dict[str, Any]) -> None:
        await super().commit(page, cursor)
        if self._tapped is not None:
            self._tapped.append(page)

    @abstractmethod
    def page_items(self, page: Any) -> tuple[list[InboxItem], int]:
        """(items, entries skipped) of one committed page."""

    async def collect(self) -> InboxBatch:
        """One round of the underlying collector, with its items (and, in the first round
        after a start, those of the pages logged before it whose items were not stored)."""
        await self.open()
        self._tapped = []
        try:
            result = await super().run_once()  # type: ignore[safe-super]
            pages = [*(self._unstored or []), *self._tapped]
        finally:
            self._tapped = self._unstored = None
        batch = InboxBatch(result=result, upto=self.log.log_bytes)
        for page in pages:
            items, skipped = self.page_items(page)
            batch.items.extend(items)
            batch.skipped += skipped
        if batch.skipped and not result.detail:
            result.detail = f"{batch.skipped} entries without id, author or time were skipped"
        return batch

    async def run_once(self) -> CollectResult:
        batch = await self.collect()
        # Every round that logged pages is handed on, even without items, so the mark follows.
        if self.on_items is not None and batch.upto != self._handed:
            self._handed = batch.upto
            self.on_items(batch.items, partial(self.mark_stored, batch.upto))
        assert batch.result is not None
        return batch.result


# -- running a platform's collectors for the inbox ------------------------------------------------

# A collecting job: runs until the context's `stop` is set (or its source is over).
Job = Coroutine[Any, Any, None]


@dataclass
class InboxContext:
    """What the inbox lends the collecting jobs of one run of an event."""

    client: httpx.AsyncClient
    settings: Settings
    clock: Clock
    dataset_dir: Path  # where the collectors keep their raw logs and cursors
    arrived: Handover  # takes each round's items
    stop: asyncio.Event  # set when the run ends
    sources: dict[str, str]  # source -> its last round's status, one line each in the summary
    # Blocking (call it in a worker thread): the event's stored items of (platform, kind) that
    # answer the first post of their thread, newest first.
    first_answers: Callable[[str, str], list[InboxItem]]

    @property
    def options(self) -> dict[str, Any]:
        """The collector options of the run (`CollectorOptions`): each round's result is
        noted in `sources`."""
        return {"dataset_dir": self.dataset_dir, "clock": self.clock, "on_result": self.report}

    def report(self, result: CollectResult) -> None:
        """Note a round's result as its source's status."""
        status = str(getattr(result.status, "value", result.status))
        self.sources[result.source] = status + (f": {result.detail}" if result.detail else "")

    async def run(self, collector: InboxTap, on_items: Handover | None = None) -> None:
        """Run the collector until `stop`, its items handed to `on_items` (default
        `arrived`). A failure ends this collector only, with its reason in `sources`."""
        collector.on_items = on_items or self.arrived
        try:
            await collector.run(self.stop)
        except CollectError as exc:  # a token or an id only a person can fix
            self.sources[collector.source] = f"stopped: {exc}"
        except Exception as exc:  # one source failing must not stop the others
            log.exception("inbox: collector %s failed", getattr(collector, "source", collector))
            self.sources[getattr(collector, "source", "?")] = f"failed: {exc}"


class InboxSource:
    """A platform's inbox collecting, made for one run with its context. A source whose
    settings are missing makes no job and says which setting in `ctx.sources`."""

    platform: ClassVar[str]

    def __init__(self, ctx: InboxContext) -> None:
        self.ctx = ctx

    def stream_jobs(self, kind: str, external_id: str) -> list[Job]:
        """The jobs for one of the event's streams (a kind of this platform's connectors)."""
        return []

    def event_jobs(self) -> list[Job]:
        """The jobs for the event as a whole, made once when it has a stream of this
        platform, after every stream's jobs."""
        return []
