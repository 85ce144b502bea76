"""Read a line-oriented file (JSONL, the raw logs collectors write) in large blocks, as Arrow
string arrays with their line numbers, without a Python object per line: the newline
positions are found with numpy and the block's bytes become the array's data buffer. Lines
that are not UTF-8 are taken out (replaced by empty lines) and reported with their numbers,
and so are lines longer than `max_line` bytes: such a line is read on in bounded chunks and
dropped as it is read (only its start is kept, for the quarantine), so memory stays bounded
whatever the file holds."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue

import numpy as np
import pyarrow as pa

from jalsa.limits import MAX_LINE_BYTES, Checked, mib

BLOCK_BYTES = 32 << 20
NOT_UTF8 = "not UTF-8 text (bytes that are not valid UTF-8)"
KEEP = 2_000  # bytes of a too-long line kept for the quarantine


def too_long(limit: int) -> str:
    return f"a line longer than {mib(limit)} (the limit: --max-line-mb); not read"


@dataclass
class LineBlock:
    first: int  # line number of the block's first line (1-based)
    lines: pa.Array  # large_string, each line with its trailing newline
    nbytes: int  # bytes of the file this block covers
    bad: list[tuple[int, str, bytes]] = field(default_factory=list)  # (line, reason, raw)

    def table(self) -> pa.Table:
        numbers = np.arange(self.first, self.first + len(self.lines), dtype=np.int64)
        return pa.table({"line_no": numbers, "line": self.lines})


def open_binary(path: Path) -> Checked:
    """The file's bytes, decompressed if it is named .gz; a truncated or damaged gzip file
    raises one UserError naming it."""
    return Checked(path)


@dataclass(frozen=True)
class Piece:
    """A part of a file: from byte `start` (where line `first_line` begins) to byte `end`
    (just after a newline), or to the end of the file. Raw logs are ingested piece by piece,
    keeping the line numbers of the whole log."""

    path: Path
    start: int = 0
    first_line: int = 1
    end: int | None = None
    format: str | None = None  # the source format, when the caller knows it


def count_lines(path: Path) -> int:
    """Lines in a plain file: its newlines, and one more if the last line has none."""
    lines, last = 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def read_blocks(
    source: Path | Piece, block_bytes: int | None = None, max_line: int = MAX_LINE_BYTES
) -> Iterator[LineBlock]:
    """The lines in blocks of about `block_bytes`; a last line without a newline is included.
    Line numbers count every line, blank ones too, as an editor shows them. A line longer
    than `max_line` bytes comes as an empty line reported in `bad`."""
    piece = source if isinstance(source, Piece) else Piece(source)
    block_bytes = max(block_bytes or BLOCK_BYTES, 1)
    first = piece.first_line
    rest = b""
    long: bytes | None = None  # the start of a line past `max_line`, being skipped
    skipped = 0  # bytes of that line
    left = None if piece.end is None else piece.end - piece.start
    with open_binary(piece.path) as f:
        if piece.start:
            f.seek(piece.start)
        while True:
            size = block_bytes if left is None else min(block_bytes, left)
            chunk = f.read(size) if size else b""
            if left is not None:
                left -= len(chunk)
            if long is not None:  # drop the long line up to its newline
                newline = chunk.find(b"\n")
                if chunk and newline < 0:
                    skipped += len(chunk)
                    continue
                skipped += newline + 1 if chunk else 0
                yield _long(first, long, skipped, max_line)
                first, long, skipped = first + 1, None, 0
                if not chunk:
                    return
                chunk = chunk[newline + 1 :]
                if not chunk:
                    continue
            data = rest + chunk
            if not chunk:
                if data:
                    yield _block(first, data + b"\n", len(data), max_line)
                return
            end = data.rfind(b"\n") + 1
            body, rest = data[:end], data[end:]
            if len(rest) > max_line:  # a line longer than allowed: skip to its end
                long, skipped, rest = rest[:KEEP], len(rest), b""
            if body:
                block = _block(first, body, len(body), max_line)
                first += len(block.lines)
                yield block


def _long(first: int, start: bytes, nbytes: int, max_line: int) -> LineBlock:
    lines = pa.array([""], pa.large_string())
    return LineBlock(first, lines, nbytes, [(first, too_long(max_line), start)])


def _block(first: int, body: bytes, nbytes: int, max_line: int = MAX_LINE_BYTES) -> LineBlock:
    ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10) + 1
    offsets = np.concatenate(([0], ends)).astype(np.int64)
    if (np.diff(offsets) > max_line + 1).any():
        return _repair(first, body, offsets, nbytes, max_line)
    lines = pa.Array.from_buffers(
        pa.large_string(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(body)]
    )
    try:
        lines.validate(full=True)
        return LineBlock(first, lines, nbytes)
    except pa.ArrowInvalid:
        return _repair(first, body, offsets, nbytes, max_line)


def _repair(first: int, body: bytes, offsets: np.ndarray, nbytes: int, max_line: int) -> LineBlock:
    """The slow path for a block with bytes that are not UTF-8 or a line that is too long:
    find the lines, blank them."""
    good: list[str] = []
    bad: list[tuple[int, str, bytes]] = []
    for i in range(len(offsets) - 1):
        raw = body[offsets[i] : offsets[i + 1]]
        if len(raw) > max_line + 1:
            good.append("")
            bad.append((first + i, too_long(max_line), raw[:KEEP]))
            continue
        try:
            good.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            good.append("")
            bad.append((first + i, NOT_UTF8, raw))
    return LineBlock(first, pa.array(good, pa.large_string()), nbytes, bad)


def read_ahead(blocks: Iterator[LineBlock], depth: int = 2) -> Iterator[LineBlock]:
    """The same blocks, read by a worker thread while the caller works on the previous ones
    (DuckDB releases the GIL, so reading and parsing overlap)."""
    queue: Queue[LineBlock | BaseException | None] = Queue(maxsize=depth)
    stopped = threading.Event()

    def produce() -> None:
        try:
            for block in blocks:
                if stopped.is_set():
                    return
                queue.put(block)
            queue.put(None)
        except BaseException as exc:  # handed to the caller, raised there
            queue.put(exc)

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while (item := queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:  # the caller stopped early: let the worker finish its put and see the flag
        stopped.set()
        while worker.is_alive():
            with contextlib.suppress(Empty):
                queue.get(timeout=0.1)
        worker.join()
