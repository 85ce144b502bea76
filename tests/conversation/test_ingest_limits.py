"""Hostile files given to `jalsa ingest`: a line too long to read (quarantined with its line
number, memory bounded), an empty file, an image, a truncated gzip file (each refused with
one message saying which, and a non-zero exit code), lone surrogates."""

from __future__ import annotations

import gzip
import json
import re
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest

from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.ingest import choose_format, ingest
from jalsa.conversation.lines import read_blocks
from jalsa.errors import UserError
from testkit import load_fixture

TWEET = {
    "id": "1",
    "text": "hello #jalsa",
    "author_id": "9",
    "created_at": "2023-12-17T14:00:00.000Z",
}
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def quarantine(dataset: PostDataset) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(dataset.quarantine.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines()]
    return rows


def gzip_with_long_line(path: Path, megabytes: int) -> Path:
    """A small gzip file: a page, one line of `megabytes` MB, then a tweet."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    page = json.dumps(load_fixture("x", "search_page2.json")).encode()
    parts = [page + b"\n", b'{"data": "']
    with path.open("wb") as f:
        for part in parts:
            f.write(deflate.compress(part))
        block = b"x" * (1 << 20)
        for _ in range(megabytes):
            f.write(deflate.compress(block))
        f.write(deflate.compress(b'"}\n' + json.dumps(TWEET).encode() + b"\n"))
        f.write(deflate.flush())
    return path


def test_a_line_over_the_limit_is_quarantined_with_its_number(tmp_path: Path) -> None:
    dataset = PostDataset(tmp_path / "ds")
    path = gzip_with_long_line(tmp_path / "x.jsonl.gz", 3)
    summary = ingest(dataset, [path], "x", max_line=1 << 20)
    page = load_fixture("x", "search_page2.json")
    assert summary.accepted == len(page["data"]) + 1  # the page's tweets and the last line
    [bad] = quarantine(dataset)
    assert bad["line"] == 2
    assert bad["reason"].startswith("a line longer than 1 MiB")
    assert bad["raw"].startswith('{"data": "xxx') and len(bad["raw"]) <= 2000
    assert summary.files[0].lines == 3


def test_reading_a_long_line_keeps_memory_bounded(tmp_path: Path) -> None:
    path = gzip_with_long_line(tmp_path / "x.jsonl.gz", 48)
    tracemalloc.start()
    try:
        blocks = list(read_blocks(path, block_bytes=1 << 20, max_line=1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 << 20  # a 48 MB line, read in 1 MiB blocks
    bad = [b for block in blocks for b in block.bad]
    assert [(line, why[:20]) for line, why, _ in bad] == [(2, "a line longer than 1")]
    assert sum(len(b.lines) for b in blocks) == 3


def test_lines_up_to_the_limit_are_read(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    line = json.dumps({**TWEET, "text": "y" * 5000})
    path.write_text(line + "\n" + line.replace('"1"', '"2"') + "x" * 10 + "\n")
    blocks = list(read_blocks(path, block_bytes=64, max_line=len(line) + 1))
    bad = [b[0] for block in blocks for b in block.bad]
    assert bad == [2]
    assert sum(len(b.lines) for b in blocks) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty; no posts"),
        (b"\n  \n\t\n", "the file is empty (only blank lines)"),
        (PNG, "this is a PNG image, not posts"),
        (b"\x00\x01\x02binary\x00", "this is binary data (it has NUL bytes)"),
        (b"PK\x03\x04zip", "this is a zip file"),
    ],
)
def test_files_that_hold_no_text_are_named_for_what_they_are(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_bytes(content)
    with pytest.raises(UserError, match=re.escape(message)):
        choose_format(path, "auto", None)
    with pytest.raises(UserError, match=re.escape(message)):
        choose_format(path, "x", None)


def test_a_truncated_gzip_file_is_named_with_its_size(tmp_path: Path) -> None:
    whole = gzip.compress(
        b"".join(json.dumps({**TWEET, "id": str(i)}).encode() + b"\n" for i in range(5000))
    )
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    dataset = PostDataset(tmp_path / "ds")
    with pytest.raises(
        UserError,
        match=rf"truncated: the compressed data ends at byte "
        rf"{len(whole) // 2:,}",
    ):
        ingest(dataset, [path], "x")
    tiny = tmp_path / "tiny.jsonl.gz"
    tiny.write_bytes(whole[:40])
    with pytest.raises(UserError, match="truncated"):
        ingest(dataset, [tiny])
    assert not dataset.parts()


def test_lone_surrogates_are_quarantined_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    lines = [
        json.dumps({**TWEET, "id": "1"}),
        '{"id": "2", "text": "a \\ud800 b", "author_id": "9", '
        '"created_at": "2023-12-17T14:00:00Z"}',
        json.dumps({**TWEET, "id": "3", "text": "\U0001f600 ok"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    dataset = PostDataset(tmp_path / "ds")
    summary = ingest(dataset, [path])
    assert summary.accepted == 2
    assert [(q["line"], q["reason"][:14]) for q in quarantine(dataset)] == [(2, "not valid JSON")]
