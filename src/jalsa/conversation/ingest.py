"""Ingestion: files of posts (X API JSONL, collectors' raw logs, CSV / JSONL / Parquet with a
column mapping, our own Parquet) into an event's dataset. Every line either becomes a post,
is a duplicate of one already taken, or goes to the quarantine file with its line number and
the reason; nothing is dropped silently and nothing is taken twice.

DuckDB does the parsing and normalizing (one SQL definition per source format), on large
blocks of lines read without a Python object per line; see `lines.py`."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from jalsa.conversation.dataset import PART_OPTIONS, PostDataset
from jalsa.conversation.lines import Piece, count_lines, open_binary, read_ahead, read_blocks
from jalsa.conversation.sniff import DATA_KINDS, array_message, data_kind, describe, pretty_document
from jalsa.conversation.sources import LINE_SOURCES
from jalsa.conversation.sources.mapped import MappedSource, Mapping, ident
from jalsa.errors import UserError
from jalsa.limits import MAX_LINE_BYTES, SNIFF_BYTES, MiB, binary_kind, mib
from jalsa.platforms.post_record import COLUMNS, duckdb_columns
from jalsa.platforms.sources import RAW_CHARS, LineSource

FORMATS = ("auto", *LINE_SOURCES, "posts", "csv", "jsonl", "parquet")
PARQUET_MAGIC = b"PAR1"

Progress = Callable[[int], None]  # bytes done since the last call


@dataclass
class FileResult:
    path: str
    format: str
    bytes: int = 0
    lines: int = 0
    posts: int = 0  # records that passed the checks (before removing duplicates)
    quarantined: int = 0


@dataclass
class IngestSummary:
    files: list[FileResult] = field(default_factory=list)
    accepted: int = 0  # new posts written to the dataset
    duplicates: int = 0  # posts already in the dataset or repeated in the input
    quarantined: int = 0
    seconds: float = 0.0
    part: str | None = None
    quarantine_file: str | None = None

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    @property
    def posts(self) -> int:
        return sum(f.posts for f in self.files)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": [f.__dict__ for f in self.files],
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "part": self.part,
            "quarantine_file": self.quarantine_file,
        }


def connect(folder: Path | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up the way all conversation work expects: UTC, in memory,
    spilling to `folder` when memory runs short."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {threads or os.cpu_count() or 1}")
    con.execute("SET preserve_insertion_order = false")
    if folder is not None:
        con.execute(f"SET temp_directory = '{folder / 'spill'}'")
    return con


def ingest(
    dataset: PostDataset,
    paths: Sequence[Path | Piece],
    fmt: str = "auto",
    mapping: Mapping | None = None,
    progress: Progress | None = None,
    max_line: int = MAX_LINE_BYTES,
) -> IngestSummary:
    """Ingest `paths` (files, or pieces of line files) into `dataset` as one new part. Raises
    UserError for input that cannot be read at all (missing, empty or binary file, truncated
    gzip, unknown format); bad lines, and lines longer than `max_line` bytes, are
    quarantined instead."""
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
    pieces = [p if isinstance(p, Piece) else Piece(p) for p in paths]
    for piece in pieces:
        if not piece.path.is_file():
            raise UserError(f"{piece.path}: no such file")
    plan = [
        (piece, piece.format or choose_format(piece.path, fmt, mapping, max_line))
        for piece in pieces
    ]
    started = perf_counter()
    summary = IngestSummary()
    with dataset.locked(), dataset.staging() as folder:
        con = connect(folder)
        try:
            con.execute(
                f"CREATE TABLE staged ({duckdb_columns()}, file INTEGER, line_no BIGINT, "
                "item INTEGER, problem VARCHAR, raw VARCHAR)"
            )
            for number, (piece, chosen) in enumerate(plan):
                result = FileResult(str(piece.path), chosen)
                _stage_file(con, number, piece, chosen, mapping, result, progress, max_line)
                summary.files.append(result)
            _commit(con, dataset, folder, summary)
        finally:
            con.close()
    summary.seconds = perf_counter() - started
    dataset.record({"at": _now(), **{k: v for k, v in summary.as_dict().items() if k != "seconds"}})
    return summary


def choose_format(
    path: Path, fmt: str, mapping: Mapping | None, max_line: int = MAX_LINE_BYTES
) -> str:
    """The format to read `path` as: the one asked for, checked against what the file
    looks like, or the one it looks like. An empty file, a binary one (an image, an archive)
    and a truncated gzip file are refused with a UserError saying which."""
    with open_binary(path) as f:
        head = f.read(SNIFF_BYTES)
        first = head.lstrip()
        # the first line that is not blank, read in bounded chunks up to `max_line`
        while b"\n" not in first and len(first) <= max_line and (more := f.read(MiB)):
            first = (first + more).lstrip()
    first = first.split(b"\n", 1)[0]
    doc: Any = _BROKEN
    if head[:4] == PARQUET_MAGIC:
        looks = "parquet"
    elif (kind := binary_kind(head)) and first[:1] not in (b"{", b"["):
        raise UserError(f"{path}: this is {kind}, not posts (JSON lines, CSV or Parquet)")
    elif not first:
        raise UserError(
            f"{path}: the file is empty{' (only blank lines)' if head else ''}; no posts in it"
        )
    elif len(first) > max_line and fmt == "auto":
        raise UserError(
            f"{path}: its first line is longer than {mib(max_line)}; name the format with "
            "--format (longer lines are quarantined), or raise the limit with --max-line-mb"
        )
    elif first[:1] in (b"{", b"["):
        looks, doc = _json_kind(first)
        if doc is _BROKEN and (pretty := pretty_document(head, len(head) < SNIFF_BYTES)):
            raise UserError(f"{path}: {pretty}")
        if isinstance(doc, list) and fmt != "jsonl":
            raise UserError(f"{path}: {array_message(doc)}")
        if (kind := data_kind(doc)) and fmt in ("auto", *LINE_SOURCES):
            raise UserError(f"{path}: these are {DATA_KINDS[kind]}")
    else:
        looks = "csv"
    if fmt in ("x", "x-v1") and looks in ("x", "x-v1"):
        return looks  # X in either API version; each file is read in its own
    if fmt == "auto":
        if looks == "parquet":
            return "parquet" if mapping else "posts"
        if looks == "json":
            if mapping:
                return "jsonl"
            raise UserError(
                f"{path}: {_what(doc)}; if it holds posts, name the format (--format "
                f"{'|'.join(LINE_SOURCES)}) or map columns with --format jsonl --map FIELD=COLUMN"
            )
        if looks == "csv" and mapping is None:
            raise UserError(f"{path}: looks like CSV; map its columns: --map text=COLUMN ...")
        return looks
    kinds = {"posts": "parquet", "parquet": "parquet", "csv": "csv"}
    expected = kinds.get(fmt, "json")
    actual = "json" if looks in (*LINE_SOURCES, "json") else looks
    if actual != expected:
        raise UserError(
            f"{path}: this looks like a {actual.upper()} file, not {fmt}; "
            "check the file or give --format auto"
        )
    if fmt in ("csv", "jsonl", "parquet") and mapping is None:
        raise UserError(f"--format {fmt} needs a column mapping: --map FIELD=COLUMN")
    return fmt


_BROKEN: Any = object()  # a first line that is not JSON on its own


def _json_kind(line: bytes) -> tuple[str, Any]:
    """Which line source the first line of a JSON-lines file is in ("json" if none), and the
    line parsed (_BROKEN if it does not parse)."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "json", _BROKEN
    return next((name for name, s in LINE_SOURCES.items() if s.looks_like(doc)), "json"), doc


