"""Reading a supporter list: refusing a file that is not UTF-8 text before importing any of
it, its header (which known column is where, `Columns`), then its records one by one, each
with the line it starts on, in bounded memory.

Hostile or damaged files do not swallow rows or lose text silently (decision 21):

- A quoted value may span lines (a name written on two lines), but not more than
  `MAX_RECORD_LINES`, and the lines after the first may not hold the separator: either means
  a quote was opened and never closed. Then only the line with the quote is rejected
  ("unbalanced quote starting at line N") and the lines after it are read again as rows.
- A NUL character (a damaged or binary file) rejects its row: the store would cut the
  value there.
- A line longer than `MAX_LINE_CHARS` is rejected without being read whole.
- A cell written by our CSV exports with a `'` before a formula prefix is read without it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from jalsa.csvsafe import unneutralize
from jalsa.errors import UserError

Progress = Callable[[int], None]  # bytes read since the last call
MAX_RECORD_LINES = 5  # a quoted value across more lines is a quote never closed
MAX_LINE_CHARS = 1 << 20  # a supporter's row is well under 1 KB
Record = tuple[int, list[str], str | None]  # (line, cells, why it is rejected or None)

COLUMNS = (
    "phone",
    "name",
    "city",
    "constituency",
    "language",
    "tags",
    "timezone",
    "consent",
    "consent_source",
    "consent_at",
    "opt_out",
)
ALIASES = {
    "mobile": "phone",
    "phone_number": "phone",
    "mobile_number": "phone",
    "number": "phone",
    "msisdn": "phone",
    "lang": "language",
    "tag": "tags",
    "opted_out": "opt_out",
}
REJECT_COLUMNS = ("rejected_line", "rejected_reason")  # a rejects file imports again as is


@dataclass(frozen=True)
class Columns:
    """Where each known column is in a row."""

    index: dict[str, int]
    header: list[str]
    ignored: list[str]

    @classmethod
    def of(cls, path: Path, header: list[str]) -> Columns:
        index: dict[str, int] = {}
        ignored: list[str] = []
        for i, raw in enumerate(header):
            name = re.sub(r"[\s-]+", "_", raw.strip().lower())
            name = ALIASES.get(name, name)
            if name in COLUMNS:
                index.setdefault(name, i)
            elif name not in REJECT_COLUMNS:
                ignored.append(raw.strip())
        if "phone" not in index:
            raise UserError(
                f"{path} has no phone column (its first line is: {', '.join(header)}); the "
                "first line must name the columns, e.g. phone,name,city,consent_at,"
                "consent_source"
            )
        return cls(index, header, ignored)

    def cell(self, cells: list[str], name: str) -> str:
        i = self.index.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""


def check_text(path: Path) -> None:
    """Refuse a file that is not UTF-8 text before importing any of it, naming the first bad
    line; reading it in blocks costs a fraction of the import and keeps it all-or-nothing."""
    try:
        f = path.open("rb")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    with f:
        _refuse_binary(path, f.read(4))
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        line, text = 1, False
        while block := f.read(1 << 20):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                line += block[: max(0, exc.start - pending)].count(b"\n")
                raise _not_utf8(path, line) from None
            line += block.count(b"\n")
            text = text or bool(block.lstrip(codecs.BOM_UTF8 + b" \t\r\n"))
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _not_utf8(path, line) from None
    if not text:
        raise UserError(
            f"{path} is empty: a supporter list needs a header line naming the columns "
            "(at least phone) and a line per supporter"
        )


def _refuse_binary(path: Path, head: bytes) -> None:
    if head.startswith(b"PK\x03\x04"):
        raise UserError(
            f"{path} is an Excel workbook or another zip file, not CSV: in Excel use "
            'File > Save As > "CSV UTF-8", then import that file'
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UserError(
            f'{path} is UTF-16 text ("Unicode text" in Excel): save it as "CSV UTF-8" '
            "and import that file"
        )


def _not_utf8(path: Path, line: int) -> UserError:
    return UserError(
        f"{path} is not UTF-8 text (line {line} has bytes that are not UTF-8): save it as "
        '"CSV UTF-8" (in Excel: File > Save As) and import it again; nothing was imported'
    )


class _Counting(io.RawIOBase):
    """A binary file that reports each read's size: the progress bar is over bytes."""

    def __init__(self, raw: io.BufferedReader, progress: Progress) -> None:
        self.raw, self.progress = raw, progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        if n:
            self.progress(n)
        return n or 0


