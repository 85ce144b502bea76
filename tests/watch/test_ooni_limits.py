"""Hostile OONI files: a gzip bomb of newlines is refused as soon as it passes the size limit,
deeply nested JSON is a problem with a clear reason (not a RecursionError), and a
raw_measurement that is not JSON is a problem too (decision 21)."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jalsa.limits import MAX_JSON_DEPTH
from jalsa.watch.ooni import OoniFormatError, Problem, read_ooni

SUCCESS = json.dumps(
    {
        "test_name": "web_connectivity",
        "input": "https://x.com/",
        "measurement_start_time": "2023-12-17 14:00:00",
        "probe_asn": "AS17557",
        "probe_cc": "PK",
        "test_keys": {"queries": [], "tcp_connect": [], "requests": [], "accessible": True},
    }
)


def newline_bomb(path: Path, megabytes: int) -> Path:
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as f:
        for _ in range(megabytes):
            f.write(deflate.compress(b"\n" * (1 << 20)))
        f.write(deflate.flush())
    return path


def test_a_gzip_bomb_is_refused_as_soon_as_it_passes_the_limit(tmp_path: Path) -> None:
    path = newline_bomb(tmp_path / "m.jsonl.gz", 96)
    tracemalloc.start()
    try:
        with pytest.raises(OoniFormatError, match="larger than 8 MiB decompressed"):
            list(read_ooni(path, limit=8 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20


def test_deep_nesting_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    nested = json.dumps({"test_name": "web_connectivity", "x": 1})
    for _ in range(MAX_JSON_DEPTH + 5):
        nested = '{"a": ' + nested + "}"
    path.write_text("\n".join([SUCCESS, deep, nested, SUCCESS]) + "\n")
    items = list(read_ooni(path))
    problems = [(i.line, i.reason) for i in items if isinstance(i, Problem)]
    assert [line for line, _ in problems] == [2, 3]
    assert all(f"nested more than {MAX_JSON_DEPTH} levels" in why for _, why in problems)
    assert len(items) == 4
    whole = tmp_path / "deep.json"
    whole.write_text(deep)
    [problem] = list(read_ooni(whole))
    assert isinstance(problem, Problem) and "nested more than" in problem.reason


def test_a_raw_measurement_that_is_not_json_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    path.write_text(json.dumps({"measurement_uid": "x", "raw_measurement": "{not json"}))
    [problem] = list(read_ooni(path))
    assert isinstance(problem, Problem) and "raw_measurement is not valid JSON" in problem.reason


def test_a_truncated_gzip_file_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl.gz"
    path.write_bytes(gzip.compress((SUCCESS + "\n").encode() * 50)[:60])
    with pytest.raises(OoniFormatError, match="truncated gzip file"):
        list(read_ooni(path))


def test_the_cli_refuses_with_one_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jalsa.cli import app
    from jalsa.limits import MiB
    from jalsa.watch import ooni_files

    monkeypatch.setattr(ooni_files, "MAX_DOCUMENT_BYTES", 4 * MiB)
    path = newline_bomb(tmp_path / "m.jsonl.gz", 16)
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 50_000 + "\n")
    for file, said in ((path, "larger than 4 MiB"), (deep, "nested more than")):
        result = CliRunner().invoke(app, ["watch", "ooni-compare", str(file)])
        assert said in result.output, result.output
        assert "Traceback" not in result.output and "RecursionError" not in result.output
        assert result.exit_code == 2  # nothing read