def _what(doc: Any) -> str:
    if doc is _BROKEN:
        return "its first line is not valid JSON (a damaged JSON lines file?)"
    return describe(doc)


def _stage_file(
    con: duckdb.DuckDBPyConnection,
    number: int,
    piece: Piece,
    fmt: str,
    mapping: Mapping | None,
    result: FileResult,
    progress: Progress | None,
    max_line: int = MAX_LINE_BYTES,
) -> None:
    if fmt in LINE_SOURCES or fmt == "jsonl":
        _stage_lines(con, number, piece, fmt, mapping, result, progress, max_line)
    else:
        _stage_table(con, number, piece.path, fmt, mapping, result)
        if progress:
            progress(result.bytes)
    result.posts, result.quarantined = con.execute(
        "SELECT count(*) FILTER (problem IS NULL), count(*) FILTER (problem IS NOT NULL) "
        "FROM staged WHERE file = ?",
        [number],
    ).fetchall()[0]


def _stage_lines(
    con: duckdb.DuckDBPyConnection,
    number: int,
    piece: Piece,
    fmt: str,
    mapping: Mapping | None,
    result: FileResult,
    progress: Progress | None,
    max_line: int = MAX_LINE_BYTES,
) -> None:
    path = piece.path

    def sql(tolerant: bool) -> str:
        if fmt == "jsonl":
            assert mapping is not None
            return MappedSource(mapping).jsonl_sql(path.name, tolerant)
        source: type[LineSource] = LINE_SOURCES[fmt]
        return source.sql(path.name, tolerant)

    insert = f"INSERT INTO staged BY NAME SELECT *, {number} AS file FROM ({{}})"
    item_path = LINE_SOURCES[fmt].item_path() if fmt in LINE_SOURCES else "'$'"
    if fmt in LINE_SOURCES and piece == Piece(path) and path.suffix != ".gz":
        whole = LINE_SOURCES[fmt].file_sql(path.name, str(path))
        if whole and _stage_whole_file(con, number, insert.format(whole), result):
            if progress:
                progress(result.bytes)
            return
    fast, tolerant = sql(False), sql(True)
    for block in read_ahead(read_blocks(piece, max_line=max_line)):
        con.register("lines", block.table())
        try:
            try:
                con.execute(insert.format(fast))
            except duckdb.Error:  # a malformed line somewhere: find each one
                con.execute(insert.format(tolerant))
            _keep_original(con, number, block.first, block.first + len(block.lines), item_path)
        finally:
            con.unregister("lines")
        if block.bad:
            con.executemany(
                "INSERT INTO staged (file, line_no, item, problem, raw) VALUES (?, ?, 0, ?, ?)",
                [
                    (number, n, why, raw[:RAW_CHARS].decode("utf-8", "replace"))
                    for n, why, raw in block.bad
                ],
            )
        result.bytes += block.nbytes
        result.lines += len(block.lines)
        if progress:
            progress(block.nbytes)


