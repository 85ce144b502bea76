"""Facebook comment moderation through the Graph API (a Page access token with
pages_manage_engagement):

  hide    POST {base}/{comment-id}?is_hidden=true        -> {"success": true}
  unhide  POST {base}/{comment-id}?is_hidden=false
  reply   POST {base}/{comment-id}/comments?message=..   -> {"id": ".."}

Facebook has no per-comment ban through the Graph API (blocking a person from a Page needs
the Page id and the person's page-scoped id), so `can_ban` is False.
"""

from __future__ import annotations

from typing import ClassVar

import httpx

from jalsa.inbox.actions.base import Call, PlatformActions
from jalsa.inbox.record import ActionResult, InboxItem
from jalsa.platforms.base import Connector
from jalsa.platforms.facebook import FacebookConnector
from jalsa.platforms.graph import graph_path


class FacebookModerationApi(FacebookConnector):
    title = "Facebook moderation"


class FacebookActions(PlatformActions):
    platform = "facebook"
    can_hide = True
    can_unhide = True
    can_reply = True
    credential_settings: ClassVar[tuple[str, ...]] = ("facebook_access_token",)
    base_url_setting = "facebook_base_url"
    hidden_param: ClassVar[str] = "is_hidden"
    reply_edge: ClassVar[str] = "comments"

    @classmethod
    def make_api(
        cls, client: httpx.AsyncClient | None, base_url: str, credential: str | None, source: str
    ) -> Connector:
        return FacebookModerationApi(client, base_url, credential)

    async def set_hidden(self, item: InboxItem, hidden: bool, *, dry_run: bool) -> ActionResult:
        flag = "true" if hidden else "false"
        call = Call(
            "POST",
            graph_path(item.external_id),
            {self.hidden_param: flag},
            what="hide the comment" if hidden else "unhide the comment",
        )
        return await self.run(call, dry_run=dry_run, done="hidden" if hidden else "visible again")

    async def hide(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult:
        return await self.set_hidden(item, True, dry_run=dry_run)

    async def unhide(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult:
        return await self.set_hidden(item, False, dry_run=dry_run)

    async def reply(self, item: InboxItem, text: str, *, dry_run: bool = False) -> ActionResult:
        refused = self.no_text(text)
        if refused is not None:
            return refused
        # Comments have one level of replies: a reply to a reply goes under its parent.
        target = item.parent_id or item.external_id
        call = Call(
            "POST",
            graph_path(target, self.reply_edge),
            {"message": text},
            what="reply to the comment",
        )
        return await self.run(call, dry_run=dry_run, done="reply posted", reply_id=True)
