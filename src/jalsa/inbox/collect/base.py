"""What the inbox collectors share: they are the conversation collectors (`jalsa.conversation.
collect`) with a tap on the pages a round commits, turned into `InboxItem`s.

Paging, polling pace, rate-limit waits and resuming after a restart are the conversation
collectors' own: each page is appended to a raw log under `<data_dir>/inbox/raw/` with the
cursor beside it, so a restarted collector goes on from the last page token, cursor, since-id
or since-time instead of fetching everything again. The store dedupes items by
(platform, external_id), so an item seen twice (a page re-read at a round's edge) is harmless.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jalsa.conversation.collect.base import Collector, CollectResult
from jalsa.conversation.collect.facebook_comments import parse_graph_time
from jalsa.inbox.record import InboxItem

if TYPE_CHECKING:
    from jalsa.config import Settings


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


def parse_time(value: Any) -> datetime | None:
    """A platform timestamp (YouTube's and X's ISO 8601 with Z, Graph's +0000) as aware UTC."""
    return parse_graph_time(value)


def obj(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (partial answers lack fields)."""
    return value if isinstance(value, dict) else {}


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


class InboxTap(Collector):
    """Mixin put before a conversation collector: keeps the pages each round commits and turns
    them into items. `run` (the conversation loop) hands every round's items to `on_items`."""

    on_items: Callable[[list[InboxItem]], None] | None = None
    _tapped: list[Any] | None = None

    async def commit(self, page: Any, cursor: dict[str, Any]) -> None:
        await super().commit(page, cursor)
        if self._tapped is not None:
            self._tapped.append(page)

    @abstractmethod
    def page_items(self, page: Any) -> tuple[list[InboxItem], int]:
        """(items, entries skipped) of one committed page."""

    async def collect(self) -> InboxBatch:
        """One round of the underlying collector, with its items."""
        self._tapped = []
        try:
            result = await super().run_once()  # type: ignore[safe-super]
            pages = self._tapped
        finally:
            self._tapped = None
        batch = InboxBatch(result=result)
        for page in pages:
            items, skipped = self.page_items(page)
            batch.items.extend(items)
            batch.skipped += skipped
        if batch.skipped and not result.detail:
            result.detail = f"{batch.skipped} entries without id, author or time were skipped"
        return batch

    async def run_once(self) -> CollectResult:
        batch = await self.collect()
        if self.on_items is not None and batch.items:
            self.on_items(batch.items)
        assert batch.result is not None
        return batch.result
