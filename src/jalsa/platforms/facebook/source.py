"""Facebook comments (on live videos and posts): Graph API `/{object-id}/comments` response
pages, one per line, as the collector saves them. A comment without `from` (the Graph API
leaves it out without the permission to see the commenter) is quarantined, not counted under
a made-up author. A comment without `message` is a photo, sticker or GIF comment (its
`attachment`) and is kept with empty text; one with neither is quarantined (decision 25)."""

from __future__ import annotations

from typing import Any

from jalsa.platforms.sources import (
    NOT_BLANK,
    RAW_CHARS,
    LineSource,
    line_problem_rows,
    parse,
    post_problem,
    post_text,
    quote,
    tags_in,
)

COMMENT = {
    "id": "VARCHAR",
    "message": "VARCHAR",
    "created_time": "VARCHAR",
    "from": {"id": "VARCHAR", "name": "VARCHAR"},
    "parent": {"id": "VARCHAR"},
    "like_count": "BIGINT",
    "comment_count": "BIGINT",
    "attachment": {"type": "VARCHAR"},
}
PAGE = {"data": [COMMENT], "paging": "JSON"}


class FacebookComments(LineSource):
    name = "facebook-comments"
    platform = "facebook"
    description = "Facebook Graph API comments pages, one per line"

    @classmethod
    def looks_like(cls, doc: Any) -> bool:
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            return False
        first = doc["data"][0] if doc["data"] else {}
        return isinstance(first, dict) and "created_time" in first

    @classmethod
    def item_path(cls) -> str:
        return "'$.data[' || (item - 1) || ']'"

    @classmethod
    def sql(cls, source: str, tolerant: bool) -> str:
        hashtags, mentions, urls = tags_in(post_text("c.message"))
        created = "TRY_CAST(c.created_time AS TIMESTAMPTZ)"
        problem = post_problem(
            ("c.id IS NULL", "comment without an id"),
            (
                'c."from".id IS NULL',
                "comment without `from` (the token may lack the permission to see authors)",
            ),
            (f"{created} IS NULL", "created_time missing or not a time"),
            text="c.message",
            media="c.attachment IS NOT NULL",
        )
        return f"""
WITH docs AS MATERIALIZED (
    SELECT line_no, line, {parse(PAGE, tolerant)} AS d FROM lines WHERE {NOT_BLANK}
),
comments AS (
    SELECT line_no, unnest(d.data) AS c, generate_subscripts(d.data, 1) AS item
    FROM docs WHERE d.data IS NOT NULL
)
SELECT
    'facebook' AS platform, c.id, c."from".id AS author_id, c."from".name AS author_handle,
    NULL::TIMESTAMPTZ AS author_created_at, {created} AS created_at,
    {post_text("c.message")} AS text, NULL AS lang,
    {hashtags} AS hashtags, {mentions} AS mentions, {urls} AS urls,
    c.parent.id AS reply_to, NULL AS repost_of, NULL AS quote_of,
    c.like_count AS like_count, NULL::BIGINT AS repost_count, c.comment_count AS reply_count,
    NULL::BIGINT AS quote_count, NULL::BIGINT AS view_count,
    {quote(source)} AS source, line_no, item,
    {problem} AS problem,
    CASE WHEN ({problem}) IS NOT NULL THEN left(to_json(c)::VARCHAR, {RAW_CHARS}) END AS raw
FROM comments
UNION ALL BY NAME
{line_problem_rows("d.data IS NULL", "not a Facebook comments page")}
"""
