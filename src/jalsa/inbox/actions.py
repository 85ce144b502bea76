"""Platform actions on inbox items, chosen by the item's platform: hide, unhide, ban the
author, reply. Each platform's actions live in its package (`jalsa/platforms/<name>/actions.py`)
with its capabilities declared as class attributes, and are found through the platform registry.

Every action returns an `ActionResult` and never raises for what a platform answers (missing
permission, deleted item, rate limit, network down), so one bad item never stalls the queue.
With `dry_run=True` nothing is sent; the result says what would have been.

    actions = Actions.from_settings(client, settings)
    result = await actions.hide(item, dry_run=False)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from jalsa.platforms.actions import PlatformActions, YouTubeModerationStatus, unsupported
from jalsa.platforms.inbox_record import ActionResult, InboxItem
from jalsa.platforms.registry import ACTIONS
from jalsa.platforms.youtube.actions import YouTubeActions

if TYPE_CHECKING:
    from jalsa.config import Settings


class Actions:
    """The actions of every platform, chosen by the item's platform."""

    def __init__(self, by_platform: dict[str, PlatformActions]) -> None:
        self.by_platform = by_platform

    @classmethod
    def from_settings(cls, client: httpx.AsyncClient, settings: Settings) -> Actions:
        return cls({name: a.from_settings(client, settings) for name, a in ACTIONS.items()})

    def of(self, item: InboxItem) -> PlatformActions | None:
        return self.by_platform.get(item.platform)

    async def hide(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult:
        actions = self.of(item)
        if actions is None:
            return unsupported(f"no actions for platform {item.platform!r}")
        return await actions.hide(item, dry_run=dry_run)

    async def unhide(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult:
        actions = self.of(item)
        if actions is None:
            return unsupported(f"no actions for platform {item.platform!r}")
        return await actions.unhide(item, dry_run=dry_run)

    async def ban_author(
        self, item: InboxItem, *, dry_run: bool = False, duration_seconds: int | None = None
    ) -> ActionResult:
        actions = self.of(item)
        if actions is None:
            return unsupported(f"no actions for platform {item.platform!r}")
        return await actions.ban_author(item, dry_run=dry_run, duration_seconds=duration_seconds)

    async def reply(self, item: InboxItem, text: str, *, dry_run: bool = False) -> ActionResult:
        actions = self.of(item)
        if actions is None:
            return unsupported(f"no actions for platform {item.platform!r}")
        return await actions.reply(item, text, dry_run=dry_run)

    async def set_youtube_moderation_status(
        self,
        item: InboxItem,
        status: YouTubeModerationStatus,
        *,
        ban_author: bool = False,
        dry_run: bool = False,
    ) -> ActionResult:
        actions = self.by_platform.get("youtube")
        if item.platform != "youtube" or not isinstance(actions, YouTubeActions):
            return unsupported("a moderation status exists only for YouTube comments")
        return await actions.set_moderation_status(
            item, status, ban_author=ban_author, dry_run=dry_run
        )


__all__ = ["Actions"]
