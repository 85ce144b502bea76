"""Inbox collectors: comments, replies, mentions and live chat from every platform as
`InboxItem`s, built on the conversation collectors (paging, pace, rate limits, resume).

    YouTubeChatInbox        liveChatMessages.list              (live_chat)
    YouTubeCommentsInbox    commentThreads.list                (comment, reply)
    FacebookCommentsInbox   GET /{live-video-or-post-id}/comments   (comment, reply)
    InstagramCommentsInbox  GET /{ig-media-id}/comments        (comment, reply)
    XRepliesInbox           recent search conversation_id:<id> (reply)
    XMentionsInbox          GET /2/users/{id}/mentions         (mention)

Each has `collect()` (one round: `InboxBatch` of items and the round's result) and `run(stop)`
(rounds at the platform's pace, each round's items handed to `on_items`, which confirms when
they are stored: a restart hands on again the items of pages logged but not confirmed).
"""

from jalsa.inbox.collect.base import InboxBatch, InboxTap, inbox_dataset_dir
from jalsa.inbox.collect.facebook import FacebookCommentsInbox, graph_comment_items
from jalsa.inbox.collect.instagram import InstagramCommentsInbox, ig_comment_items
from jalsa.inbox.collect.x import XMentionsInbox, XRepliesInbox, post_items, team_conversations
from jalsa.inbox.collect.youtube import (
    YouTubeChatInbox,
    YouTubeCommentsInbox,
    chat_items,
    thread_items,
)

__all__ = [
    "FacebookCommentsInbox",
    "InboxBatch",
    "InboxTap",
    "InstagramCommentsInbox",
    "XMentionsInbox",
    "XRepliesInbox",
    "YouTubeChatInbox",
    "YouTubeCommentsInbox",
    "chat_items",
    "graph_comment_items",
    "ig_comment_items",
    "inbox_dataset_dir",
    "post_items",
    "team_conversations",
    "thread_items",
]
