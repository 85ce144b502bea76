"""Graph API: Facebook comments (stickers and photos without words, comments without
`from`), live videos, and Instagram live media and their comments, read by the real parser,
inbox collectors and connectors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from corpus import Ingested, response, sample

from jalsa.platforms.base import Reading, StreamStatus, Target
from jalsa.platforms.facebook.comments import FacebookCommentsCollector
from jalsa.platforms.facebook.connector import FacebookConnector
from jalsa.platforms.facebook.inbox import graph_comment_items
from jalsa.platforms.instagram.connector import InstagramConnector
from jalsa.platforms.instagram.inbox import ig_comment_items
from jalsa.platforms.sources import NO_CONTENT
from testkit import MockApi, fixture_response

NOW = datetime(2023, 12, 17, 15, 12, tzinfo=UTC)
LIVE = "1817000000000099"


def comment(n: int) -> str:
    return f"{LIVE}_90560000000000{n}"


def test_comments_with_a_sticker_or_photo_are_posts_and_empty_ones_are_not(
    ingested: Ingested,
) -> None:
    page = sample("facebook", "comments_page.json")
    summary = ingested.lines("facebook-comments.jsonl", [page])
    assert summary.files[0].format == "facebook-comments"
    assert (summary.accepted, summary.quarantined) == (4, 2)
    posts = ingested.posts()
    assert sorted(posts) == [comment(n) for n in (1, 2, 3, 4)]
    assert posts[comment(1)]["hashtags"] == ["pti"] and posts[comment(1)]["reply_count"] == 1
    assert posts[comment(2)]["reply_to"] == comment(1)
    assert posts[comment(3)]["text"] == posts[comment(4)]["text"] == ""  # sticker, photo
    assert posts[comment(3)]["hashtags"] == []
    rows = ingested.quarantine()
    assert [(q["item"], q["reason"]) for q in rows] == [
        (5, NO_CONTENT),
        (6, "comment without `from` (the token may lack the permission to see authors)"),
    ]
    assert json.loads(rows[0]["raw"]) == page["data"][4]  # the comment as Graph sent it


def test_inbox_items_carry_the_comments_permalink(tmp_path: Path) -> None:
    page = sample("facebook", "comments_page.json")
    items, skipped = graph_comment_items(page, "facebook", LIVE)
    assert (len(items), skipped) == (6, 0)
    assert all(i.permalink == c["permalink_url"] for i, c in zip(items, page["data"], strict=True))
    assert items[1].kind == "reply" and items[1].parent_id == comment(1)
    collector = FacebookCommentsCollector(
        None,  # type: ignore[arg-type]  # no request is sent
        "https://graph.facebook.com/v21.0",
        "token",
        LIVE,
        dataset_dir=tmp_path,
    )
    fields = collector.page_params()["fields"].split(",")
    assert {"permalink_url", "attachment{type", "message", "from{id"} <= set(fields)


async def test_a_live_video_gives_live_views_and_an_ended_one_is_not_live() -> None:
    api = MockApi(
        response("facebook", "live_video.json"),
        fixture_response("facebook", "video_insights.json"),
    )
    result = await api.connector(FacebookConnector).poll(Target(LIVE), NOW)
    assert result.status is StreamStatus.OK
    assert result.readings[0] == Reading("facebook.live_views", 4210)
    assert api.requests[1].url.path == "/v21.0/1071398877300099/video_insights"
    api = MockApi(
        response("facebook", "live_video_ended.json"),
        fixture_response("facebook", "video_insights.json"),
    )
    ended = await api.connector(FacebookConnector).poll(Target(LIVE), NOW)
    assert ended.status is StreamStatus.NOT_LIVE
    assert "status is VOD" in ended.detail
    assert all(r.metric != "facebook.live_views" for r in ended.readings)


async def test_instagram_live_media_and_its_comments() -> None:
    api = MockApi(response("instagram", "live_media.json"))
    result = await api.connector(InstagramConnector).poll(Target("17841405822304914"), NOW)
    assert result.status is StreamStatus.OK
    assert result.readings == [
        Reading("instagram.live_media", 1),
        Reading("instagram.live_comments", 318),
    ]
    items, skipped = ig_comment_items(
        sample("instagram", "live_comments.json"), "17934872011700099", live=True
    )
    assert [(i.external_id, i.kind, i.author_name) for i in items] == [
        ("17890000000000101", "comment", "karachi.voice"),
        ("17890000000000102", "reply", "lahore.wali"),
    ]
    assert skipped == 1  # no username and no `from`: no author to moderate
    assert all(i.extra["live"] for i in items)
