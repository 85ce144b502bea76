"""X's own counts beside the posts collected: the last value X gave for a minute counts, a
minute never read after it closed does not, and a line that is not a counts page is counted
as bad, not read."""

from __future__ import annotations

import json
from pathlib import Path

from jalsa.conversation.coverage import read_counts, x_coverage

T = "2026-11-22T18:0{}:00.000Z"
PARTIAL = "2026-11-22T18:0{}:30.000Z"


def bucket(start: int, end: str, count: int) -> dict[str, object]:
    return {"start": T.format(start), "end": end, "tweet_count": count}


def test_the_last_count_of_each_closed_minute(tmp_path: Path) -> None:
    pages = [
        {"data": [bucket(0, T.format(1), 5), bucket(1, PARTIAL.format(1), 2)]},
        {"data": [bucket(1, T.format(2), 7), bucket(2, PARTIAL.format(2), 1)]},
    ]
    raw = tmp_path / "raw"
    raw.mkdir()
    lines = [json.dumps(p) for p in pages] + ['{"data": [{"start": 3}]}', "{truncated"]
    (raw / "x-counts.jsonl").write_text("\n".join(lines) + "\n")
    counts = read_counts(tmp_path)
    minute0 = 29_922_840  # 2026-11-22 18:00 UTC in minutes since 1970
    assert counts.per_minute == {minute0: 5, minute0 + 1: 7}
    assert counts.open_buckets == 1 and counts.bad_lines == 2
    ours = [
        {"platform": "x", "minute": minute0, "posts": 4},
        {"platform": "youtube", "minute": minute0 + 1, "posts": 9},
    ]
    coverage = x_coverage(counts, ours)
    assert coverage is not None
    assert coverage["minutes"] == [
        {"minute": minute0, "counted": 5, "collected": 4},
        {"minute": minute0 + 1, "counted": 7, "collected": 0},
    ]
    assert coverage["share"] == 4 / 12


def test_no_counts_no_coverage(tmp_path: Path) -> None:
    assert x_coverage(read_counts(tmp_path), []) is None
