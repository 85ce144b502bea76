"""Bounds on hostile input, shared by every parser (decision 21): how long a line or a
document may be, how deep JSON may nest, and what a file that is not text at all is.

A parser reads in bounded chunks and refuses (or quarantines) past a limit, so that a 2 MB
gzip of one 2 GB line costs a few tens of MB, not the 2 GB; the message names the limit and
how to raise it."""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from jalsa.errors import UserError

MiB = 1 << 20
MAX_LINE_BYTES = 16 * MiB  # one JSON line (an API page, a stream line); DuckDB's own default
MAX_DOCUMENT_BYTES = 256 * MiB  # a whole JSON document or file read at once, decompressed
MAX_JSON_DEPTH = 64  # real API pages and OONI measurements nest fewer than 12 levels
SNIFF_BYTES = 8192

# Magic numbers of the binary files most often given by mistake.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip file (or an Excel workbook)"),
    (b"\x1f\x8b", "gzip-compressed data (name the file .gz)"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-zip archive"),
    (b"\x7fELF", "a program (ELF)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xff\xfe", "UTF-16 text (save it as UTF-8)"),
    (b"\xfe\xff", "UTF-16 text (save it as UTF-8)"),
)


def mib(n: int) -> str:
    return f"{n / MiB:g} MiB"


def binary_kind(head: bytes) -> str | None:
    """What the first bytes of a file say it is, when that is not text: "a PNG image",
    "binary data (NUL bytes)", ...; None for what may be UTF-8 text."""
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if head[4:8] in (b"ftyp", b"moov") or head[:4] == b"RIFF":
        return "a video, audio or image file"
    if b"\x00" in head:
        return "binary data (it has NUL bytes)"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte {exc.start} is {head[exc.start]:#04x})"
    return None


class Checked:
    """A binary file (gzip-decompressed when its name ends in .gz) whose reads turn a
    truncated or damaged gzip stream into one UserError naming the file and the byte, instead
    of an EOFError (which the CLI framework prints as only "Aborted.")."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw = path.open("rb")
        self.file: BinaryIO = (
            gzip.GzipFile(fileobj=self.raw, mode="rb")  # type: ignore[assignment]
            if path.suffix == ".gz"
            else self.raw
        )

    def _damaged(self, exc: BaseException) -> UserError:
        size = self.path.stat().st_size
        done = self.file.tell() if self.file is not self.raw else 0
        if isinstance(exc, EOFError):
            what = f"truncated: the compressed data ends at byte {size:,} before its end"
        else:
            what = f"damaged gzip data ({exc}) before byte {self.raw.tell():,} of {size:,}"
        return UserError(
            f"{self.path}: {what}, after {done:,} bytes of text; was the download or copy "
            "cut short? (gzip -t checks a file)"
        )

    def read(self, size: int = -1) -> bytes:
        try:
            return self.file.read(size)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise self._damaged(exc) from None

    def readline(self, size: int = -1) -> bytes:
        try:
            return self.file.readline(size)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise self._damaged(exc) from None

    def seek(self, offset: int) -> int:
        return self.file.seek(offset)

    def close(self) -> None:
        self.file.close()
        self.raw.close()

    def __enter__(self) -> Checked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_bounded(path: Path, limit: int = MAX_DOCUMENT_BYTES, what: str = "file") -> bytes:
    """The whole file (decompressed if gzip, by its first bytes), refused with a UserError
    as soon as it passes `limit` bytes: the decompressed size is never trusted."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with raw:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        chunks = _gunzip(path, raw) if compressed else iter(lambda: raw.read(MiB), b"")
        out, size = [], 0
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise UserError(
                    f"{path}: the {what} is larger than {mib(limit)}"
                    f"{' decompressed' if compressed else ''}; split it into smaller files"
                )
            out.append(chunk)
    return b"".join(out)


def _gunzip(path: Path, raw: BinaryIO) -> Iterator[bytes]:
    """Decompressed chunks of at most 1 MiB each, whatever the compression ratio; gzip
    members one after the other (concatenated .gz files) are one stream."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending, fresh = b"", True
    while True:
        data = inflate.unconsumed_tail or pending or raw.read(64 * 1024)
        pending = b""
        if not data:
            if fresh:
                return
            raise UserError(
                f"{path}: a truncated gzip file: the compressed data ends at byte "
                f"{raw.tell():,} before its end; was the download cut short?"
            )
        try:
            chunk = inflate.decompress(data, MiB)
        except zlib.error as exc:
            raise UserError(f"{path}: damaged gzip data ({exc})") from None
        fresh = False
        if chunk:
            yield chunk
        if inflate.eof:
            pending, fresh = inflate.unused_data, True
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep parsed JSON nests (0 for a scalar), counted without recursion and stopping
    past `limit` (then limit + 1)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        depth += 1
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in item if isinstance(child, dict | list))
    return deepest
