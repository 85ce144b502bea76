"""Instagram comment moderation through the Graph API (instagram_manage_comments):

  hide    POST {base}/{ig-comment-id}?hide=true            -> {"success": true}
  unhide  POST {base}/{ig-comment-id}?hide=false
  reply   POST {base}/{ig-comment-id}/replies?message=..   -> {"id": ".."}

Instagram cannot reply to comments on a live video (only private replies through the
Messaging API) and has no ban through the API.
"""

from __future__ import annotations

from typing import ClassVar

import httpx

from jalsa.platforms.actions import unsupported
from jalsa.platforms.base import Connector
from jalsa.platforms.facebook.actions import FacebookActions
from jalsa.platforms.inbox_record import ActionResult, InboxItem
from jalsa.platforms.instagram.connector import InstagramConnector


class InstagramModerationApi(InstagramConnector):
    title = "Instagram moderation"


class InstagramActions(FacebookActions):
    """Facebook's actions with Instagram's parameter, edge and token."""

    platform = "instagram"
    credential_settings: ClassVar[tuple[str, ...]] = ("instagram_access_token",)
    base_url_setting = "instagram_base_url"
    hidden_param = "hide"
    reply_edge = "replies"

    @classmethod
    def make_api(
        cls, client: httpx.AsyncClient | None, base_url: str, credential: str | None, source: str
    ) -> Connector:
        return InstagramModerationApi(client, base_url, credential)

    async def reply(self, item: InboxItem, text: str, *, dry_run: bool = False) -> ActionResult:
        if item.extra.get("live"):
            return unsupported("Instagram does not take replies to live video comments")
        return await super().reply(item, text, dry_run=dry_run)
