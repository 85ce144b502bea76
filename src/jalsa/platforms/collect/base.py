"""What every collector shares: the result of one round, the loop that runs rounds at the
source's cadence and backs off on failures, and the raw log it writes.

A collector does not normalize anything. It appends each API response page it receives to its
raw log, verbatim, and keeps its cursor in the log's state file; ingestion turns raw lines into
posts. A round (`run_once`) never raises for a platform failure: the pages it got before the
failure are kept and the failure is in the result, with the wait the platform asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Required, TypedDict

from pydantic import SecretStr

from jalsa.clock import Clock, SystemClock
from jalsa.errors import UserError
from jalsa.platforms.base import PollError, StreamStatus, Usage
from jalsa.platforms.collect.rawlog import RawLog

# Failures no wait can fix: a person must change the token or the id.
NEEDS_A_PERSON = frozenset({StreamStatus.AUTH_FAILED, StreamStatus.NOT_FOUND})


@dataclass
class CollectResult:
    """One round of a collector: what it appended and what it cost."""

    source: str
    status: StreamStatus = StreamStatus.OK
    pages: int = 0  # pages (lines) appended to the raw log
    items: int = 0  # posts, messages, comments or count buckets in those pages
    usage: Usage = field(default_factory=Usage)  # requests, quota units, billed posts, USD
    errors: list[Any] = field(default_factory=list)  # errors the platform sent beside data
    detail: str = ""
    retry_after: float | None = None  # the platform asked to wait this long (s)
    more: bool = False  # pages are waiting: the next round should start soon
    finished: bool = False  # the source is over (the live chat ended): nothing more to fetch

    @property
    def requests(self) -> int:
        return self.usage.requests

    @property
    def quota_units(self) -> int:
        return self.usage.quota_units

    @property
    def cost_usd(self) -> float:
        return self.usage.cost_usd

    def fail(self, exc: PollError) -> None:
        """Record a failed request (its spend is already in `usage`, via `fetch`)."""
        self.status = exc.status
        self.detail = exc.detail
        self.retry_after = exc.retry_after


class CollectError(UserError):
    """The collector cannot go on without a person: a rejected token, an id that does not
    exist. The message says what to do."""

    def __init__(self, result: CollectResult) -> None:
        super().__init__(f"{result.source}: {result.detail}")
        self.result = result


def given(value: str, what: str) -> str:
    """`value` without surrounding blanks; ValueError naming `what` when nothing is left."""
    stripped = value.strip()
    if not stripped:
        raise ValueError(f"the {what} is empty")
    return stripped


def secret(value: SecretStr | None) -> str | None:
    """A token or key from Settings, as the platform transports take it."""
    return value.get_secret_value() if value else None


async def pause(clock: Clock, seconds: float, stop: asyncio.Event) -> bool:
    """Wait `seconds` of `clock` time unless `stop` is set first; True when stopped."""
    if stop.is_set():
        return True
    if seconds <= 0:
        await asyncio.sleep(0)
        return stop.is_set()
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, stopper):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    return stop.is_set()


class CollectorOptions(TypedDict, total=False):
    """The keyword options every collector takes beside its own and hands on to `Collector`,
    which holds their defaults."""

    dataset_dir: Required[Path]  # the raw log goes to <dataset_dir>/raw/<source>.jsonl
    clock: Clock | None  # default: the system clock
    on_result: Callable[[CollectResult], None] | None  # told of every round `run` makes


class Collector(ABC):
    """Base of the collectors: a raw log, a clock, and the round loop."""

    interval: float = 60.0  # seconds between rounds when all is well
    max_backoff: float = 300.0  # longest wait after repeated failures
    replays: bool = True  # re-apply pages the state missed (False: the stream has no cursor)

    def __init__(
        self,
        source: str,
        *,
        dataset_dir: Path,
        clock: Clock | None = None,
        on_result: Callable[[CollectResult], None] | None = None,
    ) -> None:
        self.log = RawLog.in_dataset(dataset_dir, source)
        self.clock: Clock = clock or SystemClock()
        self.on_result = on_result
        self.failures = 0  # consecutive failed rounds

    @property
    def source(self) -> str:
        return self.log.source

    @property
    def cursor(self) -> dict[str, Any]:
        return self.log.cursor

    async def open(self) -> None:
        """Open the raw log (idempotent) and bring the cursor up to date with pages that were
        appended after the state was last saved."""
        if self.log.is_open:
            return
        pages = await asyncio.to_thread(self.log.open, replay=self.replays)
        cursor = dict(self.log.cursor)
        for page in pages:
            cursor = self.advance(cursor, page)
        await asyncio.to_thread(self.log.save_state, cursor)

    async def close(self) -> None:
        await asyncio.to_thread(self.log.close)

    async def commit(self, page: Any, cursor: dict[str, Any]) -> None:
        """Append a page and save the cursor that follows it."""
        await asyncio.to_thread(self.log.append, page, cursor)

    async def save_cursor(self, cursor: dict[str, Any]) -> None:
        await asyncio.to_thread(self.log.save_state, cursor)

    def advance(self, cursor: dict[str, Any], page: Any) -> dict[str, Any]:
        """The cursor after `page`: a pure function, so that replaying the raw log rebuilds it."""
        return cursor

    @abstractmethod
    async def run_once(self) -> CollectResult:
        """One round: fetch every new page, append it, move the cursor."""

    def wait_after(self, result: CollectResult) -> float:
        """Seconds to wait before the next round: the interval, or what the platform asked,
        or (after failures) the interval doubled per consecutive failure up to `max_backoff`."""
        asked = result.retry_after or 0.0
        if result.status.is_failure:
            self.failures += 1
            backoff = min(self.interval * 2 ** (self.failures - 1), self.max_backoff)
            return max(backoff, asked)
        self.failures = 0
        if result.more:
            return asked
        return max(self.interval, asked)

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop` is set or the source is over. Raises CollectError when only a
        person can fix what went wrong (token, id)."""
        await self.open()
        try:
            while not stop.is_set():
                result = await self.run_once()
                if self.on_result is not None:
                    self.on_result(result)
                if result.finished:
                    return
                if result.status in NEEDS_A_PERSON:
                    raise CollectError(result)
                if await pause(self.clock, self.wait_after(result), stop):
                    return
        finally:
            await self.close()