def _keep_original(
    con: duckdb.DuckDBPyConnection, number: int, first: int, end: int, item_path: str
) -> None:
    """Quarantined posts of the block (lines `first` to `end` - 1) keep their part of the
    original line (`item_path`, the source's JSON path of item `item`), not what was parsed
    of it (a record of another format parses to all NULLs)."""
    con.execute(
        f"UPDATE staged SET raw = left(coalesce(json_extract(l.line, {item_path})::VARCHAR, "
        f"l.line), {RAW_CHARS}) FROM lines l WHERE staged.file = {number} "
        f"AND staged.line_no >= {first} AND staged.line_no < {end} AND staged.item > 0 "
        "AND staged.problem IS NOT NULL AND staged.line_no = l.line_no"
    )


def _stage_whole_file(
    con: duckdb.DuckDBPyConnection, number: int, insert: str, result: FileResult
) -> bool:
    """Stage a whole file by the format's `file_sql` (DuckDB's own reader, in parallel).
    False, with nothing staged, when a line is malformed or cannot be made posts of, or when
    a post repeats within the file (without line numbers, which copy is the first is not
    known): the caller then reads the file line by line, which quarantines each such line
    and keeps the first copy."""
    with ThreadPoolExecutor(1) as pool:
        lines = pool.submit(count_lines, Path(result.path))
        try:
            con.execute(insert)
        except duckdb.Error:
            return False
        problems, repeats = con.execute(
            "SELECT count(*) FILTER (problem IS NOT NULL), "
            "count(*) FILTER (problem IS NULL) - count(DISTINCT (platform, id)) "
            "FROM staged WHERE file = ?",
            [number],
        ).fetchall()[0]
        if problems or repeats:
            con.execute("DELETE FROM staged WHERE file = ?", [number])
            return False
        result.lines = lines.result()
    result.bytes = os.path.getsize(result.path)
    return True


def _stage_table(
    con: duckdb.DuckDBPyConnection,
    number: int,
    path: Path,
    fmt: str,
    mapping: Mapping | None,
    result: FileResult,
) -> None:
    result.bytes = path.stat().st_size
    name = str(path).replace("'", "''")
    if fmt == "posts":
        _stage_posts(con, number, path, name, result)
        return
    assert mapping is not None
    if fmt == "csv":
        reader = (
            f"read_csv('{name}', header = true, all_varchar = true, store_rejects = true, "
            "rejects_scan = 'reject_scans', rejects_table = 'reject_errors')"
        )
    else:
        reader = f"read_parquet('{name}')"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except duckdb.Error as exc:
        raise UserError(f"{path}: cannot be read as {fmt.upper()}: {_first_line(exc)}") from None
    types = {str(row[0]): str(row[1]) for row in described}
    mapping.check(types)
    select = MappedSource(mapping).select(path.name, types)
    # CSV: line 1 is the header; a row's line is its number plus one when no field spans
    # lines (rejected rows carry DuckDB's exact line).
    first = 2 if fmt == "csv" else 1
    source = f"(SELECT *, row_number() OVER () - 1 + {first} AS line_no FROM {reader}) src"
    try:
        con.execute(
            f"INSERT INTO staged BY NAME SELECT *, {number} AS file FROM "
            f"({select.replace('FROM src', 'FROM ' + source)})"
        )
    except duckdb.Error as exc:
        raise UserError(f"{path}: cannot be read as {fmt.upper()}: {_first_line(exc)}") from None
    if fmt == "csv":
        con.execute(
            "INSERT INTO staged (file, line_no, item, problem, raw) "
            f"SELECT {number}, line, 0, 'CSV: ' || error_type || ': ' || error_message, "
            f"left(csv_line, {RAW_CHARS}) FROM reject_errors"
        )
        con.execute("DELETE FROM reject_errors")
    result.lines = _count(con, f"SELECT count(*) FROM {reader}")


