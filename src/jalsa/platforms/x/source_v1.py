"""X (Twitter) API v1.1 tweets, the format of most archives made before 2023: one tweet per
line (the REST and streaming APIs, twarc 1, Hydrator, DocNow's catalog), or one
`search/tweets.json` answer per line (`statuses` list). They become the same post record as
v2 tweets (decision 25):

  id            `id_str` (the number `id` loses digits in many tools; used only without it)
  author        `user.id_str`, `user.screen_name`, `user.created_at`
  created_at    "Wed Oct 10 20:19:24 +0000 2018"
  text          `extended_tweet.full_text` (streaming), `full_text` (tweet_mode=extended),
                else `text`; the entities of the same text
  links         `in_reply_to_status_id_str`; `retweeted_status.id_str`; the quoted tweet
                (`quoted_status_id_str`) unless the tweet is a retweet, as v2 has it
  counts        favorite_count, retweet_count, reply_count, quote_count (the last two only
                in some products)

The embedded `retweeted_status` and `quoted_status` are not posts of their own, as v2's
`includes.tweets` are not. Stream notices (`delete`, `limit`, `status_withheld`, ...) are no
posts: each is quarantined with what it is, so a `limit` (tweets X did not deliver) is seen.
"""

from __future__ import annotations

from typing import Any

from jalsa.platforms.sources import (
    NOT_BLANK,
    NOT_JSON,
    RAW_CHARS,
    LineSource,
    parse,
    post_problem,
    post_text,
    quote,
)

V1_TIME = "%a %b %d %H:%M:%S %z %Y"
USER = {"id_str": "VARCHAR", "id": "VARCHAR", "screen_name": "VARCHAR", "created_at": "VARCHAR"}
MEDIA = [{"id_str": "VARCHAR"}]
ENTITIES = {
    "hashtags": [{"text": "VARCHAR"}],
    "user_mentions": [{"screen_name": "VARCHAR"}],
    "urls": [{"url": "VARCHAR", "expanded_url": "VARCHAR"}],
    "media": MEDIA,
}
TWEET = {
    "id_str": "VARCHAR",
    "id": "VARCHAR",
    "created_at": "VARCHAR",
    "text": "VARCHAR",
    "full_text": "VARCHAR",
    "lang": "VARCHAR",
    "user": USER,
    "entities": ENTITIES,
    "extended_entities": {"media": MEDIA},
    "extended_tweet": {
        "full_text": "VARCHAR",
        "entities": ENTITIES,
        "extended_entities": {"media": MEDIA},
    },
    "in_reply_to_status_id_str": "VARCHAR",
    "retweeted_status": {"id_str": "VARCHAR", "id": "VARCHAR"},
    "quoted_status_id_str": "VARCHAR",
    "quoted_status": {"id_str": "VARCHAR"},
    "favorite_count": "BIGINT",
    "retweet_count": "BIGINT",
    "reply_count": "BIGINT",
    "quote_count": "BIGINT",
}
# Stream notices: a line with one of these keys is no tweet.
NOTICES = ("delete", "limit", "status_withheld", "user_withheld", "scrub_geo", "warning")
PAGE = {
    **TWEET,
    "statuses": [TWEET],
    "search_metadata": "JSON",
    **{k: "JSON" for k in (*NOTICES, "disconnect")},
}


def v1_time(value: str) -> str:
    """SQL for a v1.1 time ("Wed Oct 10 20:19:24 +0000 2018"), or an ISO time some tools
    write instead; NULL when neither."""
    return f"coalesce(TRY_STRPTIME({value}, '{V1_TIME}'), TRY_CAST({value} AS TIMESTAMPTZ))"


def is_v1_tweet(doc: Any) -> bool:
    user = doc.get("user") if isinstance(doc, dict) else None
    return isinstance(user, dict) and "id_str" in doc and ("text" in doc or "full_text" in doc)


