"""Platform actions against fixtures in the documented shapes: each action's request (method,
URL, parameters, body), the mapping of platform errors to a status per item, and dry-run
sending nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from jalsa.config import Settings
from jalsa.inbox.actions import Actions
from jalsa.platforms.actions import PlatformActions
from jalsa.platforms.facebook.actions import FacebookActions
from jalsa.platforms.inbox_record import InboxItem
from jalsa.platforms.instagram.actions import InstagramActions
from jalsa.platforms.registry import ACTIONS
from jalsa.platforms.x.actions import XActions
from jalsa.platforms.youtube.actions import YouTubeActions
from testkit import BASE_URLS, MockApi, fixture_response

WHEN = datetime(2023, 12, 17, 15, 10, tzinfo=UTC)
CHAT_ID = "Cg0KC2phbHNhU0lNMDAx"


def item(platform: str, external_id: str, kind: str = "comment", **changes: Any) -> InboxItem:
    fields: dict[str, Any] = {
        "platform": platform,
        "external_id": external_id,
        "kind": kind,
        "thread_id": "thread",
        "author_id": "UCauthor",
        "author_name": "Sana Khan",
        "text": "text",
        "created_at": WHEN,
        **changes,
    }
    return InboxItem(**fields)


CHAT = item("youtube", "LCC.abc", "live_chat", extra={"live_chat_id": CHAT_ID})
YT_COMMENT = item("youtube", "UgzThreadA1")
YT_REPLY = item("youtube", "UgzThreadA1.9xReplyB2", "reply", parent_id="UgzThreadA1")
FB_COMMENT = item("facebook", "222_1000000000000001")
FB_REPLY = item("facebook", "222_1000000000000002", "reply", parent_id="222_1000000000000001")
IG_COMMENT = item("instagram", "17890000000000003")
X_REPLY = item("x", "1736400000000000102", "reply")


def actions(cls: type[PlatformActions], api: MockApi, token: str = "s3cret") -> PlatformActions:
    return cls.build(api.client(), BASE_URLS[cls.platform], token)


def sent(api: MockApi) -> tuple[str, str, dict[str, str], Any]:
    request = api.last
    params = dict(request.url.params)
    body = json.loads(request.content) if request.content else None
    return request.method, request.url.path, params, body


# --- capabilities ---------------------------------------------------------------------------


def test_every_platform_declares_its_capabilities() -> None:
    assert set(ACTIONS) == {"youtube", "facebook", "instagram", "x"}
    assert YouTubeActions.can_ban and YouTubeActions.can_hide and YouTubeActions.can_reply
    for cls in (FacebookActions, InstagramActions, XActions):
        assert cls.can_hide and cls.can_unhide and cls.can_reply and not cls.can_ban


async def test_an_unsupported_action_says_so_without_a_request() -> None:
    api = MockApi()
    for cls, target in ((FacebookActions, FB_COMMENT), (XActions, X_REPLY)):
        result = await actions(cls, api).ban_author(target)
        assert result.status == "unsupported" and not result.ok
    assert (await actions(YouTubeActions, api).unhide(CHAT)).status == "unsupported"
    assert api.requests == []


# --- YouTube --------------------------------------------------------------------------------


async def test_youtube_chat_ban_is_a_live_chat_ban_insert() -> None:
    api = MockApi(fixture_response("youtube", "live_chat_ban.json"))
    result = await actions(YouTubeActions, api).ban_author(CHAT, duration_seconds=300)
    assert result.status == "done" and result.ok
    method, path, params, body = sent(api)
    assert (method, path, params) == ("POST", "/youtube/v3/liveChat/bans", {"part": "snippet"})
    assert body == {
        "snippet": {
            "liveChatId": CHAT_ID,
            "type": "temporary",
            "banDurationSeconds": "300",
            "bannedUserDetails": {"channelId": "UCauthor"},
        }
    }
    assert api.last.headers["authorization"] == "Bearer s3cret"


async def test_youtube_permanent_ban_has_no_duration() -> None:
    api = MockApi(fixture_response("youtube", "live_chat_ban.json"))
    await actions(YouTubeActions, api).ban_author(CHAT)
    assert sent(api)[3]["snippet"]["type"] == "permanent"
    assert "banDurationSeconds" not in sent(api)[3]["snippet"]


async def test_youtube_comment_hide_unhide_and_ban_set_the_moderation_status() -> None:
    api = MockApi(httpx.Response(204), httpx.Response(204), httpx.Response(204))
    yt = actions(YouTubeActions, api)
    assert (await yt.hide(YT_COMMENT)).status == "done"
    assert sent(api)[:3] == (
        "POST",
        "/youtube/v3/comments/setModerationStatus",
        {"id": "UgzThreadA1", "moderationStatus": "heldForReview"},
    )
    assert sent(api)[3] is None  # no request body, as documented
    await yt.unhide(YT_COMMENT)
    assert sent(api)[2]["moderationStatus"] == "published"
    await yt.ban_author(YT_COMMENT)
    assert sent(api)[2] == {
        "id": "UgzThreadA1",
        "moderationStatus": "rejected",
        "banAuthor": "true",
    }


async def test_youtube_ban_author_needs_rejected() -> None:
    api = MockApi()
    yt = YouTubeActions.build(api.client(), BASE_URLS["youtube"], "s3cret")
    result = await yt.set_moderation_status(YT_COMMENT, "heldForReview", ban_author=True)
    assert result.status == "error" and api.requests == []


async def test_youtube_chat_hide_deletes_the_message() -> None:
    api = MockApi(httpx.Response(204))
    result = await actions(YouTubeActions, api).hide(CHAT)
    assert result.status == "done"
    assert sent(api)[:3] == ("DELETE", "/youtube/v3/liveChat/messages", {"id": "LCC.abc"})


async def test_youtube_replies_to_chat_and_to_the_top_level_comment() -> None:
    api = MockApi(
        fixture_response("youtube", "comment_inserted.json"),
        httpx.Response(200, json={"kind": "youtube#liveChatMessage", "id": "LCC.ours"}),
    )
    yt = actions(YouTubeActions, api)
    result = await yt.reply(YT_REPLY, "Please keep the conversation respectful.")
    assert result.status == "done" and result.external_id == "UgzThreadA1.9xOurReply01"
    method, path, params, body = sent(api)
    assert (method, path, params) == ("POST", "/youtube/v3/comments", {"part": "snippet"})
    assert body == {
        "snippet": {
            "parentId": "UgzThreadA1",
            "textOriginal": "Please keep the conversation respectful.",
        }
    }
    result = await yt.reply(CHAT, "Salaam")
    assert result.external_id == "LCC.ours"
    method, path, params, body = sent(api)
    assert (method, path) == ("POST", "/youtube/v3/liveChat/messages")
    assert body["snippet"] == {
        "liveChatId": CHAT_ID,
        "type": "textMessageEvent",
        "textMessageDetails": {"messageText": "Salaam"},
    }


@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("moderation_forbidden.json", 403, "permission_denied"),
        ("insufficient_permissions.json", 403, "permission_denied"),
        ("comment_not_found.json", 404, "not_found"),
        ("chat_not_found.json", 404, "not_found"),
        ("rate_limit_exceeded.json", 403, "rate_limited"),
        ("quota_exceeded.json", 403, "rate_limited"),
    ],
)
async def test_youtube_errors_become_a_status(name: str, status: int, expected: str) -> None:
    api = MockApi(fixture_response("youtube", name, status))
    result = await actions(YouTubeActions, api).hide(YT_COMMENT)
    assert result.status == expected and not result.ok
    assert "s3cret" not in result.detail


async def test_an_api_key_is_refused_with_a_hint_to_set_an_oauth_token() -> None:
    api = MockApi(fixture_response("youtube", "moderation_forbidden.json", 403))
    yt = YouTubeActions.build(api.client(), BASE_URLS["youtube"], "key", "youtube_api_key")
    result = await yt.hide(YT_COMMENT)
    assert api.last.url.params["key"] == "key"
    assert result.status == "permission_denied"
    assert "JALSA_YOUTUBE_OAUTH_TOKEN" in result.detail


# --- Facebook and Instagram ------------------------------------------------------------------


async def test_facebook_hide_and_unhide_set_is_hidden() -> None:
    api = MockApi(
        fixture_response("facebook", "success.json"), fixture_response("facebook", "success.json")
    )
    fb = actions(FacebookActions, api)
    assert (await fb.hide(FB_COMMENT)).status == "done"
    assert sent(api)[:3] == (
        "POST",
        "/v21.0/222_1000000000000001",
        {"is_hidden": "true", "access_token": "s3cret"},
    )
    await fb.unhide(FB_COMMENT)
    assert sent(api)[2]["is_hidden"] == "false"


async def test_facebook_reply_goes_under_the_top_level_comment() -> None:
    api = MockApi(fixture_response("facebook", "comment_created.json"))
    result = await actions(FacebookActions, api).reply(FB_REPLY, "Shukriya")
    assert result.external_id == "222_1000000000000042"
    assert sent(api)[:3] == (
        "POST",
        "/v21.0/222_1000000000000001/comments",
        {"message": "Shukriya", "access_token": "s3cret"},
    )


async def test_instagram_hide_and_reply() -> None:
    api = MockApi(
        fixture_response("instagram", "success.json"),
        fixture_response("instagram", "reply_created.json"),
    )
    ig = actions(InstagramActions, api)
    assert (await ig.hide(IG_COMMENT)).status == "done"
    assert sent(api)[:3] == (
        "POST",
        "/v21.0/17890000000000003",
        {"hide": "true", "access_token": "s3cret"},
    )
    result = await ig.reply(IG_COMMENT, "Thanks")
    assert result.external_id == "17890000000000099"
    assert sent(api)[1] == "/v21.0/17890000000000003/replies"


async def test_instagram_live_comments_take_no_reply() -> None:
    api = MockApi()
    live = item("instagram", "1789", extra={"live": True})
    assert (await actions(InstagramActions, api).reply(live, "hi")).status == "unsupported"
    assert api.requests == []


@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("error_permission.json", 403, "permission_denied"),
        ("error_permission_10.json", 400, "permission_denied"),
        ("error_not_found.json", 400, "not_found"),
        ("error_throttled_page.json", 400, "rate_limited"),
        ("error_token_expired.json", 400, "permission_denied"),
        ("error_temporary.json", 500, "error"),
    ],
)
async def test_graph_errors_become_a_status(name: str, status: int, expected: str) -> None:
    api = MockApi(fixture_response("facebook", name, status))
    result = await actions(FacebookActions, api).hide(FB_COMMENT)
    assert result.status == expected


async def test_graph_throttling_says_when_to_retry() -> None:
    api = MockApi(fixture_response("facebook", "error_throttled_page.json", 400))
    result = await actions(FacebookActions, api).hide(FB_COMMENT)
    assert "retry after" in result.detail


# --- X --------------------------------------------------------------------------------------


async def test_x_hide_is_a_put_of_hidden() -> None:
    api = MockApi(fixture_response("x", "hidden_true.json"))
    result = await actions(XActions, api).hide(X_REPLY)
    assert result.status == "done"
    assert sent(api) == ("PUT", "/2/tweets/1736400000000000102/hidden", {}, {"hidden": True})
    assert api.last.headers["authorization"] == "Bearer s3cret"


async def test_x_reply_is_a_post_in_reply_to() -> None:
    api = MockApi(fixture_response("x", "tweet_created.json", 201))
    result = await actions(XActions, api).reply(X_REPLY, "Please keep it respectful.")
    assert result.external_id == "1736400000000000999"
    assert sent(api) == (
        "POST",
        "/2/tweets",
        {},
        {
            "text": "Please keep it respectful.",
            "reply": {"in_reply_to_tweet_id": "1736400000000000102"},
        },
    )


@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("client_forbidden.json", 403, "permission_denied"),
        ("tweet_not_found.json", 404, "not_found"),
        ("unauthorized.json", 401, "permission_denied"),
    ],
)
async def test_x_errors_become_a_status(name: str, status: int, expected: str) -> None:
    api = MockApi(fixture_response("x", name, status))
    result = await actions(XActions, api).hide(X_REPLY)
    assert result.status == expected


async def test_x_rate_limit_carries_the_wait() -> None:
    reset = {"x-rate-limit-reset": "9999999999", "retry-after": "42"}
    api = MockApi(fixture_response("x", "too_many_requests.json", 429, reset))
    result = await actions(XActions, api).hide(X_REPLY)
    assert result.status == "rate_limited" and "retry after 42 s" in result.detail


# --- every platform -------------------------------------------------------------------------


async def test_dry_run_sends_nothing_and_says_what_it_would_send() -> None:
    api = MockApi()
    everyone = Actions({name: actions(cls, api) for name, cls in ACTIONS.items()})
    for target in (CHAT, YT_COMMENT, FB_COMMENT, IG_COMMENT, X_REPLY):
        for result in (
            await everyone.hide(target, dry_run=True),
            await everyone.reply(target, "hi", dry_run=True),
        ):
            assert result.status == "dry_run" and result.ok
            assert "s3cret" not in result.detail
    result = await everyone.ban_author(CHAT, dry_run=True, duration_seconds=60)
    assert "POST /liveChat/bans?part=snippet" in result.detail
    assert '"banDurationSeconds": "60"' in result.detail
    result = await everyone.set_youtube_moderation_status(YT_COMMENT, "rejected", dry_run=True)
    assert "moderationStatus=rejected" in result.detail
    assert api.requests == []


async def test_network_failures_are_an_error_not_an_exception() -> None:
    api = MockApi(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"))
    fb = actions(FacebookActions, api)
    assert (await fb.hide(FB_COMMENT)).status == "error"
    assert (await fb.hide(FB_COMMENT)).status == "error"


async def test_a_missing_credential_names_the_setting() -> None:
    api = MockApi()
    everyone = Actions.from_settings(api.client(), Settings(_env_file=None))
    result = await everyone.hide(X_REPLY)
    assert result.status == "permission_denied" and "JALSA_X_USER_TOKEN" in result.detail
    assert api.requests == []


async def test_an_empty_reply_is_refused_before_sending() -> None:
    api = MockApi()
    assert (await actions(XActions, api).reply(X_REPLY, "  ")).status == "error"
    assert api.requests == []


async def test_an_unknown_platform_is_unsupported() -> None:
    result = await Actions({}).hide(item("tiktok", "1"))
    assert result.status == "unsupported"
