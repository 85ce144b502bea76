"""The one post record every source is normalized into, as an Arrow schema (the columns of
the Parquet dataset) with what each field means. Sources: X API v2, YouTube live chat,
Facebook comments, and any CSV / JSONL / Parquet file through a column mapping."""

from __future__ import annotations

import pyarrow as pa

PLATFORMS = ("x", "youtube", "facebook", "instagram")

_TS = pa.timestamp("us", tz="UTC")
_TAGS = pa.list_(pa.string())

# name -> (Arrow type, nullable, meaning)
FIELDS: dict[str, tuple[pa.DataType, bool, str]] = {
    "platform": (pa.string(), False, "x, youtube, facebook or instagram"),
    "id": (pa.string(), False, "the platform's id of the post; (platform, id) is unique"),
    "author_id": (pa.string(), False, "the platform's id of the account that posted"),
    "author_handle": (pa.string(), True, "the account's username or display name"),
    "author_created_at": (_TS, True, "when the account was created (X only)"),
    "created_at": (_TS, False, "when the post was published, UTC"),
    "text": (pa.string(), False, "the post's text as published"),
    "lang": (pa.string(), True, "language code given by the platform, if any"),
    "hashtags": (_TAGS, False, "hashtags without '#', lower case, in order"),
    "mentions": (_TAGS, False, "mentioned usernames without '@', lower case"),
    "urls": (_TAGS, False, "linked URLs (expanded where the platform gives it)"),
    "reply_to": (pa.string(), True, "id of the post this one replies to"),
    "repost_of": (pa.string(), True, "id of the post this one reposts (retweet)"),
    "quote_of": (pa.string(), True, "id of the post this one quotes"),
    "like_count": (pa.int64(), True, "likes when collected"),
    "repost_count": (pa.int64(), True, "reposts when collected"),
    "reply_count": (pa.int64(), True, "replies when collected"),
    "quote_count": (pa.int64(), True, "quotes when collected"),
    "view_count": (pa.int64(), True, "impressions/views when collected, if the platform says"),
    "source": (pa.string(), False, "where the record came from (API endpoint or file name)"),
}

POST_SCHEMA = pa.schema([pa.field(n, t, nullable=null) for n, (t, null, _) in FIELDS.items()])
COLUMNS = tuple(FIELDS)


def empty_posts() -> pa.Table:
    return POST_SCHEMA.empty_table()


def duckdb_columns() -> str:
    """The schema as DuckDB column definitions, for CREATE TABLE and casts."""
    names = {
        pa.string(): "VARCHAR",
        _TS: "TIMESTAMPTZ",
        _TAGS: "VARCHAR[]",
        pa.int64(): "BIGINT",
    }
    return ", ".join(f"{n} {names[t]}" for n, (t, _, _) in FIELDS.items())
