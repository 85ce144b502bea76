"""Hostile lines among real ones, for every line source of `jalsa ingest`: X v2 search pages,
filtered-stream lines and single tweets, YouTube liveChatMessages pages, Facebook Graph
comment pages. Whatever the hostile lines hold (any JSON, any text, lone surrogates, cut
lines), ingesting raises nothing, every post of the real lines is kept, and every line that
gave no post is blank or quarantined with its own line number."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.ingest import ingest
from jalsa.errors import UserError
from testkit import load_fixture


def _stream_lines() -> list[dict[str, Any]]:
    lines = load_fixture("x", "stream_messages.json")
    return [m for m in lines if isinstance(m, dict) and isinstance(m.get("data"), dict)]


REAL = {
    "x": [
        load_fixture("x", "search_page1.json"),
        load_fixture("x", "search_page2.json"),
        *_stream_lines()[:2],
        {**load_fixture("x", "search_page2.json")["data"][0], "id": "777"},
    ],
    "youtube-chat": [load_fixture("youtube", "chat_page1.json")],
    "facebook-comments": [load_fixture("facebook", "comments_page1.json")],
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
KEYS = ["data", "items", "id", "text", "author_id", "created_at", "kind", "includes", "snippet"]


def mutated(doc: dict[str, Any]) -> st.SearchStrategy[str]:
    """The real document with one top-level member replaced by any JSON value."""
    return st.builds(
        lambda key, value: json.dumps({**doc, key: value}),
        st.sampled_from([*doc, *KEYS]),
        JSON,
    )


def hostile(fmt: str) -> st.SearchStrategy[str]:
    real = [json.dumps(d) for d in REAL[fmt]]
    return st.one_of(
        st.text(max_size=40),
        JSON.map(json.dumps),
        st.sampled_from(real).flatmap(lambda s: st.integers(1, len(s) - 1).map(lambda n: s[:n])),
        st.sampled_from(REAL[fmt]).flatmap(mutated),
        st.just('{"id": "1", "text": "\\ud800", "author_id": "2", "data": "\\udfff"}'),
        st.just("[" * 2000 + "]" * 2000),
    ).map(lambda s: s.replace("\n", " "))


def ids(doc: dict[str, Any], fmt: str) -> set[str]:
    if fmt == "x":
        data = doc.get("data", doc)
        return {t["id"] for t in (data if isinstance(data, list) else [data])}
    if fmt == "youtube-chat":
        return {m["id"] for m in doc["items"] if m["snippet"].get("displayMessage")}
    return {c["id"] for c in doc["data"]}


def check(fmt: str, bad: list[str], where: list[int]) -> None:
    real = [json.dumps(d) for d in REAL[fmt]]
    lines = list(real)
    for line, at in zip(bad, where, strict=False):
        lines.insert(at % (len(lines) + 1), line)
    folder = Path(tempfile.mkdtemp())
    try:
        path = folder / "posts.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
        dataset = PostDataset(folder / "ds")
        try:
            summary = ingest(dataset, [path], fmt)
        except UserError:
            return
        kept = {r["id"] for p in dataset.parts() for r in pq.read_table(p).to_pylist()}
        wanted = set().union(*(ids(d, fmt) for d in REAL[fmt]))
        assert wanted <= kept
        quarantined: set[int] = set()
        for q in dataset.quarantine.glob("*.jsonl"):
            # JSON lines end at "\n" only (splitlines would also cut at U+2028 inside a text)
            records = q.read_text(encoding="utf-8").split("\n")
            quarantined |= {json.loads(r)["line"] for r in records if r}
        assert quarantined <= set(range(1, len(lines) + 1))
        real_lines = {n for n, line in enumerate(lines, start=1) if line in real}
        assert not quarantined & real_lines
        assert summary.accepted + summary.duplicates == summary.posts
    finally:
        shutil.rmtree(folder)


SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(st.lists(hostile("x"), max_size=4), st.lists(st.integers(0, 10), max_size=4))
@example(['{"data": "\\ud800"}', "{", ""], [0, 2, 5])
@example(["[" * 2000 + "]" * 2000], [1])
def test_x_pages_stream_and_tweets(bad: list[str], where: list[int]) -> None:
    check("x", bad, where)


@SETTINGS
@given(st.lists(hostile("youtube-chat"), max_size=4), st.lists(st.integers(0, 5), max_size=4))
@example(['{"kind": "youtube#liveChatMessageListResponse", "items": 5}'], [0])
def test_youtube_chat_pages(bad: list[str], where: list[int]) -> None:
    check("youtube-chat", bad, where)


@SETTINGS
@given(st.lists(hostile("facebook-comments"), max_size=4), st.lists(st.integers(0, 5), max_size=4))
@example(['{"data": [{"created_time": "\\ud800"}]}'], [0])
def test_facebook_comment_pages(bad: list[str], where: list[int]) -> None:
    check("facebook-comments", bad, where)