def open_text(raw: io.BufferedReader, progress: Progress | None) -> IO[str]:
    binary = raw if progress is None else io.BufferedReader(_Counting(raw, progress))
    # utf-8-sig: Excel starts its "CSV UTF-8" with a byte order mark.
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


class _TooLong(Exception):
    """The record being read takes more lines than a value may span."""


class _LongLine(Exception):
    """A line longer than MAX_LINE_CHARS (read to its end, not kept)."""


class _Lines:
    """The file's physical lines for csv.reader, keeping the lines of the record being read so
    that a bad record can be taken apart and its lines after the first read again."""

    def __init__(self, rest: IO[str]) -> None:
        self.rest = rest
        self.again: list[str] = []  # lines to give again, the next one last
        self.taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if len(self.taken) >= MAX_RECORD_LINES:
            raise _TooLong
        if self.again:
            line = self.again.pop()
        else:
            line = self.rest.readline(MAX_LINE_CHARS)
            if not line:
                raise StopIteration
            if len(line) >= MAX_LINE_CHARS and not line.endswith("\n"):
                while (more := self.rest.readline(MAX_LINE_CHARS)) and not more.endswith("\n"):
                    pass
                self.taken.append(line[:200])
                raise _LongLine
        self.taken.append(line)
        return line


def records(path: Path, text: IO[str]) -> tuple[list[str], Iterator[Record]]:
    """The header and the records after it, each with the line it starts on (quoted cells
    can span lines) and, for a record that cannot be a row, why; blank lines are skipped.
    The separator is the header line's."""
    skipped = 0
    while not (first := text.readline(MAX_LINE_CHARS)).strip():
        if not first:
            raise UserError(f"{path} is empty: it needs a header line naming the columns")
        skipped += 1
    if len(first) >= MAX_LINE_CHARS:
        raise UserError(f"{path}: the first line is longer than {MAX_LINE_CHARS:,} characters")
    counts = {sep: first.count(sep) for sep in (",", ";", "\t")}
    delimiter = max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as exc:
        raise UserError(f"{path}: cannot read the header line ({exc})") from None
    lines = _Lines(text)
    return header, _read(lines, delimiter, skipped + 1)


def _read(lines: _Lines, delimiter: str, done: int) -> Iterator[Record]:
    """`done`: the lines read before the first record."""
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        lines.taken = []
        start = done + 1
        problem = None
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _LongLine:
            done += len(lines.taken)
            yield start, [lines.taken[-1]], f"a line longer than {MAX_LINE_CHARS:,} characters"
            reader = csv.reader(lines, delimiter=delimiter)
            continue
        except (csv.Error, _TooLong) as exc:
            problem = f"unbalanced quote starting at line {start}" + (
                f" ({exc})" if isinstance(exc, csv.Error) else ""
            )
        else:
            if len(lines.taken) > 1 and _swallowed(cells, delimiter):
                problem = f"unbalanced quote starting at line {start}"
        if problem:  # reject the line with the quote, read the lines after it again
            first, rest = lines.taken[0], lines.taken[1:]
            lines.again.extend(reversed(rest))
            done += 1
            yield start, _cells_of(first, delimiter), problem
            reader = csv.reader(lines, delimiter=delimiter)
            continue
        done += len(lines.taken)
        if not any(c.strip() for c in cells):
            continue
        nul = next((i for i, c in enumerate(cells) if "\0" in c), None)
        if nul is not None:
            yield (
                start,
                cells,
                (
                    f"a NUL character (\\0) in cell {nul + 1}: a damaged file? the value would "
                    "be cut there"
                ),
            )
            continue
        yield start, [unneutralize(c) for c in cells], None


def _swallowed(cells: list[str], delimiter: str) -> bool:
    """Whether a value across lines holds what looks like rows: the separator after its
    first line break."""
    for cell in cells:
        brk = min((i for i in (cell.find("\n"), cell.find("\r")) if i >= 0), default=-1)
        if brk >= 0 and delimiter in cell[brk:]:
            return True
    return False


def _cells_of(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return [line.rstrip("\r\n")]
