"""YouTube live chat (Super Chat, Super Sticker, memberships, deleted and banned messages),
comment threads, and the refusals the Data API sends, read by the real parser, inbox
collectors and connectors."""

from __future__ import annotations

import pytest
from corpus import Ingested, response, sample

from jalsa.platforms.base import PollError, StreamStatus, Usage
from jalsa.platforms.sources import NO_CONTENT
from jalsa.platforms.youtube.actions import YouTubeModerationApi
from jalsa.platforms.youtube.chat import ChatOver, YouTubeChatApi
from jalsa.platforms.youtube.connector import YouTubeConnector
from jalsa.platforms.youtube.inbox import chat_items, thread_items
from testkit import MockApi, fixture_response

EVENTS = ("LCC.CONF0005", "LCC.CONF0007", "LCC.CONF0008", "LCC.CONF0009", "LCC.CONF0010")


def test_chat_messages_people_write_are_posts_and_events_are_not(ingested: Ingested) -> None:
    page = sample("youtube", "chat_page.json")
    summary = ingested.lines("youtube-chat-x.jsonl", [page])
    assert summary.files[0].format == "youtube-chat"
    assert (summary.accepted, summary.quarantined) == (5, 1)
    posts = ingested.posts()
    assert sorted(posts) == [
        "LCC.CONF0001",
        "LCC.CONF0002",
        "LCC.CONF0003",
        "LCC.CONF0004",
        "LCC.CONF0006",
    ]
    assert posts["LCC.CONF0001"]["hashtags"] == ["pti"]
    assert posts["LCC.CONF0002"]["text"] == "Allah hafiz, jeetenge"  # the comment, not the amount
    assert posts["LCC.CONF0003"]["text"] == ""  # a Super Chat without words: paid, kept
    assert posts["LCC.CONF0004"]["text"] == ""  # a Super Sticker
    assert posts["LCC.CONF0006"]["text"] == "Chhe mahine se saath hain"  # milestone comment
    assert not set(EVENTS) & set(posts)  # memberships, deletions, bans: not posts
    assert "UCconfModerator00000001" not in {p["author_id"] for p in posts.values()}
    [bad] = ingested.quarantine()
    assert (bad["line"], bad["item"]) == (1, 11)
    assert bad["reason"] == "chat message without an author channel"
    assert (
        bad["raw"].startswith('{"kind":"youtube#liveChatMessage"') and "kaun hai ye" in bad["raw"]
    )


def test_a_chat_message_with_nothing_in_it_is_quarantined(ingested: Ingested) -> None:
    page = sample("youtube", "chat_page.json")
    page["items"] = [page["items"][0]]
    page["items"][0]["snippet"]["textMessageDetails"]["messageText"] = ""
    page["items"][0]["snippet"]["displayMessage"] = ""
    summary = ingested.lines("youtube-chat-x.jsonl", [page])
    assert (summary.accepted, summary.quarantined) == (0, 1)
    assert ingested.quarantine()[0]["reason"] == NO_CONTENT


def test_inbox_items_of_the_same_chat_page() -> None:
    items, skipped = chat_items(sample("youtube", "chat_page.json"), "jalsa000001")
    assert [i.external_id for i in items] == ["LCC.CONF0001", "LCC.CONF0002", "LCC.CONF0006"]
    assert skipped == 1  # the message without an author
    assert {i.author_id for i in items}.isdisjoint({"UCconfModerator00000001"})


def test_comment_threads_become_comments_and_replies() -> None:
    items, skipped = thread_items(sample("youtube", "comment_threads.json"), "jalsa000001")
    assert [(i.external_id, i.kind, i.parent_id) for i in items] == [
        ("UgzConfThread0001", "comment", None),
        ("UgzConfThread0001.AAAAreply01", "reply", "UgzConfThread0001"),
        ("UgzConfThread0001.AAAAreply02", "reply", "UgzConfThread0001"),
        ("UgzConfThread0002", "comment", None),
    ]
    assert skipped == 1  # no authorChannelId
    assert items[3].extra["moderation_status"] == "heldForReview"
    assert items[0].permalink == "https://www.youtube.com/watch?v=jalsa000001&lc=UgzConfThread0001"


async def refusal(cls: type[YouTubeConnector], name: str) -> PollError:
    api = MockApi(response("youtube", name, 403))
    connector = api.connector(cls, credential="the-credential")
    with pytest.raises(PollError) as caught:
        await connector.fetch(Usage(), "/liveChat/messages", {"liveChatId": "Cg0K"})
    return caught.value


@pytest.mark.parametrize(
    ("name", "reason"),
    [("forbidden.json", "forbidden"), ("permission_denied_status_only.json", "PERMISSION_DENIED")],
)
async def test_a_refusal_keeps_youtubes_reason_and_names_the_credential(
    name: str, reason: str
) -> None:
    read = await refusal(YouTubeChatApi, name)
    assert read.status is StreamStatus.AUTH_FAILED and read.http_status == 403
    assert f"YouTube said {reason}: " in read.detail
    assert "JALSA_YOUTUBE_API_KEY" in read.detail and "check the token" not in read.detail
    moderate = await refusal(YouTubeModerationApi, name)
    assert f"YouTube said {reason}" in moderate.detail
    assert "JALSA_YOUTUBE_OAUTH_TOKEN" in moderate.detail and "force-ssl" in moderate.detail
    assert "the-credential" not in read.detail + moderate.detail


async def test_a_disabled_chat_is_over_not_a_credential_problem() -> None:
    over = await refusal(YouTubeChatApi, "live_chat_disabled.json")
    assert isinstance(over, ChatOver) and over.reason == "liveChatDisabled"
    assert over.status is StreamStatus.NOT_LIVE


async def test_quota_is_still_quota() -> None:
    api = MockApi(fixture_response("youtube", "quota_exceeded.json", 403))
    with pytest.raises(PollError) as caught:
        await api.connector(YouTubeChatApi, credential="k").fetch(Usage(), "/liveChat/messages")
    assert caught.value.status is StreamStatus.QUOTA_EXCEEDED
