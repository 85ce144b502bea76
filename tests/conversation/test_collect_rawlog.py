"""The raw log: one page per line, a state file beside it, and what a crash can leave behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jalsa.errors import UserError
from jalsa.platforms.collect.rawlog import RawLog, RawLogBusy, dump_line, source_name


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def test_pages_are_compact_json_lines_and_the_state_follows(tmp_path: Path) -> None:
    log = RawLog.in_dataset(tmp_path, "x-search")
    assert log.open() == []
    log.append({"data": [{"id": "1", "text": "جلسہ"}]}, {"since_id": "1"})
    log.append({"meta": {"result_count": 0}}, {"since_id": "1", "round": None})
    log.close()

    assert log.path == tmp_path / "raw" / "x-search.jsonl"
    assert lines(log.path) == [
        '{"data":[{"id":"1","text":"جلسہ"}]}'.encode(),
        b'{"meta":{"result_count":0}}',
    ]
    state = json.loads((tmp_path / "raw" / "x-search.state.json").read_text())
    assert state["cursor"] == {"since_id": "1", "round": None}
    assert state["lines"] == 2 and state["log_bytes"] == log.path.stat().st_size
    assert state["source"] == "x-search" and state["version"] == 1

    again = RawLog.in_dataset(tmp_path, "x-search")
    assert again.open() == []
    assert again.cursor == {"since_id": "1", "round": None} and again.lines == 2
    again.close()


def test_a_page_the_state_missed_is_handed_back_not_fetched_again(tmp_path: Path) -> None:
    log = RawLog.in_dataset(tmp_path, "youtube-chat-abc")
    log.open()
    log.append({"nextPageToken": "A"}, {"page_token": "A"})
    log.close()
    # A crash after the page was written and before the state was saved.
    with log.path.open("ab") as handle:
        handle.write(dump_line({"nextPageToken": "B"}))

    restarted = RawLog.in_dataset(tmp_path, "youtube-chat-abc")
    assert restarted.open() == [{"nextPageToken": "B"}]
    assert restarted.cursor == {"page_token": "A"}  # the collector re-applies the page
    assert restarted.lines == 2
    restarted.save_state({"page_token": "B"})
    restarted.close()
    assert RawLog.in_dataset(tmp_path, "youtube-chat-abc").open() == []


def test_a_torn_last_line_is_kept_and_the_next_page_starts_a_new_line(tmp_path: Path) -> None:
    log = RawLog.in_dataset(tmp_path, "facebook-comments-1")
    log.open()
    log.append({"data": [1]}, {"since": 1})
    log.close()
    with log.path.open("ab") as handle:
        handle.write(b'{"data":[2,')  # the write was cut by a crash

    restarted = RawLog.in_dataset(tmp_path, "facebook-comments-1")
    assert restarted.open() == []  # never complete, so never applied: it will be fetched again
    restarted.append({"data": [2, 3]}, {"since": 3})
    restarted.close()
    assert lines(log.path) == [b'{"data":[1]}', b'{"data":[2,', b'{"data":[2,3]}']
    assert restarted.lines == 3


def test_a_whole_page_cut_just_before_its_newline_is_a_page(tmp_path: Path) -> None:
    log = RawLog.in_dataset(tmp_path, "x-counts")
    log.open()
    log.close()
    log.path.write_bytes(b'{"data":[]}')
    restarted = RawLog.in_dataset(tmp_path, "x-counts")
    assert restarted.open() == [{"data": []}]
    assert log.path.read_bytes() == b'{"data":[]}\n'
    restarted.close()


def test_stream_lines_are_written_as_they_arrived(tmp_path: Path) -> None:
    log = RawLog.in_dataset(tmp_path, "x-stream")
    log.open(replay=False)
    log.append_many([b'{"data":{"id":"1"}}', b'{"data":{"id":'])
    log.append_bytes(b"not json at all")
    with pytest.raises(ValueError):
        log.append_bytes(b"two\nlines")
    log.close()
    assert lines(log.path) == [b'{"data":{"id":"1"}}', b'{"data":{"id":', b"not json at all"]
    again = RawLog.in_dataset(tmp_path, "x-stream")
    again.open(replay=False)
    assert again.lines == 3
    again.close()


def test_one_writer_per_log(tmp_path: Path) -> None:
    first = RawLog.in_dataset(tmp_path, "x-search")
    first.open()
    with pytest.raises(RawLogBusy, match="another collector"):
        RawLog.in_dataset(tmp_path, "x-search").open()
    first.close()
    second = RawLog.in_dataset(tmp_path, "x-search")
    second.open()
    second.close()


def test_a_damaged_state_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "x-search.state.json").write_text("{not json")
    with pytest.raises(UserError, match="damaged"):
        RawLog.in_dataset(tmp_path, "x-search").open()


def test_without_a_state_file_every_page_is_replayed(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "x-search.jsonl").write_bytes(b'{"a":1}\n{"a":2}\n')
    log = RawLog.in_dataset(tmp_path, "x-search")
    assert log.open() == [{"a": 1}, {"a": 2}]
    log.close()


def test_source_names_are_safe_file_names() -> None:
    assert source_name("youtube-chat", "Cg0KC2phbHNh_-") == "youtube-chat-Cg0KC2phbHNh_-"
    assert source_name("facebook-comments", "123_456") == "facebook-comments-123_456"
    assert source_name("facebook-comments", "../../etc") == "facebook-comments-.._.._etc"
    assert "/" not in source_name("x", "a/b")
    with pytest.raises(ValueError):
        source_name("  ")
