"""YouTube live chat: `liveChatMessages.list` response pages, one per line, as the collector
saves them. Messages people write become posts: text messages, Super Chats and Super
Stickers (a paid message, with or without a comment: the amount and the sticker are its
content), and membership milestones the member wrote a comment on. Chat events are not posts
and are skipped, not quarantined: a new or gifted membership, a milestone without a comment,
a deleted message, a ban, polls, the chat ending (their `displayMessage`, "Welcome to ...",
"... has been banned", is YouTube's text, and their author is the moderator who acted)."""

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

MESSAGE = {
    "id": "VARCHAR",
    "snippet": {
        "type": "VARCHAR",
        "authorChannelId": "VARCHAR",
        "publishedAt": "VARCHAR",
        "displayMessage": "VARCHAR",
        "textMessageDetails": {"messageText": "VARCHAR"},
        "superChatDetails": {"userComment": "VARCHAR", "amountDisplayString": "VARCHAR"},
        "superStickerDetails": {"superStickerMetadata": {"altText": "VARCHAR"}},
        "memberMilestoneChatDetails": {"userComment": "VARCHAR"},
        "fanFundingEventDetails": {"userComment": "VARCHAR"},
    },
    "authorDetails": {"channelId": "VARCHAR", "displayName": "VARCHAR"},
}
PAGE = {"kind": "VARCHAR", "items": [MESSAGE]}
TEXT = (
    "coalesce(m.snippet.textMessageDetails.messageText, m.snippet.superChatDetails.userComment,"
    " m.snippet.memberMilestoneChatDetails.userComment,"
    " m.snippet.fanFundingEventDetails.userComment,"
    " CASE WHEN m.snippet.type = 'textMessageEvent' THEN m.snippet.displayMessage END)"
)
# The messages that are posts (see the module's doc); a milestone only with a comment.
POST_TYPES = ("textMessageEvent", "superChatEvent", "superStickerEvent", "fanFundingEvent")
IS_POST = (
    f"(m.snippet.type IN {POST_TYPES} OR (m.snippet.type = 'memberMilestoneChatEvent' AND "
    "coalesce(m.snippet.memberMilestoneChatDetails.userComment, '') <> '')"
    " OR (m.snippet.type IS NULL AND m.snippet.textMessageDetails IS NOT NULL))"
)
# A Super Chat (paid) or Super Sticker is content without words.
MEDIA = "(m.snippet.superChatDetails IS NOT NULL OR m.snippet.superStickerDetails IS NOT NULL)"
KIND = "youtube#liveChatMessageListResponse"


class YouTubeChat(LineSource):
    name = "youtube-chat"
    platform = "youtube"
    description = "YouTube liveChatMessages.list response pages, one per line"

    @classmethod
    def looks_like(cls, doc: Any) -> bool:
        return isinstance(doc, dict) and doc.get("kind") == KIND

    @classmethod
    def item_path(cls) -> str:
        return "'$.items[' || (item - 1) || ']'"

    @classmethod
    def sql(cls, source: str, tolerant: bool) -> str:
        hashtags, mentions, urls = tags_in(post_text(TEXT))
        author = "coalesce(m.authorDetails.channelId, m.snippet.authorChannelId)"
        published = "TRY_CAST(m.snippet.publishedAt AS TIMESTAMPTZ)"
        problem = post_problem(
            ("m.id IS NULL", "chat message without an id"),
            (f"{author} IS NULL", "chat message without an author channel"),
            (f"{published} IS NULL", "publishedAt missing or not a time"),
            text=TEXT,
            media=MEDIA,
        )
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
    {post_text(TEXT)} AS text, NULL AS lang,
    {hashtags} AS hashtags, {mentions} AS mentions, {urls} AS urls,
    NULL AS reply_to, NULL AS repost_of, NULL AS quote_of,
    NULL::BIGINT AS like_count, NULL::BIGINT AS repost_count, NULL::BIGINT AS reply_count,
    NULL::BIGINT AS quote_count, NULL::BIGINT AS view_count,
    {quote(source)} AS source, line_no, item,
    {problem} AS problem,
    CASE WHEN ({problem}) IS NOT NULL THEN left(to_json(m)::VARCHAR, {RAW_CHARS}) END AS raw
FROM messages WHERE {IS_POST}
UNION ALL BY NAME
{line_problem_rows(f"d.kind IS DISTINCT FROM '{KIND}'", "not a YouTube liveChatMessages page")}
"""
