"""`jalsa ingest`, `jalsa trends` and `jalsa analyze` from the command line, bad input included."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from postkit import rally

from jalsa.platforms.post_record import POST_SCHEMA
from testkit import load_fixture

Cli = Callable[..., Any]


def make_event(cli: Cli) -> None:
    result = cli("event", "create", "Jalsa", "--starts", "2023-12-17 19:00", "--slug", "j")
    assert result.exit_code == 0, result.output


def test_ingest_twice_then_trends_and_analyze(cli: Cli, tmp_path: Path) -> None:
    make_event(cli)
    pages = [load_fixture("x", "search_page1.json"), load_fixture("x", "search_page2.json")]
    path = tmp_path / "x.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pages) + "{broken\n")
    tweets = sum(len(p["data"]) for p in pages)

    first = cli("ingest", "j", str(path))
    assert first.exit_code == 0, first.output
    assert f"{tweets} new posts, 0 already there or repeated, 1 quarantined" in first.output
    assert "quarantine: " in first.output
    again = cli("ingest", "j", str(path))
    assert f"0 new posts, {tweets} already there or repeated" in again.output

    generated = tmp_path / "rally.parquet"
    pq.write_table(pa.Table.from_pylist(rally(), schema=POST_SCHEMA), generated)
    assert cli("ingest", "j", str(generated)).exit_code == 0

    trends = cli("trends", "j")
    assert trends.exit_code == 0, trends.output
    assert "#shutdown" in trends.output and "19:20" in trends.output  # 14:20 UTC, Karachi +5
    as_json = cli("trends", "j", "--json")
    spikes = json.loads(as_json.output)["spikes"]
    assert any(s["tag"] == "shutdown" and s["top_accounts"] for s in spikes)

    out = tmp_path / "analysis.json"
    analysis = cli(
        "analyze",
        "j",
        "--voice",
        "Party=#pti,imran khan",
        "--out",
        str(out),
        "--memory-limit",
        "1GB",
    )
    assert analysis.exit_code == 0, analysis.output
    assert "share of voice Party: 100.0%" in analysis.output
    assert "signs of coordination" in analysis.output
    data = json.loads(out.read_text())
    assert data["results"]["overview"][0]["posts"] == tweets + len(rally())
    assert "posts per minute" not in data["definitions"]["overview"]
    assert data["x_coverage"] is None  # no X counts were collected for this event
    bad = cli("analyze", "j", "--memory-limit", "lots")
    assert bad.exit_code != 0 and "write e.g. 5GB" in bad.output
    assert "Traceback" not in bad.output


def test_bad_input_gets_one_clear_message(cli: Cli, tmp_path: Path) -> None:
    make_event(cli)
    garbage = tmp_path / "g.jsonl"
    garbage.write_text("{not json\n{also not\n")
    cases = [
        (("ingest", "nope", str(garbage)), "no event 'nope'"),
        (("ingest", "j", str(tmp_path / "missing.jsonl")), "no such file"),
        (("ingest", "j", str(garbage), "--format", "x"), "no posts found: all 2 lines"),
        (("ingest", "j", str(garbage), "--format", "yaml"), "unknown format 'yaml'"),
        (("ingest", "j", str(garbage), "--map", "text"), "write it as FIELD=COLUMN"),
        (("trends", "j"), "has no posts yet"),
        (("analyze", "j", "--engine", "excel"), "unknown engine 'excel'"),
        (("analyze", "j", "--voice", "nothing"), "write NAME=#hashtag,phrase"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_the_cli_says_what_the_file_is_and_exits_non_zero(cli: Cli, tmp_path: Path) -> None:
    make_event(cli)
    png = tmp_path / "photo.png"
    png.write_bytes(bytes.fromhex("89504e470d0a1a0a0000000d4948445200"))
    cut = tmp_path / "x.jsonl.gz"
    cut.write_bytes(gzip.compress(b'{"id": "1"}\n' * 500)[:30])
    for path, said in ((png, "PNG image"), (cut, "truncated")):
        result = cli("ingest", "j", str(path))
        assert result.exit_code == 2, result.output
        assert said in result.output and "Traceback" not in result.output
        assert "Aborted" not in result.output and "looks like CSV" not in result.output