class PagedCollector(Collector):
    """A collector whose round pages through an API answer: from the bounds of a new round
    (`round_params`), each page's token leads to the next, until the last page or until
    `max_pages` (the token stays in the cursor and the next round goes on from it)."""

    max_pages: int
    page_token: ClassVar[str]  # the request parameter (and cursor key) of the next page

    @abstractmethod
    def round_params(self, cursor: dict[str, Any]) -> dict[str, str]:
        """The bounds of a new round, kept in the cursor until the round is over."""

    @abstractmethod
    def page_params(self) -> dict[str, str]:
        """The parameters every request of a round carries."""

    @abstractmethod
    async def fetch_page(self, result: CollectResult, params: dict[str, str]) -> dict[str, Any]:
        """One page, checked and as it is to be logged; PollError when it cannot be had."""

    @abstractmethod
    def tally(self, result: CollectResult, page: dict[str, Any]) -> None:
        """Count what the page holds into `result`."""

    def cut_short(self, result: CollectResult) -> bool:
        """True (with the reason in `result`) to end the round before its last page."""
        return False

    async def run_once(self) -> CollectResult:
        await self.open()
        result = CollectResult(self.source)
        cursor = dict(self.cursor)
        if not cursor.get("round"):
            cursor["round"] = {"params": self.round_params(cursor)}
        try:
            for _ in range(self.max_pages):
                round_ = cursor["round"]
                params = {**self.page_params(), **round_["params"]}
                if round_.get(self.page_token):
                    params[self.page_token] = round_[self.page_token]
                page = await self.fetch_page(result, params)
                cursor = self.advance(cursor, page)
                await self.commit(page, cursor)
                result.pages += 1
                self.tally(result, page)
                if not cursor.get("round") or self.cut_short(result):
                    break
            else:
                result.more = True
                result.detail = f"stopped after {self.max_pages} pages; the next round goes on"
        except PollError as exc:
            result.fail(exc)
        return result
