"""YouTube live chat: `liveChatMessages.list` response pages, one per line, as the collector
saves them. Only messages that carry text become posts (text messages, Super Chats and
Super Stickers with a comment); other events (bans, deletions, chat ended) are not posts and
are skipped, not quarantined."""

from __future__ import annotations

from typing import Any

from jalsa.conversation.sources.base import (
    NOT_BLANK,
    RAW_CHARS,
    LineSource,
    first_problem,
    line_problem_rows,
    parse,
    quote,
    tags_in,
)

MESSAGE = {
    "id": "VARCHAR",
    "snippet": {
        "type": "VARCHAR",
        "authorChannelId": "VARCHAR",
        "publishedAt": "VARCHAR",
        "displayMessage": "VARCHAR",
        "textMessageDetails": {"messageText": "VARCHAR"},
        "superChatDetails": {"userComment": "VARCHAR"},
    },
    "authorDetails": {"channelId": "VARCHAR", "displayName": "VARCHAR"},
}
PAGE = {"kind": "VARCHAR", "items": [MESSAGE]}
TEXT = (
    "coalesce(m.snippet.textMessageDetails.messageText, m.snippet.superChatDetails.userComment,"
    " m.snippet.displayMessage)"
)
KIND = "youtube#liveChatMessageListResponse"


class YouTubeChat(LineSource):
    name = "youtube-chat"
    platform = "youtube"
    description = "YouTube liveChatMessages.list response pages, one per line"

    @classmethod
    def looks_like(cls, doc: Any) -> bool:
        return isinstance(doc, dict) and doc.get("kind") == KIND

    @classmethod
    def sql(cls, source: str, tolerant: bool) -> str:
        hashtags, mentions, urls = tags_in(TEXT)
        author = "coalesce(m.authorDetails.channelId, m.snippet.authorChannelId)"
        published = "TRY_CAST(m.snippet.publishedAt AS TIMESTAMPTZ)"
        return f"""
WITH docs AS MATERIALIZED (
    SELECT line_no, line, {parse(PAGE, tolerant)} AS d FROM lines WHERE {NOT_BLANK}
),
messages AS (
    SELECT line_no, unnest(d.items) AS m, generate_subscripts(d.items, 1) AS item
    FROM docs WHERE d.kind = '{KIND}' AND d.items IS NOT NULL
)
SELECT
    'youtube' AS platform, m.id, {author} AS author_id,
    m.authorDetails.displayName AS author_handle,
    NULL::TIMESTAMPTZ AS author_created_at,
    {published} AS created_at,
    {TEXT} AS text, NULL AS lang,
    {hashtags} AS hashtags, {mentions} AS mentions, {urls} AS urls,
    NULL AS reply_to, NULL AS repost_of, NULL AS quote_of,
    NULL::BIGINT AS like_count, NULL::BIGINT AS repost_count, NULL::BIGINT AS reply_count,
    NULL::BIGINT AS quote_count, NULL::BIGINT AS view_count,
    {quote(source)} AS source, line_no, item,
    {
            first_problem(
                ("m.id IS NULL", "chat message without an id"),
                (f"{author} IS NULL", "chat message without an author channel"),
                (f"{published} IS NULL", "publishedAt missing or not a time"),
            )
        } AS problem,
    CASE WHEN m.id IS NULL OR {author} IS NULL OR {published} IS NULL
        THEN left(to_json(m)::VARCHAR, {RAW_CHARS}) END AS raw
FROM messages WHERE {TEXT} IS NOT NULL
UNION ALL BY NAME
{line_problem_rows(f"d.kind IS DISTINCT FROM '{KIND}'", "not a YouTube liveChatMessages page")}
"""
