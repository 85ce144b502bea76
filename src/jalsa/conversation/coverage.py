"""How much of X's own count the dataset holds: X's `tweets/counts/recent` says how many posts
matched the event's query in each minute (the counts collector logs every page verbatim in
`raw/x-counts.jsonl`); the dataset holds the X posts collected. Their ratio, minute by minute
and in total, tells a reader how complete the conversation figures are.

A bucket's count is the one X gave last: the open minute is read again until it closes.
Buckets that had not closed when last read, and lines that are not counts pages, are left out
(and counted)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from jalsa.platforms.collect.rawlog import raw_dir
from jalsa.platforms.x.collect import parse_x_time

COUNTS_LOG = "x-counts.jsonl"
DEFINITION = (
    "X's count of posts matching the event's query (GET /2/tweets/counts/recent, per "
    "minute, the last value X gave for each closed minute) beside the X posts the dataset "
    "holds from the same minutes; share = collected / counted. The posts collected may match "
    "the stream's rules rather than the query, so a share above 1 is possible."
)


@dataclass
class XCounts:
    per_minute: dict[int, int] = field(default_factory=dict)  # epoch minute -> posts
    bad_lines: int = 0  # lines that are not counts pages
    open_buckets: int = 0  # minutes never read after they closed


def read_counts(dataset_dir: Path) -> XCounts:
    """X's per-minute counts from the counts log of a dataset (empty if there is none)."""
    counts = XCounts()
    log = raw_dir(dataset_dir) / COUNTS_LOG
    if not log.exists():
        return counts
    latest: dict[int, tuple[int, bool]] = {}
    with log.open("rb") as lines:
        for line in lines:
            buckets = _buckets(line)
            if buckets is None:
                counts.bad_lines += 1
                continue
            latest.update(buckets)
    for minute, (posts, closed) in latest.items():
        if closed:
            counts.per_minute[minute] = posts
        else:
            counts.open_buckets += 1
    return counts


def _buckets(line: bytes) -> dict[int, tuple[int, bool]] | None:
    """minute -> (count, whether the bucket was a whole minute) of one page; None if the
    line is not a counts page."""
    try:
        page = json.loads(line)
    except ValueError:
        return None
    data = page.get("data", []) if isinstance(page, dict) else None
    if not isinstance(data, list):
        return None
    found: dict[int, tuple[int, bool]] = {}
    for bucket in data:
        start = parse_x_time(bucket.get("start")) if isinstance(bucket, dict) else None
        end = parse_x_time(bucket.get("end")) if isinstance(bucket, dict) else None
        posts = bucket.get("tweet_count") if isinstance(bucket, dict) else None
        if start is None or end is None or not isinstance(posts, int) or posts < 0:
            return None
        found[int(start.timestamp()) // 60] = (posts, end - start >= timedelta(minutes=1))
    return found


def x_coverage(counts: XCounts, platform_minutes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """X's counts beside the dataset's X posts per minute (rows of the platform_minutes
    measure); None when X gave no counts."""
    if not counts.per_minute:
        return None
    ours = {r["minute"]: r["posts"] for r in platform_minutes if r["platform"] == "x"}
    minutes = [
        {"minute": m, "counted": n, "collected": ours.get(m, 0)}
        for m, n in sorted(counts.per_minute.items())
    ]
    counted = sum(r["counted"] for r in minutes)
    collected = sum(r["collected"] for r in minutes)
    return {
        "definition": DEFINITION,
        "minutes": minutes,
        "counted": counted,
        "collected": collected,
        "share": collected / counted if counted else None,
        "bad_lines": counts.bad_lines,
        "open_buckets": counts.open_buckets,
    }
