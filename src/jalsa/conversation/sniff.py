"""What a JSON file that holds no posts looks like, said in words: X counts, users or lists, an
API error, another platform's answer, one JSON array, or one pretty-printed document (decision
23). Ingestion refuses such a file with this one message instead of quarantining every line
or calling it "JSON lines of an unknown kind"."""

from __future__ import annotations

from typing import Any

import orjson

# Not posts, whatever --format says: the file is refused, not quarantined line by line.
DATA_KINDS = {
    "counts": "X counts (tweet_count per interval), not posts; `jalsa` polls counts itself",
    "users": "X users (user objects: username, name), not posts",
    "lists": "X lists (name, member_count), not posts",
    "live_videos": "Facebook live videos (status, live_views), not comments",
    "live_media": "Instagram media (media_type, media_product_type), not comments",
}
YOUTUBE_KINDS = {
    "youtube#commentThreadListResponse": "YouTube comment threads (commentThreads.list); "
    "the inbox collects them, they are not ingested as posts",
    "youtube#commentListResponse": "YouTube comments (comments.list); the inbox collects "
    "them, they are not ingested as posts",
    "youtube#videoListResponse": "YouTube video details (videos.list), not posts",
    "youtube#liveChatMessage": "single YouTube chat messages; ingest the liveChatMessages.list "
    "pages the collector writes (one page per line)",
}


def _first(doc: dict[str, Any]) -> dict[str, Any] | None:
    data = doc.get("data")
    if isinstance(data, list):
        data = data[0] if data else None
    return data if isinstance(data, dict) else None


def data_kind(doc: Any) -> str | None:
    """Which kind of data without posts a parsed line is (a key of DATA_KINDS), if any."""
    if not isinstance(doc, dict):
        return None
    item = _first(doc) or doc
    keys = set(item)
    if "tweet_count" in keys or "total_tweet_count" in (doc.get("meta") or {}):
        return "counts"
    if "username" in keys and "text" not in keys and "author_id" not in keys:
        return "users"
    if "member_count" in keys or ("follower_count" in keys and "name" in keys):
        return "lists"
    if "live_views" in keys or ("status" in keys and "embed_html" in keys):
        return "live_videos"
    if "media_product_type" in keys or ("media_type" in keys and "timestamp" in keys):
        return "live_media"
    return None


def describe(doc: Any) -> str:
    """What a first line that is no known posts format looks like, in words."""
    if isinstance(doc, list):
        return array_message(doc)
    if not isinstance(doc, dict):
        return f"a JSON {type(doc).__name__}, not an object"
    kind = data_kind(doc)
    if kind:
        return DATA_KINDS[kind]
    if doc.get("kind") in YOUTUBE_KINDS:
        return YOUTUBE_KINDS[doc["kind"]]
    if isinstance(doc.get("errors"), list) and "data" not in doc:
        first = doc["errors"][0] if doc["errors"] else {}
        said = " ".join(
            str(first.get(k, "")) for k in ("title", "detail") if isinstance(first, dict)
        )
        return f"an X API error answer without posts ({said.strip() or 'no detail'})"
    if isinstance(doc.get("error"), dict):
        return f"an API error answer ({str(doc['error'].get('message', ''))[:200]})"
    keys = ", ".join(list(doc)[:8])
    return f"JSON lines of an unknown kind (the first line has {keys or 'no keys'})"


def array_message(doc: list[Any]) -> str:
    inside = ""
    if doc and isinstance(doc[0], dict):
        from jalsa.conversation.sources import LINE_SOURCES

        found = next((s for s in LINE_SOURCES.values() if s.looks_like(doc[0])), None)
        inside = (
            f" of {found.description.split(' JSONL')[0].split(' pages')[0]} items" if found else ""
        )
    return (
        f"one JSON array{inside} (one document), not JSON lines (one document per line); "
        "make it JSON lines with: jq -c '.[]' FILE.json > FILE.jsonl"
    )


def pretty_document(head: bytes, whole: bool) -> str | None:
    """The message for a file that is one JSON document over many lines (pretty-printed), or
    None. Its first line did not parse alone; `head` is the start of the file (`whole`: all
    of it). It is one document when the whole file parses, or when the head fails only on
    its last line, where it was cut."""
    text = head.decode("utf-8", "ignore").strip()
    if "\n" not in text or text[:1] not in ("{", "["):
        return None
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:  # its `pos` is where the parse stopped
        if whole or "\n" in text[exc.pos :]:
            return None  # damaged before the end: a broken JSON line, not a document
    array = text[:1] == "["
    how = "jq -c '.[]' FILE.json > FILE.jsonl" if array else "jq -c . FILE.json > FILE.jsonl"
    return (
        f"one JSON {'array' if array else 'document'} spread over many lines (pretty-printed), "
        f"not JSON lines (one document per line); make it JSON lines with: {how}"
    )
