"""Small hand-made post datasets for the measure tests (importable as `postkit`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from jalsa.platforms.post_record import COLUMNS, POST_SCHEMA

T0 = datetime(2023, 12, 17, 14, 0, tzinfo=UTC)
OLD = datetime(2016, 1, 1, tzinfo=UTC)


def post(
    n: int,
    author: str,
    at: datetime,
    text: str,
    hashtags: list[str] | None = None,
    created: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in COLUMNS}
    row.update(
        platform="x",
        id=str(n),
        author_id=author,
        author_handle="h_" + author,
        author_created_at=created or OLD,
        created_at=at,
        text=text,
        hashtags=hashtags or [],
        mentions=[],
        urls=[],
        source="test",
    )
    row.update(extra)
    return row


def write(rows: list[dict[str, Any]], folder: Path, parts: int = 2) -> list[Path]:
    """The rows as `parts` Parquet files in the dataset's schema."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    size = -(-len(rows) // parts)
    for i in range(parts):
        chunk = rows[i * size : (i + 1) * size]
        path = folder / f"part-{i}.parquet"
        pq.write_table(pa.Table.from_pylist(chunk, schema=POST_SCHEMA), path)
        paths.append(path)
    return paths


def rally(seed_authors: int = 0) -> list[dict[str, Any]]:
    """Thirty minutes of a small rally with, on purpose: a new hashtag that spikes, a run of
    near-identical text by six accounts (and a later one by three, too few), a slogan many
    type on their own (too short to count), an account posting 12 times in a minute, and 25
    accounts created on one day a week before."""
    rows: list[dict[str, Any]] = []
    n = 0

    def add(author: str, at: datetime, text: str, tags: list[str], **kw: Any) -> None:
        nonlocal n
        n += 1
        rows.append(post(n, author, at, text, tags, **kw))

    for m in range(30):
        at = T0 + timedelta(minutes=m)
        for i in range(10):
            created = OLD + timedelta(days=(m * 10 + i) * 7)
            add(
                f"a{m}_{i}",
                at + timedelta(seconds=i),
                f"jalsa minute {m} #PTI",
                ["pti"],
                created=created,
                like_count=i,
            )
        for i in range(2):
            add(f"b{i}", at + timedelta(seconds=30 + i), "watching the jalsa #Jalsa", ["jalsa"])
    for i in range(60):
        add(
            f"s{i}",
            T0 + timedelta(minutes=20, seconds=i),
            f"internet band {i} #Shutdown",
            ["shutdown"],
            like_count=100 - i,
        )
    for i in range(40):
        add(f"s{i}", T0 + timedelta(minutes=21, seconds=i), "still down #Shutdown", ["shutdown"])
    copied = "Everyone must join the virtual jalsa tonight at nine sharp"
    for i in range(6):
        add(
            f"c{i}",
            T0 + timedelta(minutes=5, seconds=20 * i),
            f"{copied}!! {i}{i} https://t.co/x{i} 🇵🇰",
            [],
        )
    for i in range(3):
        add(f"c{i}", T0 + timedelta(minutes=25, seconds=i), f"{copied}.", [])
    for i in range(20):
        add(f"z{i}", T0 + timedelta(minutes=10, seconds=i), "Imran Khan Zindabad!", [])
    for i in range(12):
        add("fast", T0 + timedelta(minutes=12, seconds=4 * i), f"spam {i} #PTI", ["pti"])
    burst_day = T0 - timedelta(days=7)
    for i in range(25):
        add(
            f"new{i}",
            T0 + timedelta(minutes=15, seconds=i),
            "first post #PTI",
            ["pti"],
            created=burst_day + timedelta(minutes=i),
        )
    for i in range(5):
        add(f"a0_{i}", T0 + timedelta(minutes=29), "RT jalsa", ["pti"], repost_of="1")
    return rows
