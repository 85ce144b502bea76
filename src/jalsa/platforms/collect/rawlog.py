"""The raw log: every API response page a collector receives, one JSON document per line, as
the evidence of what the platform said; and beside it a small state file with the collector's
cursor, so a restarted collector goes on where it stopped.

    <dataset_dir>/raw/<source>.jsonl         one page per line, appended, fsync'ed per page
    <dataset_dir>/raw/<source>.state.json    {"version", "source", "log_bytes", "lines",
                                              "updated_at", "cursor": {...}}

Crash safety. A page is appended and fsync'ed first, then the state (written to a temporary file
and renamed over the old one) records the cursor after it and the log's length. A crash between
the two leaves a complete line the state does not know about: `open` hands such lines back so
the collector can re-apply them to its cursor instead of fetching the page again (which would
write it twice). A crash in the middle of a write leaves a torn last line without its newline:
it is left as it is (ingestion quarantines it), the log is given the missing newline so the next
page starts a line of its own, and the page is fetched again because the cursor never moved.

One collector at a time: the log is locked while open, so two processes collecting the same
source cannot interleave pages or fetch them twice.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jalsa.errors import UserError

try:  # POSIX advisory locks; elsewhere the lock is skipped
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

STATE_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class RawLogBusy(UserError):
    """Another process already writes this raw log."""


def source_name(kind: str, ident: str | None = None) -> str:
    """`kind` or `kind-ident`, reduced to characters safe in a file name on every system
    (ids are letters, digits, `-` and `_`; anything else becomes `_`)."""
    name = kind if ident is None else f"{kind}-{ident}"
    cleaned = _UNSAFE.sub("_", name.strip()).strip("._")
    if not cleaned:
        raise ValueError(f"no usable source name in {name!r}")
    return cleaned


def raw_dir(dataset_dir: Path) -> Path:
    return Path(dataset_dir) / "raw"


def dump_line(page: Any) -> bytes:
    """A page as one compact JSON line (UTF-8, non-ASCII kept, newline included)."""
    text = json.dumps(page, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


class RawLog:
    """Append-only JSON-lines log of one source plus its cursor. Not thread-safe: one collector
    owns it; its methods block on disk, so async callers run them in a worker thread."""

    def __init__(self, directory: Path, source: str) -> None:
        self.directory = Path(directory)
        self.source = source
        self.path = self.directory / f"{source}.jsonl"
        self.state_path = self.directory / f"{source}.state.json"
        self.cursor: dict[str, Any] = {}
        self.lines = 0  # complete lines the state accounts for
        self.log_bytes = 0  # length of the log the state accounts for
        self._fd: int | None = None

    @classmethod
    def in_dataset(cls, dataset_dir: Path, source: str) -> RawLog:
        return cls(raw_dir(dataset_dir), source)

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def open(self, *, replay: bool = True) -> list[Any]:
        """Open (creating the directory and files), lock, read the state, and return the pages
        appended after the state was last saved (oldest first) for the collector to re-apply to
        its cursor. With `replay=False` they are accepted without being read (a stream has no
        cursor to rebuild). A torn last line is not returned: it was never complete."""
        if self._fd is not None:
            return []
        self.directory.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise RawLogBusy(
                        f"another collector is already writing {self.path}; stop it first "
                        "(one collector per source)"
                    ) from None
            if created:
                _fsync_dir(self.directory)
            self._fd = fd
        except BaseException:
            os.close(fd)
            raise
        self._read_state()
        size = os.fstat(fd).st_size
        if size < self.log_bytes:
            # The log was cut or replaced behind our back: trust what is there.
            self.log_bytes = size
        tail = self._read_tail(size) if replay else b""
        added = self._count_lines(size) if not replay else tail.count(b"\n")
        if size and not self._ends_with_newline(size):
            self._write(b"\n")  # close the torn line; the next page gets a line of its own
            added += 1
        self.lines += added
        pages = parse_pages(tail)
        self.log_bytes = os.fstat(fd).st_size
        return pages

    def append(self, page: Any, cursor: dict[str, Any] | None = None) -> None:
        """Append one page and make it durable, then save the cursor that follows it."""
        self.append_bytes(dump_line(page), cursor)

    def append_bytes(self, line: bytes, cursor: dict[str, Any] | None = None) -> None:
        """Append one line exactly as given (a stream line, possibly truncated: it is what
        arrived), adding the newline, then save the cursor. The line must not contain a
        newline itself."""
        if b"\n" in line.rstrip(b"\n"):
            raise ValueError("a raw log line cannot contain a newline")
        if not line.endswith(b"\n"):
            line += b"\n"
        self._write(line)
        self.lines += 1
        self.log_bytes += len(line)
        if cursor is not None:
            self.cursor = cursor
        self.save_state()

    def append_many(self, lines: list[bytes]) -> None:
        """Append several lines with one fsync (a fast stream); the state is saved by the
        caller when it wants (a stream's state holds counts only)."""
        data = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
        if data.count(b"\n") != len(lines):
            raise ValueError("a raw log line cannot contain a newline")
        self._write(data)
        self.lines += len(lines)
        self.log_bytes += len(data)

    def save_state(self, cursor: dict[str, Any] | None = None) -> None:
        """Write the state atomically (temporary file, fsync, rename, fsync the directory)."""
        if cursor is not None:
            self.cursor = cursor
        state = {
            "version": STATE_VERSION,
            "source": self.source,
            "log_bytes": self.log_bytes,
            "lines": self.lines,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "cursor": self.cursor,
        }
        write_json_atomic(self.state_path, state)

    def pages_after(self, offset: int) -> list[Any]:
        """The whole pages from byte `offset` to the end the state accounts for, oldest first
        (torn lines left out): what a reader that stopped at `offset` has not seen."""
        start = min(max(offset, 0), self.log_bytes)
        with open(self.path, "rb") as handle:
            handle.seek(start)
            return parse_pages(handle.read(self.log_bytes - start))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # also releases the lock
            self._fd = None

    def __enter__(self) -> RawLog:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --

    def _read_state(self) -> None:
        try:
            raw = self.state_path.read_bytes()
        except FileNotFoundError:
            self.cursor, self.lines, self.log_bytes = {}, 0, 0
            return
        try:
            state = json.loads(raw)
            if not isinstance(state, dict) or not isinstance(state.get("cursor"), dict):
                raise ValueError("no cursor")
            self.cursor = state["cursor"]
            self.lines = int(state.get("lines") or 0)
            self.log_bytes = int(state.get("log_bytes") or 0)
        except (ValueError, TypeError):
            raise UserError(
                f"{self.state_path} is damaged, so the collector cannot tell where it stopped; "
                "move it away to rebuild it from the raw log"
            ) from None

    def _read_tail(self, size: int) -> bytes:
        if size <= self.log_bytes:
            return b""
        with open(self.path, "rb") as handle:
            handle.seek(self.log_bytes)
            return handle.read(size - self.log_bytes)

    def _ends_with_newline(self, size: int) -> bool:
        with open(self.path, "rb") as handle:
            handle.seek(size - 1)
            return handle.read(1) == b"\n"

    def _count_lines(self, size: int) -> int:
        if size <= self.log_bytes:
            return 0
        count = 0
        with open(self.path, "rb") as handle:
            handle.seek(self.log_bytes)
            while chunk := handle.read(1 << 20):
                count += chunk.count(b"\n")
        return count

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise RuntimeError(f"raw log {self.path} is not open")
        _write_all(self._fd, data)
        os.fsync(self._fd)


def parse_pages(data: bytes) -> list[Any]:
    """The JSON pages of a stretch of log lines. The last piece lacks its newline when a write
    was cut; if it is whole JSON all the same (cut just before the newline), it is a page like
    the others; a torn line is left out (ingestion quarantines it; the page is fetched again)."""
    pages: list[Any] = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            pages.append(json.loads(line))
        except ValueError:
            continue
    return pages


def write_json_atomic(path: Path, value: Any) -> None:
    """Write a small JSON file so that a crash leaves the old one or the new one, never half:
    a temporary file, fsync, rename over the old one, fsync the directory."""
    tmp = path.with_name(path.name + ".tmp")
    data = json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - systems that cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
