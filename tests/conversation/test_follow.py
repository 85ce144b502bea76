"""Following the collectors' raw logs: only complete new lines, line numbers of the whole log,
nothing twice after a crash between publishing a part and recording how far it got."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from jalsa.conversation import follow
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.follow import ingest_new_lines
from jalsa.platforms.collect.rawlog import raw_dir
from testkit import load_fixture


def ids(dataset: PostDataset) -> list[str]:
    if not dataset.parts():
        return []
    table = pq.ParquetDataset([str(p) for p in dataset.parts()]).read(columns=["id"])
    return sorted(table.column("id").to_pylist())


def append(log: Path, data: bytes) -> None:
    with log.open("ab") as f:
        f.write(data)


def line(page: Any) -> bytes:
    return json.dumps(page).encode() + b"\n"


def test_new_complete_lines_only(tmp_path: Path) -> None:
    dataset = PostDataset(tmp_path / "ds")
    folder = raw_dir(dataset.root)
    folder.mkdir(parents=True)
    x_log = folder / "x-search.jsonl"
    chat_log = folder / "youtube-chat-abc.jsonl"
    counts_log = folder / "x-counts.jsonl"
    page1, page2 = load_fixture("x", "search_page1.json"), load_fixture("x", "search_page2.json")
    chat = load_fixture("youtube", "chat_page1.json")

    assert ingest_new_lines(dataset) is None  # nothing yet
    append(x_log, line({"meta": {"result_count": 0}}) + line(page1) + line(page2)[:50])
    append(chat_log, line(chat))
    append(counts_log, line(load_fixture("x", "counts_page1.json")))
    first = ingest_new_lines(dataset)
    assert first is not None
    assert first.accepted == len(page1["data"]) + sum(
        1 for i in chat["items"] if i["snippet"].get("displayMessage")
    )
    assert {f.format for f in first.files} == {"x", "youtube-chat"}  # counts are not posts

    append(x_log, line(page2)[50:] + b"{torn")  # the rest of line 3, then a line in progress
    second = ingest_new_lines(dataset)
    assert second is not None and second.accepted == len(page2["data"])
    assert second.quarantined == 0
    assert ingest_new_lines(dataset) is None  # the torn line waits for its newline

    append(x_log, b"\n")  # the writer gave up on it: line 4 is damaged
    third = ingest_new_lines(dataset)
    assert third is not None and third.accepted == 0 and third.quarantined == 1
    [bad] = [json.loads(x) for x in Path(third.quarantine_file or "").read_text().splitlines()]
    assert (bad["line"], bad["file"]) == (4, str(x_log))
    assert len(ids(dataset)) == len(set(ids(dataset)))


def test_a_crash_before_the_mark_is_saved_adds_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = PostDataset(tmp_path / "ds")
    folder = raw_dir(dataset.root)
    folder.mkdir(parents=True)
    log = folder / "x-stream.jsonl"
    for message in load_fixture("x", "stream_messages.json"):
        append(log, line(message) + b"\r\n")

    def crash(self: follow.Mark, log: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(follow.Mark, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest_new_lines(dataset)
    stored = ids(dataset)
    assert stored  # the part was published before the crash
    monkeypatch.undo()
    again = ingest_new_lines(dataset)
    assert again is not None and again.accepted == 0 and again.duplicates == len(stored)
    assert ids(dataset) == stored
    assert ingest_new_lines(dataset) is None
