"""The simulator's conversation endpoints: X recent search, the filtered stream and its rules,
YouTube live chat and Facebook comments; their shapes, paging, consistency with the scenario
(search and stream agree with X counts) and the gates they share with the other endpoints."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from simkit import CALM, ManualClock, Sim, make_scenario

SEARCH = "/x/2/tweets/search/recent"
STREAM = "/x/2/tweets/search/stream"
RULES = "/x/2/tweets/search/stream/rules"
CHAT = "/youtube/v3/liveChat/messages"
GRAPH = "/graph/v21.0"
FIELDS = {
    "tweet.fields": "created_at,lang,author_id,conversation_id,entities,referenced_tweets,"
    "public_metrics,in_reply_to_user_id",
    "expansions": "author_id,referenced_tweets.id",
    "user.fields": "created_at,username,name",
}
COMMENT_FIELDS = "id,message,created_time,from{id,name},parent{id},like_count,comment_count"
BEARER = {"Authorization": "Bearer test-token"}


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    scenario = make_scenario()
    s = Sim(scenario, ManualClock(scenario.at(CALM)))
    yield s
    await s.client.aclose()


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def search_all(sim: Sim, **params: str) -> list[dict[str, Any]]:
    """Every post of a search, following next_token to the last page."""
    posts: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        extra = {"next_token": token} if token else {}
        response = await sim.x(SEARCH, max_results="100", **params, **extra)
        assert response.status_code == 200, response.text
        body = response.json()
        posts.extend(body.get("data", []))
        token = body["meta"].get("next_token")
        if not token:
            return posts


# --- X recent search ------------------------------------------------------------------------


async def test_search_page_shape(sim: Sim) -> None:
    now = sim.at(CALM)
    start = stamp(now - timedelta(minutes=2))
    response = await sim.x(
        SEARCH, query="#TestJalsa", max_results="100", start_time=start, **FIELDS
    )
    assert response.status_code == 200
    assert int(response.headers["x-rate-limit-limit"]) == 450
    body = response.json()
    data, meta = body["data"], body["meta"]
    assert meta["result_count"] == len(data) == 100 and meta["next_token"]
    assert meta["newest_id"] == data[0]["id"] and meta["oldest_id"] == data[-1]["id"]
    ids = [int(p["id"]) for p in data]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 100
    users = {u["id"]: u for u in body["includes"]["users"]}
    referenced = {t["id"] for t in body["includes"].get("tweets", [])}
    for post in data:
        assert set(post) >= {"id", "text", "edit_history_tweet_ids", "created_at", "author_id"}
        assert post["author_id"] in users and set(users[post["author_id"]]) == {
            "id",
            "name",
            "username",
            "created_at",
        }
        created = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))
        assert now - timedelta(minutes=2) <= created <= now
        tags = [h["tag"] for h in post["entities"]["hashtags"]]
        assert "TestJalsa" in tags
        for tag in post["entities"]["hashtags"]:
            assert post["text"][tag["start"] : tag["end"]] == "#" + tag["tag"]
        assert set(post["public_metrics"]) >= {"like_count", "retweet_count", "reply_count"}
        for ref in post.get("referenced_tweets", []):
            assert ref["type"] in ("retweeted", "replied_to", "quoted")
            assert ref["id"] in referenced
        if post["text"].startswith("RT @"):
            assert post["referenced_tweets"][0]["type"] == "retweeted"


async def test_search_agrees_with_counts_and_the_scenario(sim: Sim) -> None:
    now = sim.at(CALM)
    start = now.replace(second=0) - timedelta(minutes=3)
    end = now.replace(second=0)
    posts = await search_all(sim, query="#TestJalsa", start_time=stamp(start), end_time=stamp(end))
    counts = (
        await sim.x(
            "/x/2/tweets/counts/recent",
            query="#TestJalsa",
            granularity="minute",
            start_time=stamp(start),
            end_time=stamp(end),
        )
    ).json()
    stream = sim.scenario.stream("x_counts", "#TestJalsa")
    assert stream is not None
    expected = sum(
        sim.scenario.expected_posts(stream, start + timedelta(minutes=m)) for m in range(3)
    )
    assert len(posts) == counts["meta"]["total_tweet_count"] == expected > 100
    assert len({p["id"] for p in posts}) == len(posts)
    # Other queries find nothing; fields not asked for are not sent.
    other = await sim.x(SEARCH, query="#SomethingElse", max_results="10")
    assert other.json() == {"meta": {"result_count": 0}}
    bare = (await sim.x(SEARCH, query="#TestJalsa", max_results="10")).json()["data"][0]
    assert set(bare) == {"id", "text", "edit_history_tweet_ids"}


async def test_since_id_gives_only_newer_posts_as_time_goes_on(sim: Sim) -> None:
    sim.at(CALM)
    first = (await sim.x(SEARCH, query="#TestJalsa", max_results="10")).json()
    newest = first["meta"]["newest_id"]
    again = (await sim.x(SEARCH, query="#TestJalsa", max_results="10", since_id=newest)).json()
    assert again == {"meta": {"result_count": 0}}
    sim.at(CALM + 0.5)
    later = await search_all(sim, query="#TestJalsa", since_id=newest)
    assert later and all(int(p["id"]) > int(newest) for p in later)
    stream = sim.scenario.stream("x_counts", "#TestJalsa")
    assert stream is not None
    # Half a minute in: the first half of this minute's posts, spread evenly over it.
    n = sim.scenario.expected_posts(stream, sim.scenario.at(CALM))
    assert len(later) == n // 2  # end_time (default: now) is exclusive


async def test_search_refuses_bad_requests_in_xs_shape(sim: Sim) -> None:
    missing = await sim.x(SEARCH)
    assert missing.status_code == 400
    assert missing.json()["type"] == "https://api.twitter.com/2/problems/invalid-request"
    small = await sim.x(SEARCH, query="#TestJalsa", max_results="5")
    assert "between 10 and 100" in small.json()["errors"][0]["message"]
    old = await sim.x(SEARCH, query="#TestJalsa", start_time="2023-12-01T00:00:00Z")
    assert old.status_code == 400
    token = await sim.x(SEARCH, query="#TestJalsa", next_token="nonsense")
    assert token.status_code == 400


async def test_search_passes_the_x_gates(sim: Sim) -> None:
    sim.at(70.5)
    limited = await sim.x(SEARCH, query="#TestJalsa")
    assert limited.status_code == 429 and limited.headers["x-rate-limit-remaining"] == "0"
    sim.at(86)
    assert (await sim.x(SEARCH, query="#TestJalsa")).status_code == 401
    sim.at(CALM)
    assert (await sim.get(SEARCH, query="#TestJalsa")).status_code == 401  # no bearer token
    sim.at(101)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sim.x(SEARCH, query="#TestJalsa"), 0.3)


# --- X filtered stream and rules ------------------------------------------------------------


async def add_rule(sim: Sim, value: str, tag: str | None = None, **params: str) -> httpx.Response:
    rule = {"value": value, **({"tag": tag} if tag else {})}
    return await sim.client.post(RULES, json={"add": [rule]}, params=params, headers=BEARER)


async def test_rules_add_list_delete_and_dry_run(sim: Sim) -> None:
    empty = (await sim.x(RULES)).json()
    assert empty["meta"]["result_count"] == 0 and "data" not in empty
    dry = await add_rule(sim, "#TestJalsa", "jalsa", dry_run="true")
    assert dry.status_code == 200 and dry.json()["meta"]["summary"]["created"] == 1
    assert (await sim.x(RULES)).json()["meta"]["result_count"] == 0
    added = await add_rule(sim, "#TestJalsa", "jalsa")
    assert added.status_code == 201
    rule = added.json()["data"][0]
    assert rule["value"] == "#TestJalsa" and rule["tag"] == "jalsa" and rule["id"].isdigit()
    duplicate = (await add_rule(sim, "#TestJalsa")).json()
    assert duplicate["errors"][0]["title"] == "DuplicateRule"
    assert duplicate["meta"]["summary"]["not_created"] == 1
    assert (await sim.x(RULES)).json()["data"] == [rule]
    deleted = await sim.client.post(
        RULES, json={"delete": {"ids": [rule["id"], "123"]}}, headers=BEARER
    )
    assert deleted.json()["meta"]["summary"] == {"deleted": 1, "not_deleted": 1}
    assert (await sim.x(RULES)).json()["meta"]["result_count"] == 0
    bad = await sim.client.post(RULES, content=b"{}", headers=BEARER)
    assert bad.status_code == 400


async def stream_lines(sim: Sim) -> tuple[httpx.Response, list[bytes]]:
    async with sim.client.stream("GET", STREAM, params=FIELDS, headers=BEARER) as response:
        body = await response.aread()
    return response, body.split(b"\r\n")


async def test_the_stream_sends_matching_posts_as_the_clock_reaches_them() -> None:
    scenario = make_scenario()
    clock = ManualClock(scenario.at(CALM))
    sim = Sim(scenario, clock)
    sim.app.state.sim.stream_seconds = 120.0
    async with sim.client:
        rule = (await add_rule(sim, "#TestJalsa", "jalsa")).json()["data"][0]
        start = clock.now()
        response, lines = await stream_lines(sim)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert clock.now() == start + timedelta(seconds=120)
        messages = [json.loads(line) for line in lines if line.strip()]
        posts = [m for m in messages if "data" in m]
        assert messages[-1]["errors"][0]["disconnect_type"] == "OperationalDisconnect"
        assert all(m["matching_rules"] == [{"id": rule["id"], "tag": "jalsa"}] for m in posts)
        assert all(
            m["data"]["author_id"] in {u["id"] for u in m["includes"]["users"]} for m in posts
        )
        # Exactly what a search of the same two minutes finds.
        found = await search_all(
            sim,
            query="#TestJalsa",
            start_time=stamp(start),
            end_time=stamp(clock.now()),
        )
        assert [m["data"]["id"] for m in posts] == [p["id"] for p in reversed(found)]


async def test_the_stream_without_rules_sends_keepalives_only() -> None:
    scenario = make_scenario()
    sim = Sim(scenario, ManualClock(scenario.at(CALM)))
    sim.app.state.sim.stream_seconds = 45.0
    async with sim.client:
        _, lines = await stream_lines(sim)
    assert lines.count(b"") >= 2 and len([line for line in lines if line]) == 1  # the goodbye


async def test_one_stream_connection_at_a_time_and_the_gates() -> None:
    scenario = make_scenario()
    sim = Sim(scenario, ManualClock(scenario.at(CALM)))
    stream = sim.app.state.sim.parts["x"].stream
    async with sim.client:
        stream.open = 1  # another connection is being served
        refused = await sim.client.get(STREAM, headers=BEARER)
        assert refused.status_code == 429
        assert refused.json()["connection_issue"] == "TooManyConnections"
        stream.open = 0
        sim.at(86)
        assert (await sim.client.get(STREAM, headers=BEARER)).status_code == 401
        sim.at(70.5)
        limited = await sim.client.get(STREAM, headers=BEARER)
        assert limited.status_code == 429 and limited.headers["x-rate-limit-limit"] == "50"


async def test_a_garbled_stream_connection_ends_in_the_middle_of_a_line() -> None:
    scenario = make_scenario(malformed_rate=1.0)
    sim = Sim(scenario, ManualClock(scenario.at(CALM)))
    async with sim.client:
        sim.app.state.sim.parts["x"].stream.rules = [{"id": "1", "value": "#TestJalsa"}]
        _, lines = await stream_lines(sim)
    *whole, cut = lines
    assert all(json.loads(line) for line in whole if line)
    with pytest.raises(ValueError):
        json.loads(cut)


# --- YouTube live chat ----------------------------------------------------------------------


async def chat_id(sim: Sim) -> str:
    response = await sim.get(
        "/youtube/v3/videos", part="liveStreamingDetails", id="vid00000001", key="k"
    )
    chat: str = response.json()["items"][0]["liveStreamingDetails"]["activeLiveChatId"]
    return chat


async def chat_page(sim: Sim, chat: str, **params: str) -> httpx.Response:
    return await sim.get(CHAT, liveChatId=chat, part="snippet,authorDetails", key="k", **params)


async def test_chat_pages_follow_the_clock_and_the_token(sim: Sim) -> None:
    now = sim.at(CALM)
    chat = await chat_id(sim)
    first = (await chat_page(sim, chat)).json()
    assert first["kind"] == "youtube#liveChatMessageListResponse"
    assert first["pollingIntervalMillis"] == 5000 and "offlineAt" not in first
    assert first["pageInfo"]["totalResults"] == len(first["items"]) > 0
    message = first["items"][0]
    assert message["kind"] == "youtube#liveChatMessage" and message["id"].startswith("LCC.")
    snippet, author = message["snippet"], message["authorDetails"]
    assert snippet["type"] == "textMessageEvent" and snippet["liveChatId"] == chat
    assert snippet["displayMessage"] == snippet["textMessageDetails"]["messageText"]
    assert snippet["authorChannelId"] == author["channelId"]
    published = [datetime.fromisoformat(m["snippet"]["publishedAt"]) for m in first["items"]]
    assert published == sorted(published)
    assert now - timedelta(seconds=60) < published[0] and published[-1] <= now

    same = (await chat_page(sim, chat, pageToken=first["nextPageToken"])).json()
    assert same["items"] == [] and same["nextPageToken"] == first["nextPageToken"]
    sim.at(CALM + 0.5)
    later = (await chat_page(sim, chat, pageToken=first["nextPageToken"])).json()
    ids = {m["id"] for m in first["items"]}
    assert later["items"] and not ids & {m["id"] for m in later["items"]}
    assert datetime.fromisoformat(later["items"][0]["snippet"]["publishedAt"]) > published[-1]
    only_snippet = (await sim.get(CHAT, liveChatId=chat, part="snippet", key="k")).json()
    assert "authorDetails" not in only_snippet["items"][0]


async def test_chat_goes_offline_then_ends(sim: Sim) -> None:
    chat = await chat_id(sim)
    sim.at(121)
    offline = (await chat_page(sim, chat)).json()
    assert offline["offlineAt"] == "2023-12-17T17:00:00.000Z" and offline["items"] == []
    sim.at(126)
    ended = await chat_page(sim, chat)
    assert ended.status_code == 403
    assert ended.json()["error"]["errors"][0]["reason"] == "liveChatEnded"


async def test_chat_errors_and_gates(sim: Sim) -> None:
    unknown = await chat_page(sim, "nope")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["errors"][0]["reason"] == "liveChatNotFound"
    chat = await chat_id(sim)
    assert (await sim.get(CHAT, liveChatId=chat, key="k")).status_code == 400  # no part
    assert (await chat_page(sim, chat, pageToken="garbage!")).status_code == 400
    assert (await sim.get(CHAT, liveChatId=chat, part="snippet")).status_code == 403  # no key
    sim.at(73)
    throttled = await chat_page(sim, chat)
    assert throttled.json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"


# --- Facebook comments ----------------------------------------------------------------------


async def comments(sim: Sim, node: str = "111", **params: str) -> httpx.Response:
    return await sim.get(f"{GRAPH}/{node}/comments", access_token="T", **params)


async def test_comments_page_newest_first_with_cursors(sim: Sim) -> None:
    now = sim.at(CALM)
    first = (
        await comments(
            sim, fields=COMMENT_FIELDS, order="reverse_chronological", filter="stream", limit="10"
        )
    ).json()
    data = first["data"]
    assert len(data) == 10 and first["paging"]["next"].startswith("http://sim/graph/")
    times = [datetime.strptime(c["created_time"], "%Y-%m-%dT%H:%M:%S%z") for c in data]
    assert times == sorted(times, reverse=True) and times[0] <= now
    comment = data[0]
    assert set(comment) >= {"id", "message", "created_time", "from", "like_count"}
    assert set(comment["from"]) == {"id", "name"} and comment["id"].startswith("222_")
    after = first["paging"]["cursors"]["after"]
    assert after in first["paging"]["next"] and "access_token=T" in first["paging"]["next"]

    second = (
        await comments(
            sim,
            fields=COMMENT_FIELDS,
            order="reverse_chronological",
            filter="stream",
            limit="10",
            after=after,
        )
    ).json()
    assert not {c["id"] for c in data} & {c["id"] for c in second["data"]}
    assert second["data"][0]["created_time"] <= data[-1]["created_time"]
    assert "previous" in second["paging"]
    back = (
        await comments(
            sim,
            fields=COMMENT_FIELDS,
            order="reverse_chronological",
            filter="stream",
            limit="10",
            before=second["paging"]["cursors"]["before"],
        )
    ).json()
    assert [c["id"] for c in back["data"]] == [c["id"] for c in data]


async def test_comments_since_filter_and_the_video_id(sim: Sim) -> None:
    now = sim.at(CALM)
    since = str(int((now - timedelta(minutes=4)).timestamp()))
    everything: list[dict[str, Any]] = []
    cursor: dict[str, str] = {}
    while True:
        page = (
            await comments(sim, fields=COMMENT_FIELDS, filter="stream", since=since, **cursor)
        ).json()
        everything.extend(page["data"])
        if "next" not in page.get("paging", {}):
            break
        cursor = {"after": page["paging"]["cursors"]["after"]}
    stream = sim.scenario.stream("facebook", "111")
    assert stream is not None
    assert len(everything) == len({c["id"] for c in everything}) > 0
    assert all(c["created_time"] >= since_text(int(since)) for c in everything)
    top = (await comments(sim, fields=COMMENT_FIELDS, since=since, limit="100")).json()["data"]
    replies = [c for c in everything if "parent" in c]
    assert replies and not [c for c in top if "parent" in c]
    assert len(top) == len(everything) - len(replies)
    by_video = (await comments(sim, "222", fields="id", since=since, limit="100")).json()
    assert [c["id"] for c in by_video["data"]] == [c["id"] for c in top]
    assert set(by_video["data"][0]) == {"id"}


def since_text(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


async def test_comments_errors_and_gates(sim: Sim) -> None:
    unknown = await comments(sim, "999")
    assert unknown.json()["error"]["code"] == 100
    assert (await comments(sim, order="sideways")).status_code == 400
    sim.at(-5)
    assert (await comments(sim)).json() == {"data": []}
    sim.at(74.5)
    throttled = await comments(sim)
    assert throttled.json()["error"]["code"] == 613
    sim.at(81)
    assert (await comments(sim)).json()["error"]["error_subcode"] == 463
