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

from jalsa.platforms.actions import Call, PlatformActions
from jalsa.platforms.base import Connector
from jalsa.platforms.facebook.connector import FacebookConnector
from jalsa.platforms.graph import graph_path
from jalsa.platforms.inbox_record import InboxItem


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

    def hide_call(self, item: InboxItem, hidden: bool) -> Call:
        return Call(
            "POST",
            graph_path(item.external_id),
            {self.hidden_param: "true" if hidden else "false"},
            what="hide the comment" if hidden else "unhide the comment",
        )

    def reply_call(self, item: InboxItem, text: str) -> Call:
        # Comments have one level of replies: a reply to a reply goes under its parent.
        target = item.parent_id or item.external_id
        return Call(
            "POST",
            graph_path(target, self.reply_edge),
            {"message": text},
            what="reply to the comment",
        )
