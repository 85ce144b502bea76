"""Collectors: posts, live chat and comments from the platforms' documented APIs, each API
response page appended verbatim to a raw log (`<dataset_dir>/raw/<source>.jsonl`) with the
collector's cursor beside it (`<source>.state.json`). Ingestion normalizes the raw lines.

    XSearchCollector           x-search.jsonl                 GET /2/tweets/search/recent
    XStreamCollector           x-stream.jsonl                 GET /2/tweets/search/stream
    XCountsCollector           x-counts.jsonl                 GET /2/tweets/counts/recent
    YouTubeChatCollector       youtube-chat-<liveChatId>.jsonl   liveChatMessages.list
    FacebookCommentsCollector  facebook-comments-<id>.jsonl   GET /{id}/comments
"""

from jalsa.conversation.collect.base import (
    CollectError,
    Collector,
    CollectorOptions,
    CollectResult,
    pause,
)
from jalsa.conversation.collect.facebook_comments import FacebookCommentsCollector
from jalsa.conversation.collect.rawlog import RawLog, RawLogBusy, raw_dir, source_name
from jalsa.conversation.collect.x import (
    StreamBackoff,
    StreamRound,
    XCountsCollector,
    XSearchCollector,
    XStreamCollector,
)
from jalsa.conversation.collect.youtube_chat import YouTubeChatCollector, active_live_chat_id

__all__ = [
    "CollectError",
    "CollectResult",
    "Collector",
    "CollectorOptions",
    "FacebookCommentsCollector",
    "RawLog",
    "RawLogBusy",
    "StreamBackoff",
    "StreamRound",
    "XCountsCollector",
    "XSearchCollector",
    "XStreamCollector",
    "YouTubeChatCollector",
    "active_live_chat_id",
    "pause",
    "raw_dir",
    "source_name",
]
