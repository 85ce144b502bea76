"""Hostile pages for every inbox reader: X recent search and mentions pages, Instagram media
and live comment pages, YouTube chat and comment threads, Graph comments. Hostile JSON is put
anywhere in real pages (members and elements at any depth, replies and `includes` too):
reading gives items and a count of skipped entries, never an exception; every real item beside
the damage is kept; the output is no larger than the page. The newest-first cursors read
from the same pages take any JSON too."""

from __future__ import annotations

import copy
from datetime import UTC, timedelta
from types import SimpleNamespace
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from jalsa.platforms.facebook.inbox import graph_comment_items
from jalsa.platforms.inbox_record import InboxItem
from jalsa.platforms.instagram.inbox import InstagramCommentsInbox, ig_comment_items
from jalsa.platforms.x.inbox import post_items
from jalsa.platforms.youtube.inbox import (
    YouTubeCommentsInbox,
    chat_items,
    thread_items,
    thread_times,
)
from testkit import json_size, json_values, load_fixture, mutate

JSON = json_values(st.sampled_from(["\ud800", "\udfff x", "9" * 5000, "0001-01-01T00:00:00+0100"]))
X_THREAD = "1736400000000000100"
# name: (real page, the member holding its entries, the reader)
READERS: dict[str, tuple[Any, str, Any]] = {
    "x-search": (
        load_fixture("x", "search_page1.json"),
        "data",
        lambda p: post_items(p, "reply", X_THREAD),
    ),
    "x-conversation": (
        load_fixture("x", "conversation_replies.json"),
        "data",
        lambda p: post_items(p, "reply", X_THREAD),
    ),
    "x-mentions": (
        load_fixture("x", "mentions_page1.json"),
        "data",
        lambda p: post_items(p, "mention"),
    ),
    "ig-media": (
        load_fixture("instagram", "comments_page1.json"),
        "data",
        lambda p: ig_comment_items(p, "18000000000000001"),
    ),
    "ig-live": (
        load_fixture("instagram", "comments_page2.json"),
        "data",
        lambda p: ig_comment_items(p, "18000000000000001", live=True),
    ),
    "yt-chat": (load_fixture("youtube", "chat_page1.json"), "items", lambda p: chat_items(p, "v1")),
    "yt-threads": (
        load_fixture("youtube", "comment_threads_page1.json"),
        "items",
        lambda p: thread_items(p, "v1"),
    ),
    "facebook": (
        load_fixture("facebook", "comments_page1.json"),
        "data",
        lambda p: graph_comment_items(p, "facebook", "t1"),
    ),
}
# Each fixture yields items, and each reader gives its real page's items (checked once here).
REAL_IDS = {name: {i.external_id for i in r(page)[0]} for name, (page, _, r) in READERS.items()}
assert all(REAL_IDS.values()), REAL_IDS


def check(items: Any, skipped: Any, page: Any) -> None:
    assert isinstance(items, list) and all(isinstance(i, InboxItem) for i in items)
    assert isinstance(skipped, int) and 0 <= skipped <= json_size(page)
    assert len(items) <= json_size(page)
    for item in items:
        assert isinstance(item.external_id, str) and item.external_id
        assert item.created_at.utcoffset() == timedelta(0) and item.created_at.tzinfo is UTC
        assert isinstance(item.text, str) and isinstance(item.author_id, str)


@settings(max_examples=250, deadline=None)
@given(st.sampled_from(sorted(READERS)), st.lists(JSON, min_size=1, max_size=3), st.data())
@example("yt-chat", [[1]], None).via("a list as authorDetails crashed chat_items")
@example("ig-media", [7], None).via("a number as replies.data crashed ig_comment_items")
@example("yt-threads", [7], None).via("a number as replies.comments crashed thread_items")
@example("x-search", [[1]], None).via("an unhashable includes.users[].id crashed post_items")
@example("x-mentions", [3], None).via("a number as referenced_tweets crashed post_items")
@example("facebook", ["0001-01-01T00:00:00+0100"], None).via("a time before year 1 in UTC")
def test_hostile_values_anywhere_beside_real_entries(
    name: str, values: list[Any], data: st.DataObject | None
) -> None:
    real, key, read = READERS[name]
    hostile = copy.deepcopy(real)
    if data is None:  # the explicit examples: each value at the place that crashed
        place(name, hostile, values[0])
    else:
        for value in values:
            mutate(data, hostile, value)
    damaged = hostile.get(key)
    mixed = [*copy.deepcopy(real[key]), *(damaged if isinstance(damaged, list) else []), *values]
    order = data.draw(st.permutations(range(len(mixed)))) if data is not None else range(len(mixed))
    page = {**hostile, key: [mixed[i] for i in order]}
    items, skipped = read(page)
    check(items, skipped, page)
    assert REAL_IDS[name] <= {i.external_id for i in items}


def place(name: str, page: Any, value: Any) -> None:
    """Where each crash found by the search was: a member of the first entry."""
    first = page["items" if name.startswith("yt") else "data"][0]
    if name == "yt-chat":
        first["authorDetails"] = value
    elif name == "ig-media":
        first["replies"] = {"data": value}
    elif name == "yt-threads":
        first["replies"] = {"comments": value}
    elif name == "x-search":
        page["includes"]["users"].append({"id": value})
    elif name == "x-mentions":
        first["referenced_tweets"] = value
    else:
        first["created_time"] = value


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(READERS)), JSON)
def test_any_json_as_the_page(name: str, page: Any) -> None:
    _, key, read = READERS[name]
    for candidate in (page, {key: page}, {key: [page]}):
        items, skipped = read(candidate)
        check(items, skipped, candidate)


COMMENTS = {
    "yt": (
        load_fixture("youtube", "comment_threads_page1.json"),
        YouTubeCommentsInbox,
        "pageToken",
    ),
    "ig": (load_fixture("instagram", "comments_page1.json"), InstagramCommentsInbox, "after"),
}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(COMMENTS)), JSON, st.data())
@example("yt", [1], None).via("a list as a thread's snippet crashed thread_times")
def test_newest_first_cursor_of_a_hostile_page(
    name: str, value: Any, data: st.DataObject | None
) -> None:
    real, cls, token = COMMENTS[name]
    page = copy.deepcopy(real)
    if data is None:
        page["items"][0]["snippet"] = value
    else:
        mutate(data, page, value)
    reader = SimpleNamespace(page_token=token)
    cursor = {"since": "2023-12-17T15:00:00+00:00", "round": None}
    moved = cls.advance(reader, cursor, page)  # type: ignore[arg-type]
    assert isinstance(moved, dict) and set(moved) >= {"since", "round"}
    assert moved["round"] is None or isinstance(moved["round"].get(token, ""), str)
    if name == "yt":
        assert all(isinstance(t, str) for t in thread_times(page))
