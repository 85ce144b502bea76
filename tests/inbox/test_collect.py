"""Inbox collectors against fixtures in the documented shapes: items with thread, author and
platform ids, paging, resuming after a restart, partial answers and rate limits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from jalsa.platforms.base import StreamStatus, Usage
from jalsa.platforms.facebook.inbox import FacebookCommentsInbox, graph_comment_items
from jalsa.platforms.inbox_record import InboxItem
from jalsa.platforms.instagram.inbox import InstagramCommentsApi, InstagramCommentsInbox
from jalsa.platforms.x.inbox import XMentionsInbox, XRepliesInbox, post_items, team_conversations
from jalsa.platforms.youtube.inbox import YouTubeChatInbox, YouTubeCommentsInbox
from testkit import BASE_URLS, MockApi, fixture_response, load_fixture


async def test_youtube_chat_reuses_the_chat_collector_and_keeps_ban_ids(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("youtube", "chat_page1.json"),
        fixture_response("youtube", "chat_page2.json"),
    )
    chat = YouTubeChatInbox(
        api.client(), BASE_URLS["youtube"], "k", "chat1", video_id="vid", dataset_dir=tmp_path
    )
    first = await chat.collect()
    assert len(first.items) == 3 and first.items[0].kind == "live_chat"
    message = first.items[0]
    assert message.author_id == "UCq1F9zYb6rZ3mKx0aWj8n2Q" and message.thread_id == "vid"
    assert message.extra["live_chat_id"].startswith("Cg0KC")
    second = await chat.collect()
    assert api.last.url.params["pageToken"] == "GLCJsPX_5YIDIMmo9Pz55YID"
    assert second.result is not None and second.result.status is StreamStatus.OK
    await chat.close()


async def test_youtube_chat_rate_limit_is_survived(tmp_path: Path) -> None:
    api = MockApi(fixture_response("youtube", "chat_rate_limited.json", 403))
    chat = YouTubeChatInbox(api.client(), BASE_URLS["youtube"], "k", "c", dataset_dir=tmp_path)
    batch = await chat.collect()
    assert batch.items == [] and batch.result is not None
    assert batch.result.status is StreamStatus.RATE_LIMITED and batch.result.retry_after
    await chat.close()


async def test_youtube_comment_threads_page_and_resume(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("youtube", "comment_threads_page1.json"),
        fixture_response("youtube", "comment_threads_page2.json"),
    )
    threads = YouTubeCommentsInbox(
        api.client(), BASE_URLS["youtube"], "k", "jalsaSIM001", dataset_dir=tmp_path
    )
    batch = await threads.collect()
    params = api.requests[0].url.params
    assert params["textFormat"] == "plainText" and params["part"] == "snippet,replies"
    assert params["videoId"] == "jalsaSIM001"
    assert api.requests[1].url.params["pageToken"] == "QURTSl9pM1lCbnNfTGt0eFZ2"
    kinds = [(i.external_id, i.kind, i.parent_id) for i in batch.items]
    assert ("UgzThreadA1.9xReplyB2", "reply", "UgzThreadA1") in kinds
    assert len(batch.items) == 4 and batch.skipped == 1  # the thread without a comment
    assert batch.items[0].author_id == "UCsana0000000000000000012"
    await threads.close()
    # A restart reads the first page only: it reaches comments seen before.
    api = MockApi(fixture_response("youtube", "comment_threads_page1.json"))
    again = YouTubeCommentsInbox(
        api.client(), BASE_URLS["youtube"], "k", "jalsaSIM001", dataset_dir=tmp_path
    )
    batch = await again.collect()
    assert len(api.requests) == 1 and "pageToken" not in api.last.url.params
    await again.close()


async def test_youtube_disabled_comments_are_not_found(tmp_path: Path) -> None:
    api = MockApi(fixture_response("youtube", "comments_disabled.json", 403))
    threads = YouTubeCommentsInbox(
        api.client(), BASE_URLS["youtube"], "k", "v", dataset_dir=tmp_path
    )
    batch = await threads.collect()
    assert batch.result is not None and batch.result.status is StreamStatus.NOT_FOUND
    await threads.close()


async def test_facebook_comments_with_replies_and_stream_filter(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("facebook", "comments_page1.json"),
        fixture_response("facebook", "comments_page2.json"),
    )
    comments = FacebookCommentsInbox(
        api.client(), BASE_URLS["facebook"], "t", "111", dataset_dir=tmp_path
    )
    batch = await comments.collect()
    assert api.requests[0].url.params["filter"] == "stream"
    assert "from{id,name}" in api.requests[0].url.params["fields"]
    replies = [i for i in batch.items if i.kind == "reply"]
    assert replies and all(r.parent_id for r in replies)
    assert all(i.thread_id == "111" and i.platform == "facebook" for i in batch.items)
    await comments.close()


async def test_facebook_throttling_keeps_the_cursor(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("facebook", "comments_page1.json"),
        fixture_response("facebook", "error_throttled_page.json", 400),
    )
    comments = FacebookCommentsInbox(
        api.client(), BASE_URLS["facebook"], "t", "111", dataset_dir=tmp_path
    )
    batch = await comments.collect()
    assert batch.items and batch.result is not None
    assert batch.result.status is StreamStatus.RATE_LIMITED
    await comments.close()
    api = MockApi(fixture_response("facebook", "comments_page2.json"))
    resumed = FacebookCommentsInbox(
        api.client(), BASE_URLS["facebook"], "t", "111", dataset_dir=tmp_path
    )
    await resumed.collect()
    assert "after" in api.last.url.params
    await resumed.close()


async def test_instagram_comments_and_replies(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("instagram", "comments_page1.json"),
        fixture_response("instagram", "comments_page2.json"),
    )
    comments = InstagramCommentsInbox(
        api.client(),
        BASE_URLS["instagram"],
        "t",
        "18000000000000001",
        live=True,
        dataset_dir=tmp_path,
    )
    batch = await comments.collect()
    fields = api.requests[0].url.params["fields"]
    assert "replies{" in fields and "username" in fields and "timestamp" in fields
    assert api.requests[1].url.params["after"] == "QVFIUmFmdGVy"
    assert [i.kind for i in batch.items] == ["comment", "reply", "comment", "comment"]
    assert batch.skipped == 1
    assert batch.items[1].parent_id == "17890000000000003"
    assert batch.items[0].author_name == "ayesha.malik12" and batch.items[0].extra["live"]
    raw = (tmp_path / "raw" / "instagram-comments-18000000000000001.jsonl").read_text()
    assert "secret-token" not in raw
    await comments.close()


async def test_x_replies_search_the_conversation(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("x", "conversation_replies.json"),
        fixture_response("x", "search_empty.json"),
    )
    replies = XRepliesInbox(
        api.client(), BASE_URLS["x"], "b", "1736400000000000100", dataset_dir=tmp_path
    )
    batch = await replies.collect()
    assert api.last.url.params["query"] == "conversation_id:1736400000000000100"
    assert "author_id" in api.last.url.params["expansions"]
    first = batch.items[0]
    assert first.kind == "reply" and first.parent_id == "1736400000000000100"
    assert first.author_name == "Kashif Raza" and first.extra["username"] == "kashif_r1"
    assert first.permalink == "https://x.com/kashif_r1/status/1736400000000000102"
    await replies.collect()
    assert api.last.url.params["since_id"] == "1736400000000000102"
    await replies.close()


async def test_x_mentions_page_with_pagination_token(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("x", "mentions_page1.json"), fixture_response("x", "mentions_page2.json")
    )
    mentions = XMentionsInbox(
        api.client(), BASE_URLS["x"], "b", "1458720925474271233", dataset_dir=tmp_path
    )
    batch = await mentions.collect()
    assert api.requests[0].url.path == "/2/users/1458720925474271233/mentions"
    assert "query" not in api.requests[0].url.params
    second = api.requests[1].url.params
    assert second["pagination_token"] == "7140dibdnow9c7btw4b3fa5m6srkjw5lf4hpf1wudbm8h"
    assert [i.kind for i in batch.items] == ["mention", "mention"]
    await mentions.close()


async def test_x_rate_limit_is_a_status_not_an_exception(tmp_path: Path) -> None:
    api = MockApi(fixture_response("x", "too_many_requests.json", 429, {"x-rate-limit-reset": "1"}))
    mentions = XMentionsInbox(api.client(), BASE_URLS["x"], "b", "1", dataset_dir=tmp_path)
    batch = await mentions.collect()
    assert batch.result is not None and batch.result.status is StreamStatus.RATE_LIMITED
    await mentions.close()


async def test_items_of_a_page_logged_before_a_crash_are_handed_on_after_the_restart(
    tmp_path: Path,
) -> None:
    """The page is in the raw log (the cursor past it) when the process dies before its items
    are stored: the restarted collector hands them on again with the next page's, and once
    they are confirmed stored, never again."""

    def killed(items: list[InboxItem], stored: Callable[[], None]) -> None:
        raise RuntimeError("killed before the store committed")

    api = MockApi(
        fixture_response("facebook", "comments_page1.json"),
        fixture_response("facebook", "error_throttled_page.json", 400),
    )
    first = FacebookCommentsInbox(
        api.client(), BASE_URLS["facebook"], "t", "111", dataset_dir=tmp_path
    )
    first.on_items = killed
    with pytest.raises(RuntimeError):
        await first.run_once()
    await first.close()
    lost = {
        i.external_id
        for i in graph_comment_items(
            load_fixture("facebook", "comments_page1.json"), "facebook", "111"
        )[0]
    }

    handed: list[list[str]] = []

    def store(items: list[InboxItem], stored: Callable[[], None]) -> None:
        handed.append([i.external_id for i in items])
        stored()

    async def restart(*answers: Any) -> MockApi:
        api = MockApi(*answers)
        collector = FacebookCommentsInbox(
            api.client(), BASE_URLS["facebook"], "t", "111", dataset_dir=tmp_path
        )
        collector.on_items = store
        await collector.run_once()
        await collector.close()
        return api

    api = await restart(fixture_response("facebook", "comments_page2.json"))
    assert "after" in api.last.url.params  # the cursor had moved past the first page
    assert lost and lost <= set(handed[0])
    assert len(handed[0]) == len(set(handed[0])) > len(lost)  # page 2's items too
    await restart(httpx.Response(200, json={"data": []}))
    assert handed[1] == []  # confirmed stored: not handed on a third time


def test_the_team_conversations_are_those_its_mentions_answer_at_the_root() -> None:
    replies, _ = post_items(load_fixture("x", "conversation_replies.json"), "mention")
    assert team_conversations(replies, "1458720925474271232") == ["1736400000000000100"]
    assert team_conversations(replies, "1458720925474271233") == []  # another account's
    plain, _ = post_items(load_fixture("x", "mentions_page1.json"), "mention")
    assert team_conversations(plain, "1458720925474271233") == []  # a mention, no reply


async def test_instagram_live_media_are_found_as_the_connector_finds_them() -> None:
    api = MockApi(
        fixture_response("instagram", "live_media_two.json"),
        fixture_response("instagram", "live_media_empty.json"),
    )
    ig = api.connector(InstagramCommentsApi)
    media = await ig.live_media(Usage(), "17841400000000000")
    assert [m["id"] for m in media] == ["17934872011728415", "17934872011728999"]
    assert api.last.url.path.endswith("/17841400000000000/live_media")
    assert await ig.live_media(Usage(), "17841400000000000") == []
