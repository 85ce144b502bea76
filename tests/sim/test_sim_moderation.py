"""The simulator's inbox and moderation endpoints, driven by jalsa's own collectors and
actions: what is collected can be hidden, banned and replied to, the simulator remembers it,
and injected errors (a token without the permission, a deleted item) come back as statuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from simkit import CALM, ManualClock, Sim, make_scenario

from jalsa.platforms.facebook.actions import FacebookActions
from jalsa.platforms.facebook.inbox import FacebookCommentsInbox
from jalsa.platforms.inbox_record import InboxItem
from jalsa.platforms.instagram.actions import InstagramActions
from jalsa.platforms.instagram.inbox import InstagramCommentsInbox
from jalsa.platforms.x.actions import XActions
from jalsa.platforms.x.inbox import XMentionsInbox, XRepliesInbox
from jalsa.platforms.x.sim.posts import FIXED_AUTHORS
from jalsa.platforms.youtube.actions import YouTubeActions
from jalsa.platforms.youtube.inbox import YouTubeChatInbox, YouTubeCommentsInbox
from jalsa.platforms.youtube.sim.chat import live_chat_id
from jalsa.sim.kit import INBOX_PHRASES

YT = "http://sim/youtube/v3"
GRAPH = "http://sim/graph/v21.0"
X = "http://sim/x/2"


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    scenario = make_scenario()
    s = Sim(scenario, ManualClock(scenario.at(CALM)))
    yield s
    await s.client.aclose()


async def state(sim: Sim) -> dict[str, object]:
    return (await sim.get("/_sim/moderation")).json()  # type: ignore[no-any-return]


async def test_youtube_comment_threads_hold_every_kind_of_comment(sim: Sim, tmp_path: Path) -> None:
    sim.at(60)
    threads = YouTubeCommentsInbox(sim.client, YT, "key", "vid00000001", dataset_dir=tmp_path)
    batch = await threads.collect()
    await threads.close()
    assert batch.result is not None and batch.result.pages > 1  # paged back to the start
    texts = {i.text for i in batch.items}
    assert texts <= {text for text, _ in INBOX_PHRASES}
    assert any("0300-1234567" in t for t in texts) and any("besharam" in t for t in texts)
    assert any(i.kind == "reply" for i in batch.items)


async def test_hiding_and_banning_on_youtube_comments_is_recorded(sim: Sim, tmp_path: Path) -> None:
    sim.at(60)
    threads = YouTubeCommentsInbox(sim.client, YT, "key", "vid00000001", dataset_dir=tmp_path)
    items = (await threads.collect()).items
    await threads.close()
    yt = YouTubeActions.build(sim.client, YT, "oauth-token")
    target = items[0]
    assert (await yt.hide(target)).status == "done"
    shown = await sim.get("/youtube/v3/comments", id=target.external_id, part="snippet", key="k")
    assert shown.json()["items"][0]["snippet"]["moderationStatus"] == "heldForReview"
    assert (await yt.ban_author(items[1])).status == "done"
    assert items[1].author_id in (await state(sim))["youtube_comment_bans"]  # type: ignore[operator]
    reply = await yt.reply(items[2], "Please keep it respectful.")
    assert reply.status == "done" and reply.external_id


async def test_a_banned_chat_author_leaves_the_chat(sim: Sim, tmp_path: Path) -> None:
    sim.at(60)
    stream = sim.scenario.stream("youtube", "vid00000001")
    assert stream is not None
    chat_id = live_chat_id(stream)
    chat = YouTubeChatInbox(sim.client, YT, "key", chat_id, dataset_dir=tmp_path)
    items = (await chat.collect()).items
    author = max({i.author_id for i in items}, key=[i.author_id for i in items].count)
    target = next(i for i in items if i.author_id == author)
    yt = YouTubeActions.build(sim.client, YT, "oauth-token")
    assert (await yt.ban_author(target)).status == "done"
    assert (await yt.hide(items[-1])).status == "done"
    assert (await yt.hide(items[-1])).status == "not_found"  # deleted already
    sim.at(75)
    later = await sim.get(
        "/youtube/v3/liveChat/messages",
        liveChatId=chat_id,
        part="snippet",
        key="k",
        maxResults="2000",
    )
    authors = {m["snippet"]["authorChannelId"] for m in later.json()["items"]}
    assert author not in authors
    await chat.close()


async def test_facebook_hide_shows_on_the_comment(sim: Sim, tmp_path: Path) -> None:
    sim.at(60)
    comments = FacebookCommentsInbox(sim.client, GRAPH, "token", "111", dataset_dir=tmp_path)
    items = (await comments.collect()).items
    await comments.close()
    fb = FacebookActions.build(sim.client, GRAPH, "token")
    target = items[0]
    assert (await fb.hide(target)).status == "done"
    shown = await sim.get(
        f"/graph/v21.0/{target.external_id}", fields="is_hidden,message", access_token="t"
    )
    assert shown.json()["is_hidden"] is True
    assert (await fb.unhide(target)).status == "done"
    reply = await fb.reply(target, "Shukriya")
    assert reply.status == "done"
    readonly = FacebookActions.build(sim.client, GRAPH, "readonly-token")
    assert (await readonly.hide(target)).status == "permission_denied"
    await sim.client.post(
        "/_sim/moderation/delete", json={"platform": "facebook", "id": target.external_id}
    )
    assert (await fb.hide(target)).status == "not_found"


async def test_instagram_comments_can_be_hidden(sim: Sim, tmp_path: Path) -> None:
    sim.at(35)
    media = await sim.get("/graph/v21.0/178/live_media", fields="id", access_token="t")
    media_id = media.json()["data"][0]["id"]
    comments = InstagramCommentsInbox(
        sim.client, GRAPH, "token", media_id, live=True, dataset_dir=tmp_path
    )
    items = (await comments.collect()).items
    await comments.close()
    assert items and all(i.platform == "instagram" for i in items)
    ig = InstagramActions.build(sim.client, GRAPH, "token")
    assert (await ig.hide(items[0])).status == "done"
    shown = await sim.get(f"/graph/v21.0/{items[0].external_id}", fields="hidden", access_token="t")
    assert shown.json()["hidden"] is True
    assert f"instagram:{items[0].external_id}" in (await state(sim))["hidden"]  # type: ignore[operator]


async def test_x_replies_and_mentions_can_be_hidden_and_answered(sim: Sim, tmp_path: Path) -> None:
    sim.at(40)
    mentions = XMentionsInbox(sim.client, X, "bearer", FIXED_AUTHORS[0][0], dataset_dir=tmp_path)
    found = (await mentions.collect()).items
    await mentions.close()
    assert found and all(i.kind == "mention" for i in found)
    root = found[0].parent_id
    assert root is not None
    replies = XRepliesInbox(sim.client, X, "bearer", root, dataset_dir=tmp_path)
    batch = await replies.collect()
    await replies.close()
    assert batch.items and all(i.thread_id == root for i in batch.items)
    x = XActions.build(sim.client, X, "user-token")
    assert (await x.hide(batch.items[0])).status == "done"
    assert f"x:{batch.items[0].external_id}" in (await state(sim))["hidden"]  # type: ignore[operator]
    assert (await x.reply(batch.items[0], "Thanks")).status == "done"
    readonly = XActions.build(sim.client, X, "readonly")
    assert (await readonly.hide(batch.items[0])).status == "permission_denied"


async def test_a_rate_limit_burst_is_a_status_per_item(sim: Sim) -> None:
    sim.at(75)  # the Facebook burst of the test scenario
    fb = FacebookActions.build(sim.client, GRAPH, "token")
    item = InboxItem(
        platform="facebook",
        external_id="222_1",
        kind="comment",
        thread_id="111",
        author_id="1",
        text="x",
        created_at=sim.clock.current,
    )
    assert (await fb.hide(item)).status == "rate_limited"