class XApiV1(LineSource):
    name = "x-v1"
    platform = "x"
    description = "X API v1.1 JSONL: one tweet per line, or search/tweets answers (`statuses`)"

    @classmethod
    def looks_like(cls, doc: Any) -> bool:
        if not isinstance(doc, dict):
            return False
        statuses = doc.get("statuses")
        if isinstance(statuses, list) and isinstance(doc.get("search_metadata"), dict):
            return True
        return is_v1_tweet(doc)

    @classmethod
    def item_path(cls) -> str:
        return (
            "CASE json_type(line, '$.statuses') WHEN 'ARRAY' "
            "THEN '$.statuses[' || (item - 1) || ']' ELSE '$' END"
        )

    @classmethod
    def sql(cls, source: str, tolerant: bool) -> str:
        single = "struct_pack(" + ", ".join(f"{k} := d.{k}" for k in TWEET) + ")"
        entities = "coalesce(t.extended_tweet.entities, t.entities)"
        media = (
            "len(coalesce(t.extended_tweet.extended_entities.media, "
            "t.extended_entities.media, e.media)) > 0"
        )
        problem = post_problem(
            ("t_id IS NULL", "tweet without an id (`id_str`)"),
            ("author IS NULL", "tweet without an author (`user.id_str`)"),
            ("created IS NULL", "created_at missing or not a time"),
            text="body",
            media=media,
        )
        notice = " ".join(
            f"WHEN d.{k} IS NOT NULL THEN 'an X v1.1 stream notice ({k}), not a post'"
            for k in NOTICES
        )
        return f"""
WITH docs AS MATERIALIZED (
    SELECT line_no, line, {parse(PAGE, tolerant)} AS d FROM lines WHERE {NOT_BLANK}
),
tweets AS (
    SELECT line_no, unnest(d.statuses) AS t, generate_subscripts(d.statuses, 1) AS item
    FROM docs WHERE d.statuses IS NOT NULL
    UNION ALL
    SELECT line_no, {single} AS t, 1 AS item FROM docs
    WHERE d.statuses IS NULL AND (d.id_str IS NOT NULL OR d.id IS NOT NULL)
        AND {" AND ".join(f"d.{k} IS NULL" for k in NOTICES)}
),
prepared AS (
    SELECT line_no, item, t, {entities} AS e,
        coalesce(t.id_str, t.id) AS t_id,
        coalesce(t.user.id_str, t.user.id) AS author,
        {v1_time("t.created_at")} AS created,
        coalesce(t.extended_tweet.full_text, t.full_text, t.text) AS body
    FROM tweets
)
SELECT
    'x' AS platform, t_id AS id, author AS author_id,
    t.user.screen_name AS author_handle,
    {v1_time("t.user.created_at")} AS author_created_at,
    created AS created_at,
    {post_text("body")} AS text, t.lang,
    coalesce(list_transform(e.hashtags, lambda h: lower(h.text)), []) AS hashtags,
    coalesce(list_transform(e.user_mentions, lambda m: lower(m.screen_name)), []) AS mentions,
    coalesce(list_transform(e.urls, lambda u: coalesce(u.expanded_url, u.url)), []) AS urls,
    t.in_reply_to_status_id_str AS reply_to,
    coalesce(t.retweeted_status.id_str, t.retweeted_status.id) AS repost_of,
    CASE WHEN t.retweeted_status IS NULL
        THEN coalesce(t.quoted_status_id_str, t.quoted_status.id_str) END AS quote_of,
    t.favorite_count AS like_count,
    t.retweet_count AS repost_count,
    t.reply_count AS reply_count,
    t.quote_count AS quote_count,
    NULL::BIGINT AS view_count,
    {quote(source)} AS source,
    line_no, item,
    {problem} AS problem,
    CASE WHEN ({problem}) IS NOT NULL THEN left(to_json(t)::VARCHAR, {RAW_CHARS}) END AS raw
FROM prepared
UNION ALL BY NAME
SELECT line_no, 0 AS item,
    CASE WHEN d IS NULL THEN {quote(NOT_JSON)} {notice}
        WHEN d.disconnect IS NOT NULL THEN 'an X v1.1 stream disconnect message, not a post'
        ELSE 'not an X API v1.1 tweet or search/tweets answer' END AS problem,
    left(line, {RAW_CHARS}) AS raw
FROM docs
WHERE d IS NULL OR (d.statuses IS NULL AND ((d.id_str IS NULL AND d.id IS NULL)
    OR {" OR ".join(f"d.{k} IS NOT NULL" for k in NOTICES)}))
"""
