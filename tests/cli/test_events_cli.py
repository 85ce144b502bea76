"""The event and stream commands, and how bad input is answered: one message, non-zero exit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from jalsa.store import Store
from jalsa.store.repo import PollRecord, get_event, write_polls


def _create(cli: Any) -> Any:
    return cli(
        "event",
        "create",
        "PTI virtual jalsa",
        "--starts",
        "2023-12-17 20:00",
        "--hashtag",
        "#PTIVirtualJalsa",
        "--duration",
        "2h",
    )


def test_create_show_and_attach_streams(cli: Any) -> None:
    result = _create(cli)
    assert result.exit_code == 0, result.output
    assert "pti-virtual-jalsa" in result.output
    assert "2023-12-17 20:00:00 PKT" in result.output
    for kind, ident in [
        ("youtube", "dQw4w9WgXcQ"),
        ("facebook", "10158"),
        ("x_space", "1YqJDqWYNQDGW"),
        ("instagram", "17841405822304914"),
        ("x_counts", "event-query"),
    ]:
        added = cli("stream", "add", "pti-virtual-jalsa", kind, ident)
        assert added.exit_code == 0, added.output
    shown = cli("event", "show", "pti-virtual-jalsa")
    assert "1YqJDqWYNQDGW" in shown.output and "#PTIVirtualJalsa" in shown.output
    listed = cli("event", "list")
    assert "PTI virtual jalsa" in listed.output


def test_bad_input_gets_one_clear_message_and_nonzero_exit(cli: Any) -> None:
    cases = [
        (("event", "create", "x", "--starts", "tomorrow evening"), "YYYY-MM-DD HH:MM"),
        (
            ("event", "create", "x", "--starts", "2023-12-17 20:00", "--tz", "Mars/Olympus"),
            "unknown time zone",
        ),
        (
            ("event", "create", "x", "--starts", "2023-12-17 20:00", "--duration", "soon"),
            "duration",
        ),
        (("event", "show", "nope"), "jalsa event list"),
        (("stream", "add", "nope", "youtube", "abc"), "no event"),
        (("stream", "add", "nope", "tiktok", "abc"), "youtube"),
        (("export", "nope", "--format", "xml"), "csv, json, parquet"),
        (("track", "nope"), "no event"),
    ]
    for args, expected in cases:
        result = cli(*args)
        assert result.exit_code != 0, args
        assert expected in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_track_refuses_an_event_without_streams(cli: Any) -> None:
    _create(cli)
    result = cli("track", "pti-virtual-jalsa", "--minutes", "0.01")
    assert result.exit_code == 2
    assert "jalsa stream add" in result.output


def test_export_csv_json_parquet_hold_every_sample(
    cli: Any, database_url: str, tmp_path: Path
) -> None:
    _create(cli)
    cli("stream", "add", "pti-virtual-jalsa", "youtube", "vid")
    store = Store(database_url)
    start = datetime(2023, 12, 17, 15, 0, tzinfo=UTC)
    with store.session() as s:
        sid = get_event(s, "pti-virtual-jalsa").streams[0].id
        write_polls(
            s,
            [
                PollRecord(
                    sid,
                    start + timedelta(seconds=30 * i),
                    start + timedelta(seconds=30 * i),
                    "ok",
                    "",
                    200,
                    1,
                    1,
                    0,
                    0.0,
                    (
                        ("youtube.concurrent_viewers", start + timedelta(seconds=30 * i), 100 + i),
                        ("youtube.view_count", start + timedelta(seconds=30 * i), 5000 + i),
                    ),
                )
                for i in range(20)
            ],
        )
    store.dispose()

    out = tmp_path / "t.csv"
    assert cli("export", "pti-virtual-jalsa", "--format", "csv", "-o", str(out)).exit_code == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 41 and lines[0].startswith("event,stream_id")
    assert "2023-12-17T20:00:00+05:00" in lines[1]

    out = tmp_path / "t.json"
    assert cli("export", "pti-virtual-jalsa", "--format", "json", "-o", str(out)).exit_code == 0
    doc = json.loads(out.read_text())
    assert doc["sample_count"] == 40 and len(doc["samples"]) == 40
    assert "string" in doc["metrics"]["youtube.concurrent_viewers"]["definition"]
    assert sum(s["value"] for s in doc["samples"] if s["metric"] == "youtube.view_count") == sum(
        5000 + i for i in range(20)
    )

    out = tmp_path / "t.parquet"
    assert cli("export", "pti-virtual-jalsa", "--format", "parquet", "-o", str(out)).exit_code == 0
    table = pq.read_table(out)
    assert table.num_rows == 40
    assert max(table.column("value").to_pylist()) == 5019

    to_stdout = cli("export", "pti-virtual-jalsa", "--format", "csv")
    assert to_stdout.exit_code == 0 and to_stdout.output.count("\n") == 41