def _stage_posts(
    con: duckdb.DuckDBPyConnection, number: int, path: Path, name: str, result: FileResult
) -> None:
    """Our own Parquet (the dataset's schema, as `jalsa sim posts` writes it)."""
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise UserError(f"{path}: not a readable Parquet file: {exc}") from None
    missing = [c for c in COLUMNS if c not in schema.names]
    if missing:
        raise UserError(
            f"{path}: not a jalsa posts file (no column {', '.join(missing)}); to read "
            "another Parquet file map its columns: --format parquet --map FIELD=COLUMN"
        )
    columns = ", ".join(ident(c) for c in COLUMNS)
    con.execute(
        f"INSERT INTO staged BY NAME SELECT {columns}, {number} AS file, "
        "row_number() OVER () AS line_no, 1 AS item, "
        "CASE WHEN id IS NULL OR author_id IS NULL OR created_at IS NULL OR text IS NULL "
        "OR platform IS NULL THEN 'a required field is empty' END AS problem, "
        f"NULL AS raw FROM read_parquet('{name}')"
    )
    result.lines = pq.ParquetFile(path).metadata.num_rows


def _commit(
    con: duckdb.DuckDBPyConnection, dataset: PostDataset, folder: Path, summary: IngestSummary
) -> None:
    """Write the new posts (first occurrence of each (platform, id), none already in the
    dataset) as one part, and the quarantine file."""
    quarantined = _count(con, "SELECT count(*) FROM staged WHERE problem IS NOT NULL")
    if quarantined:
        target = dataset.quarantine_file()
        files = ", ".join(f"({i}, '{_sql_str(f.path)}')" for i, f in enumerate(summary.files))
        con.execute(
            f"COPY (SELECT f.path AS file, line_no AS line, item, problem AS reason, raw "
            f"FROM staged JOIN (VALUES {files}) f(n, path) ON f.n = staged.file "
            f"WHERE problem IS NOT NULL ORDER BY file, line_no, item) "
            f"TO '{_sql_str(str(target))}' (FORMAT json)"
        )
        summary.quarantine_file = str(target)
    summary.quarantined = quarantined
    parts = dataset.parts()
    existing = (
        "SELECT platform, id FROM read_parquet(["
        + ", ".join(f"'{_sql_str(str(p))}'" for p in parts)
        + "])"
        if parts
        else "SELECT NULL::VARCHAR AS platform, NULL::VARCHAR AS id WHERE false"
    )
    columns = ", ".join(ident(c) for c in COLUMNS)
    fresh = f"SELECT {columns} FROM staged WHERE problem IS NULL"
    if _has_repeats(con, existing):
        fresh = f"""
            SELECT {columns} FROM staged s
            WHERE problem IS NULL AND NOT EXISTS (
                SELECT 1 FROM ({existing}) e WHERE e.platform = s.platform AND e.id = s.id
            )
            QUALIFY row_number() OVER (PARTITION BY platform, id ORDER BY file, line_no, item) = 1
        """
    final, temporary = dataset.new_part(folder)
    summary.accepted = _count(
        con,
        f"COPY ({fresh}) TO '{_sql_str(str(temporary))}' ({PART_OPTIONS})",
    )
    summary.duplicates = summary.posts - summary.accepted
    if summary.accepted:
        dataset.publish(temporary, final)
        summary.part = final.name
    else:
        temporary.unlink(missing_ok=True)


def _has_repeats(con: duckdb.DuckDBPyConnection, existing: str) -> bool:
    """Whether any staged post repeats another or one already in the dataset (most files
    repeat nothing; they skip the costly first-of-each-id pass)."""
    return bool(
        _count(
            con,
            f"""SELECT (SELECT count(*) - count(DISTINCT (platform, id)) FROM staged
                        WHERE problem IS NULL)
                 + (SELECT count(*) FROM staged s JOIN ({existing}) e
                    ON e.platform = s.platform AND e.id = s.id WHERE s.problem IS NULL)""",
        )
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
