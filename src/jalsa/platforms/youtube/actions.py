"""YouTube moderation through the Data API v3 (an OAuth token of the channel's owner or one of
its moderators, scope youtube.force-ssl; an API key is refused for every call here).

  live chat   hide    DELETE {base}/liveChat/messages?id=..            (YouTube cannot hide a
                                                                          chat message; it is
                                                                          deleted, for good)
              ban     POST {base}/liveChat/bans?part=snippet           liveChatBans.insert
                      {"snippet": {"liveChatId", "type": "permanent"|"temporary",
                                   "banDurationSeconds", "bannedUserDetails": {"channelId"}}}
              reply   POST {base}/liveChat/messages?part=snippet       liveChatMessages.insert
  comments    hide    POST {base}/comments/setModerationStatus?id=..&moderationStatus=heldForReview
              unhide  ... moderationStatus=published
              ban     ... moderationStatus=rejected&banAuthor=true
              reply   POST {base}/comments?part=snippet  {"snippet": {"parentId", "textOriginal"}}
"""

from __future__ import annotations

from typing import ClassVar

import httpx

from jalsa.platforms.actions import Call, PlatformActions, YouTubeModerationStatus, unsupported
from jalsa.platforms.base import Connector
from jalsa.platforms.inbox_record import ActionResult, InboxItem
from jalsa.platforms.youtube.connector import YouTubeConnector

OAUTH_SETTING = "youtube_oauth_token"


class YouTubeModerationApi(YouTubeConnector):
    """The YouTube connector's error mapping, with an OAuth bearer token when one is set."""

    title = "YouTube moderation"
    credential_setting = OAUTH_SETTING

    def __init__(
        self,
        client: httpx.AsyncClient | None,
        base_url: str,
        credential: str | None,
        *,
        oauth: bool = True,
    ) -> None:
        super().__init__(client, base_url, credential)
        self.oauth = oauth

    def credential_hint(self) -> str:
        if not self.oauth:
            return "An API key cannot moderate"
        return (
            f"The OAuth token (JALSA_{OAUTH_SETTING.upper()}) must be the channel owner's or "
            "a moderator's, with the youtube.force-ssl scope"
        )

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        if self.oauth:
            return {"Authorization": f"Bearer {self.credential}"}, {}
        return super().auth()


class YouTubeActions(PlatformActions):
    platform = "youtube"
    can_hide = True
    can_unhide = True  # comments only: a deleted chat message cannot come back
    can_ban = True
    can_reply = True
    credential_settings: ClassVar[tuple[str, ...]] = (OAUTH_SETTING, "youtube_api_key")
    base_url_setting = "youtube_base_url"

    @classmethod
    def make_api(
        cls, client: httpx.AsyncClient | None, base_url: str, credential: str | None, source: str
    ) -> Connector:
        return YouTubeModerationApi(client, base_url, credential, oauth=source == OAUTH_SETTING)

    def permission_hint(self) -> str:
        if getattr(self.api, "oauth", True):
            return ""
        return (
            " YouTube moderation needs an OAuth token of the channel's owner or a moderator "
            f"(scope youtube.force-ssl), not an API key: set JALSA_{OAUTH_SETTING.upper()}."
        )

    @staticmethod
    def live_chat_id(item: InboxItem) -> str | None:
        value = item.extra.get("live_chat_id")
        return str(value) if value else None

    async def hide(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult:
        if item.kind == "live_chat":
            call = Call(
                "DELETE",
                "/liveChat/messages",
                {"id": item.external_id},
                what="delete the chat message (YouTube cannot hide one)",
            )
            return await self.run(call, dry_run=dry_run, done="chat message deleted")
        return await self.set_moderation_status(item, "heldForReview", dry_run=dry_run)

    async def unhide(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult:
        if item.kind == "live_chat":
            return unsupported("a deleted YouTube chat message cannot be restored")
        return await self.set_moderation_status(item, "published", dry_run=dry_run)

    async def ban_author(
        self,
        item: InboxItem,
        *,
        dry_run: bool = False,
        duration_seconds: int | None = None,
    ) -> ActionResult:
        """In a live chat a ban (temporary when `duration_seconds` is given); on comments the
        comment is rejected and its author's future comments with it."""
        if item.kind != "live_chat":
            return await self.set_moderation_status(
                item, "rejected", ban_author=True, dry_run=dry_run
            )
        chat = self.live_chat_id(item)
        if chat is None or not item.author_id:
            return ActionResult(
                ok=False, status="error", detail="the item has no live chat id or author channel"
            )
        snippet: dict[str, object] = {
            "liveChatId": chat,
            "type": "temporary" if duration_seconds else "permanent",
            "bannedUserDetails": {"channelId": item.author_id},
        }
        if duration_seconds:
            snippet["banDurationSeconds"] = str(int(duration_seconds))
        call = Call(
            "POST",
            "/liveChat/bans",
            {"part": "snippet"},
            {"snippet": snippet},
            what=f"ban {item.author_name or item.author_id} from the live chat",
        )
        how = f"for {duration_seconds} s" if duration_seconds else "permanently"
        return await self.run(call, dry_run=dry_run, done=f"author banned from the chat {how}")

    async def set_moderation_status(
        self,
        item: InboxItem,
        status: YouTubeModerationStatus,
        *,
        ban_author: bool = False,
        dry_run: bool = False,
    ) -> ActionResult:
        """comments.setModerationStatus for a comment or reply (not a chat message)."""
        if item.kind == "live_chat":
            return unsupported("chat messages have no moderation status; hide deletes them")
        if ban_author and status != "rejected":
            return ActionResult(
                ok=False, status="error", detail="YouTube bans an author only with 'rejected'"
            )
        params = {"id": item.external_id, "moderationStatus": status}
        if ban_author:
            params["banAuthor"] = "true"
        call = Call(
            "POST",
            "/comments/setModerationStatus",
            params,
            what=f"set the comment's moderation status to {status}"
            + (" and ban its author" if ban_author else ""),
        )
        return await self.run(call, dry_run=dry_run, done=f"moderation status {status}")

    async def reply(self, item: InboxItem, text: str, *, dry_run: bool = False) -> ActionResult:
        refused = self.no_text(text)
        if refused is not None:
            return refused
        if item.kind == "live_chat":
            chat = self.live_chat_id(item)
            if chat is None:
                return ActionResult(ok=False, status="error", detail="the item has no chat id")
            call = Call(
                "POST",
                "/liveChat/messages",
                {"part": "snippet"},
                {
                    "snippet": {
                        "liveChatId": chat,
                        "type": "textMessageEvent",
                        "textMessageDetails": {"messageText": text},
                    }
                },
                what="post a chat message",
            )
        else:
            # Replies go under the top-level comment; YouTube has one level of replies.
            call = Call(
                "POST",
                "/comments",
                {"part": "snippet"},
                {"snippet": {"parentId": item.parent_id or item.external_id, "textOriginal": text}},
                what="reply to the comment",
            )
        return await self.run(call, dry_run=dry_run, done="reply posted", reply_id=True)
