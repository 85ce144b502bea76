"""The generated posts as X API v2 recent-search response pages (JSON lines), newest first as
the API pages them, each tweet with its entities, references and public metrics and each page
with its authors in `includes.users`."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from jalsa.sim.posts.batches import make_batches
from jalsa.sim.posts.hashing import mix_int
from jalsa.sim.posts.plan import PostSimConfig

PAGE_SIZE = 100  # tweets per X API v2 search page (max_results=100)


def _display_url(url: str) -> str:
    short = re.sub(r"^https?://(www\.)?", "", url)
    return short if len(short) <= 26 else short[:25] + "…"


def _token(seed: int, page: int) -> str:
    value = (mix_int(seed * 1_000_003 + page) << 64) | mix_int(page * 7919 + seed)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    while value:
        value, d = divmod(value, 36)
        out.append(digits[d])
    return "b26v89c19zqg8o3f" + "".join(out)[:24]


def _x_time(values: pa.Array) -> list[str]:
    """'2023-12-17T15:10:00.000Z', as X writes times."""
    ms = values.cast(pa.int64()).to_numpy() // 1000
    return [t + "Z" for t in np.datetime_as_string(ms.astype("datetime64[ms]")).tolist()]


def _lists(column: pa.Array) -> tuple[list[Any], list[int]]:
    return column.values.to_pylist(), column.offsets.to_numpy().tolist()


_User = tuple[str, str, str, str]


def _x_tweets(batch: pa.RecordBatch) -> Iterator[tuple[dict[str, Any], _User]]:
    """Each row as a tweet in the X API v2 shape (as asked for with tweet.fields=author_id,
    created_at,lang,conversation_id,entities,referenced_tweets,in_reply_to_user_id,
    public_metrics) with (id, name, username, created_at) of its author
    (user.fields=created_at). Made one at a time: millions of live dicts would make the
    garbage collector the bottleneck."""

    def col(name: str) -> list[Any]:
        return batch.column(name).to_pylist()

    def ints(name: str) -> list[int]:
        values: list[int] = batch.column(name).to_numpy().tolist()
        return values

    tags, tag_at = _lists(batch.column("hashtags"))
    names, name_at = _lists(batch.column("mentions"))
    name_ids, _ = _lists(batch.column("_mention_ids"))
    links, link_at = _lists(batch.column("urls"))
    users = zip(
        col("author_id"),
        col("_author_name"),
        col("author_handle"),
        _x_time(batch.column("author_created_at")),
        strict=True,
    )
    rows = zip(
        col("id"),
        col("text"),
        col("author_id"),
        _x_time(batch.column("created_at")),
        col("lang"),
        col("_conversation_id"),
        ints("repost_count"),
        ints("reply_count"),
        ints("like_count"),
        ints("quote_count"),
        ints("view_count"),
        col("repost_of"),
        col("reply_to"),
        col("quote_of"),
        col("_in_reply_to_user_id"),
        strict=True,
    )
    for i, (row, user) in enumerate(zip(rows, users, strict=True)):
        tid, text, author, created, lang, conversation = row[:6]
        reposts, replies, likes, quotes, views, repost_of, reply_to, quote_of, reply_user = row[6:]
        tweet: dict[str, Any] = {
            "id": tid,
            "text": text,
            "author_id": author,
            "created_at": created,
            "lang": lang,
            "conversation_id": conversation,
            "edit_history_tweet_ids": [tid],
            "public_metrics": {
                "retweet_count": reposts,
                "reply_count": replies,
                "like_count": likes,
                "quote_count": quotes,
                "bookmark_count": 0,
                "impression_count": views,
            },
        }
        entities: dict[str, Any] = {}
        a, b = tag_at[i], tag_at[i + 1]
        if a < b:
            found, at = [], 0
            for tag in tags[a:b]:
                start = text.index("#", at)
                at = start + 1 + len(tag)
                found.append({"start": start, "end": at, "tag": text[start + 1 : at]})
            entities["hashtags"] = found
        a, b = name_at[i], name_at[i + 1]
        if a < b:
            found, at = [], 0
            for name, uid in zip(names[a:b], name_ids[a:b], strict=True):
                start = text.index("@", at)
                at = start + 1 + len(name)
                found.append(
                    {"start": start, "end": at, "username": text[start + 1 : at], "id": uid}
                )
            entities["mentions"] = found
        a, b = link_at[i], link_at[i + 1]
        if a < b:
            found, at = [], 0
            for expanded in links[a:b]:
                start = text.index("https://t.co/", at)
                at = start + 23
                found.append(
                    {
                        "start": start,
                        "end": at,
                        "url": text[start:at],
                        "expanded_url": expanded,
                        "display_url": _display_url(expanded),
                    }
                )
            entities["urls"] = found
        if entities:
            tweet["entities"] = entities
        if repost_of is not None:
            tweet["referenced_tweets"] = [{"type": "retweeted", "id": repost_of}]
        elif reply_to is not None:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
            tweet["in_reply_to_user_id"] = reply_user
        elif quote_of is not None:
            tweet["referenced_tweets"] = [{"type": "quoted", "id": quote_of}]
        yield tweet, user


def write_x_jsonl(
    config: PostSimConfig, out: Path, progress: Callable[[int], None] | None = None
) -> Path:
    """Write the posts as X API v2 recent-search response pages, one JSON page per line,
    newest first as the API pages (100 tweets a page, `includes.users` for their authors,
    `meta` with newest_id, oldest_id, result_count and next_token except on the last page).
    A directory `out` gets posts-x.jsonl inside. Returns the file written."""
    path = out / "posts-x.jsonl" if out.is_dir() else out
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pages = -(-config.count // PAGE_SIZE)
    page = done = 0
    try:
        with open(tmp, "wb") as fh:

            def write_page(data: list[dict[str, Any]], users: list[_User]) -> None:
                nonlocal page
                meta: dict[str, Any] = {
                    "newest_id": data[0]["id"],
                    "oldest_id": data[-1]["id"],
                    "result_count": len(data),
                }
                if page < pages - 1:
                    meta["next_token"] = _token(config.seed, page)
                authors = {
                    uid: {"id": uid, "name": name, "username": username, "created_at": made}
                    for uid, name, username, made in users
                }
                body = {"data": data, "includes": {"users": list(authors.values())}, "meta": meta}
                fh.write(orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE))
                page += 1

            tweets: list[dict[str, Any]] = []
            users: list[_User] = []
            # Small batches: each row becomes Python objects here (same posts at any size).
            small = replace(config, batch_rows=min(config.batch_rows, 50_000))
            for batch in make_batches(small, newest_first=True, extras=True):
                for tweet, user in _x_tweets(batch):
                    tweets.append(tweet)
                    users.append(user)
                    if len(tweets) == PAGE_SIZE:
                        write_page(tweets, users)
                        tweets, users = [], []
                done += len(batch)
                if progress is not None:
                    progress(done)
            if tweets:
                write_page(tweets, users)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
