"""Hostile API pages for the inbox readers: YouTube liveChatMessages and commentThreads
pages, Graph (Facebook and Instagram) comment pages. Any JSON in place of a member gives
items and a count of skipped entries, never an exception; real entries beside it are kept."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jalsa.platforms.facebook.inbox import graph_comment_items
from jalsa.platforms.youtube.inbox import chat_items, thread_items
from testkit import json_values, load_fixture

JSON = json_values()
PAGES = {
    "chat": (load_fixture("youtube", "chat_page1.json"), "items"),
    "threads": (load_fixture("youtube", "comment_threads_page1.json"), "items"),
    "facebook": (load_fixture("facebook", "comments_page1.json"), "data"),
    "instagram": (load_fixture("instagram", "comments_page1.json"), "data"),
}


def read(kind: str, page: Any) -> tuple[list[Any], int]:
    if kind == "chat":
        return chat_items(page, "v1")
    if kind == "threads":
        return thread_items(page, "v1")
    return graph_comment_items(page, kind, "t1")


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(PAGES)), JSON, st.lists(st.text(max_size=8), max_size=3))
def test_a_hostile_entry_beside_real_ones(kind: str, value: Any, path: list[str]) -> None:
    page, key = PAGES[kind]
    real_items, _ = read(kind, page)
    page = copy.deepcopy(page)
    entry = copy.deepcopy(page[key][0])
    target = entry
    for step in path[:-1]:  # set a member, at any depth, of a copy of the first entry
        nxt = target.get(step) if isinstance(target, dict) else None
        if not isinstance(nxt, dict):
            break
        target = nxt
    if isinstance(target, dict):
        target[path[-1] if path else "id"] = value
    page[key] = [*page[key], entry, value]
    items, skipped = read(kind, page)
    assert skipped >= 0
    assert {i.external_id for i in real_items} <= {i.external_id for i in items}


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(PAGES)), JSON)
def test_any_json_as_the_page(kind: str, page: Any) -> None:
    items, skipped = read(kind, page)
    assert skipped >= 0 and isinstance(items, list)
