"""X API v2 tweets, in every shape they are saved in: recent/full-archive search pages
(`data` list + `includes.users`, one page per line, as twarc and our collector write them),
filtered-stream lines (`data` object + `includes`), and one tweet per line (with an embedded
`author`, as twarc2's flattened output has). Hashtags and mentions come from `entities`, the
reply/repost/quote links from `referenced_tweets`, the account from `includes.users`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from jalsa.limits import Checked
from jalsa.platforms.sources import (
    NOT_BLANK,
    NOT_JSON,
    RAW_CHARS,
    LineSource,
    parse,
    post_problem,
    post_text,
    quote,
    read_json_docs,
)

USER = {"id": "VARCHAR", "username": "VARCHAR", "created_at": "VARCHAR"}
TWEET = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "author_id": "VARCHAR",
    "created_at": "VARCHAR",
    "lang": "VARCHAR",
    "entities": {
        "hashtags": [{"tag": "VARCHAR"}],
        "mentions": [{"username": "VARCHAR"}],
        "urls": [{"url": "VARCHAR", "expanded_url": "VARCHAR"}],
    },
    "referenced_tweets": [{"type": "VARCHAR", "id": "VARCHAR"}],
    "public_metrics": {
        "retweet_count": "BIGINT",
        "reply_count": "BIGINT",
        "like_count": "BIGINT",
        "quote_count": "BIGINT",
        "impression_count": "BIGINT",
    },
    "author": USER,
    "attachments": {"media_keys": ["VARCHAR"]},
    "id_str": "VARCHAR",  # only a v1.1 tweet has it: said so when one is read as v2
}
# A line is parsed once, by this shape: a page (`data` list) or a tweet on its own (the tweet's
# fields at the top level); only stream lines (`data` one object) are parsed a second time.
PAGE = {
    **TWEET,
    "data": [TWEET],
    "includes": {"users": [USER]},
    "meta": {"result_count": "BIGINT"},
    "errors": [{"title": "VARCHAR", "detail": "VARCHAR"}],
}
STREAM = {"data": TWEET, "includes": {"users": [USER]}}


V1_AMONG_V2 = (
    "an X API v1.1 tweet (`id_str`, `user.id_str`) among v2 ones: ingest v1.1 tweets in a "
    "file of their own (--format x-v1)"
)


def _starts_with_a_page(path: str) -> bool:
    """Whether the file's first line is a page of tweets: then the tweet fields at the top
    level (of a file of one tweet per line) need not be read. A line of another kind later
    in the file comes out as a problem, and the file is read line by line."""
    with Checked(Path(path)) as f:
        first = f.readline(1 << 24)
        while first and not first.strip():
            first = f.readline(1 << 24)
    try:
        doc = orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return isinstance(doc, dict) and isinstance(doc.get("data"), list)


def _ref(kind: str) -> str:
    return f"list_filter(t.referenced_tweets, lambda r: r.type = '{kind}')[1].id"


class XApiV2(LineSource):
    name = "x"
    platform = "x"
    description = "X API v2 JSONL: search pages, filtered-stream lines or one tweet per line"

    @classmethod
    def looks_like(cls, doc: Any) -> bool:
        if not isinstance(doc, dict):
            return False
        data = doc.get("data")
        tweet = data[0] if isinstance(data, list) and data else data
        if isinstance(tweet, dict):
            return "author_id" in tweet or "edit_history_tweet_ids" in tweet
        return "author_id" in doc and "text" in doc and "id" in doc

    @classmethod
    def item_path(cls) -> str:
        return (
            "CASE json_type(line, '$.data') WHEN 'ARRAY' THEN '$.data[' || (item - 1) || ']' "
            "WHEN 'OBJECT' THEN '$.data' ELSE '$' END"
        )

    @classmethod
    def sql(cls, source: str, tolerant: bool) -> str:
        docs = f"SELECT line_no, {parse(PAGE, tolerant)} AS d FROM lines WHERE {NOT_BLANK}"
        return cls._sql(source, docs, "docs JOIN lines USING (line_no)")

    @classmethod
    def file_sql(cls, source: str, path: str) -> str | None:
        # Without the lines, a line that is neither a page nor a tweet has no text to parse
        # again or to quarantine: it comes out as a problem, and the caller reads the file
        # line by line.
        pages_only = [k for k in PAGE if k not in TWEET] if _starts_with_a_page(path) else ()
        docs = read_json_docs(path, PAGE, read=pages_only)
        return cls._sql(source, docs, "(SELECT *, NULL::VARCHAR AS line FROM docs)")

    @classmethod
    def _sql(cls, source: str, docs: str, docs_with_lines: str) -> str:
        """From `docs` (line_no, d: a line parsed by PAGE) to posts; `docs_with_lines` adds
        each line's text as `line`."""
        single = "struct_pack(" + ", ".join(f"{k} := d.{k}" for k in TWEET) + ")"
        problem = post_problem(
            ("t.id IS NULL", "tweet without an id"),
            ("t.author_id IS NULL AND t.id_str IS NOT NULL", V1_AMONG_V2),
            ("t.author_id IS NULL", "tweet without an author_id (ask for tweet.fields=author_id)"),
            ("created IS NULL", "created_at missing or not a time"),
            text="t.text",
            media="len(t.attachments.media_keys) > 0",
        )
        return f"""
WITH docs AS MATERIALIZED ({docs}),
odd AS MATERIALIZED (  -- neither a page nor a tweet: a stream line, or no posts at all
    SELECT line_no, line, d FROM {docs_with_lines}
    WHERE d IS NULL OR (d.data IS NULL AND d.id IS NULL)
),
streamed AS MATERIALIZED (
    SELECT line_no, {parse(STREAM, False)} AS s FROM odd
    WHERE d IS NOT NULL AND d.meta IS NULL AND d.errors IS NULL
        AND json_type(line, '$.data') = 'OBJECT'
),
tweets AS (
    SELECT line_no, unnest(d.data) AS t, generate_subscripts(d.data, 1) AS item
    FROM docs WHERE d.data IS NOT NULL
    UNION ALL
    SELECT line_no, {single} AS t, 1 AS item FROM docs WHERE d.data IS NULL AND d.id IS NOT NULL
    UNION ALL
    SELECT line_no, s.data AS t, 1 AS item FROM streamed WHERE s.data IS NOT NULL
),
users AS (
    SELECT unnest(d.includes.users) AS u FROM docs WHERE d.data IS NOT NULL
    UNION ALL
    SELECT unnest(s.includes.users) FROM streamed WHERE s.data IS NOT NULL
),
authors AS (  -- an account is the same account on every page of the block
    SELECT DISTINCT ON (u.id) u.id AS u_id, u.username, u.created_at FROM users
)
SELECT
    'x' AS platform, t.id, t.author_id,
    coalesce(a.username, t.author.username) AS author_handle,
    TRY_CAST(coalesce(a.created_at, t.author.created_at) AS TIMESTAMPTZ) AS author_created_at,
    created AS created_at,
    {post_text("t.text")} AS text, t.lang,
    coalesce(list_transform(t.entities.hashtags, lambda h: lower(h.tag)), []) AS hashtags,
    coalesce(list_transform(t.entities.mentions, lambda m: lower(m.username)), []) AS mentions,
    coalesce(list_transform(t.entities.urls, lambda u: coalesce(u.expanded_url, u.url)), [])
        AS urls,
    {_ref("replied_to")} AS reply_to,
    {_ref("retweeted")} AS repost_of,
    {_ref("quoted")} AS quote_of,
    t.public_metrics.like_count AS like_count,
    t.public_metrics.retweet_count AS repost_count,
    t.public_metrics.reply_count AS reply_count,
    t.public_metrics.quote_count AS quote_count,
    t.public_metrics.impression_count AS view_count,
    {quote(source)} AS source,
    line_no, item,
    {problem} AS problem,
    CASE WHEN ({problem}) IS NOT NULL THEN left(to_json(t)::VARCHAR, {RAW_CHARS}) END AS raw
FROM (SELECT t, item, line_no, TRY_CAST(t.created_at AS TIMESTAMPTZ) AS created FROM tweets)
LEFT JOIN authors a ON a.u_id = t.author_id
UNION ALL BY NAME
SELECT odd.line_no, 0 AS item,
    CASE WHEN d IS NULL THEN {quote(NOT_JSON)}
         WHEN d.errors IS NOT NULL THEN 'an X API error response without posts: '
             || coalesce(d.errors[1].title, '') || ' ' || coalesce(d.errors[1].detail, '')
         ELSE 'not an X API v2 page, stream line or tweet' END AS problem,
    left(line, {RAW_CHARS}) AS raw
FROM odd LEFT JOIN streamed USING (line_no)
WHERE d IS NULL OR (d.meta IS NULL AND (streamed.s IS NULL OR streamed.s.data IS NULL))
"""
