"""X moderation through the API v2 (a user-context OAuth 2.0 token of the account whose
conversation it is: tweet.moderate.write to hide, tweet.write to reply; an app-only bearer
token is refused with 403):

  hide    PUT  {base}/tweets/{id}/hidden  {"hidden": true}    -> {"data": {"hidden": true}}
  unhide  PUT  {base}/tweets/{id}/hidden  {"hidden": false}
  reply   POST {base}/tweets  {"text", "reply": {"in_reply_to_tweet_id"}}  -> {"data": {"id"}}

Only replies in the account's own conversations can be hidden; X has no ban through the API
for this (blocking is not moderation of the conversation), so `can_ban` is False.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from jalsa.platforms.actions import Call, PlatformActions
from jalsa.platforms.base import Connector, PollResult, Target, Usage
from jalsa.platforms.inbox_record import InboxItem
from jalsa.platforms.x.connector import XConnector

USER_TOKEN_SETTING = "x_user_token"


class XModerationApi(XConnector):
    """Bearer auth and X's error bodies; moderation requests are not billed per resource."""

    kind = "x_moderation"
    title = "X moderation"
    credential_setting = USER_TOKEN_SETTING
    id_help = "the post id"
    metrics = ()
    interval_setting = "x_counts_interval"

    def __init__(
        self, client: httpx.AsyncClient | None, base_url: str, credential: str | None
    ) -> None:
        Connector.__init__(self, client, base_url, credential)
        self.usd_per_request = self.usd_per_resource = 0.0

    def billed_resources(self, payload: Any) -> int:
        return 0

    def expected_usage(self, batch: int = 1) -> Usage:
        return self.priced(1, 0)

    async def poll(self, target: Target, now: datetime) -> PollResult:
        raise NotImplementedError("moderation does not poll")


class XActions(PlatformActions):
    platform = "x"
    can_hide = True
    can_unhide = True
    can_reply = True
    credential_settings: ClassVar[tuple[str, ...]] = (USER_TOKEN_SETTING, "x_bearer_token")
    base_url_setting = "x_base_url"

    @classmethod
    def make_api(
        cls, client: httpx.AsyncClient | None, base_url: str, credential: str | None, source: str
    ) -> Connector:
        return XModerationApi(client, base_url, credential)

    def permission_hint(self) -> str:
        return (
            " Hiding replies and posting need a user token of the account whose "
            f"conversation it is: set JALSA_{USER_TOKEN_SETTING.upper()}."
        )

    def hide_call(self, item: InboxItem, hidden: bool) -> Call:
        return Call(
            "PUT",
            f"/tweets/{quote(item.external_id, safe='')}/hidden",
            body={"hidden": hidden},
            what="hide the reply" if hidden else "unhide the reply",
        )

    def reply_call(self, item: InboxItem, text: str) -> Call:
        return Call(
            "POST",
            "/tweets",
            body={"text": text, "reply": {"in_reply_to_tweet_id": item.external_id}},
            what="reply to the post",
        )
