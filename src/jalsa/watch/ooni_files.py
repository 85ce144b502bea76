"""Reading OONI files: one JSON measurement, JSONL with one per line (the S3 buckets, often
gzipped), or API answers wrapping them. Bounded (decision 21): a file is decompressed in
chunks and refused as soon as it passes `MAX_DOCUMENT_BYTES` (a gzip bomb of newlines costs
that much at most, not its decompressed size), and a document nested deeper than
`MAX_JSON_DEPTH` is a problem with a clear reason, not a RecursionError."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jalsa.errors import UserError
from jalsa.limits import MAX_DOCUMENT_BYTES, MAX_JSON_DEPTH, json_depth, read_bounded

Raw = dict[str, Any]
TOO_DEEP = f"nested more than {MAX_JSON_DEPTH} levels deep (OONI measurements nest about 8)"


class OoniFormatError(ValueError):
    """The file is not OONI measurements at all; the message says what was found instead."""


@dataclass(frozen=True)
class Problem:
    """A measurement that was skipped, and where it is in the file."""

    path: str
    line: int | None  # the line of a JSONL file; None for a whole-file JSON
    reason: str
    whole_file: bool = False  # the file could not be read at all

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Record:
    """One raw OONI measurement and where it came from."""

    path: str
    line: int | None
    data: Raw


def _text(path: Path, limit: int) -> str:
    try:
        raw = read_bounded(path, limit, "OONI file")
    except UserError as exc:
        raise OoniFormatError(str(exc)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OoniFormatError(
            f"{path}: not a text file; expected OONI measurements as JSON or JSONL"
        ) from exc


class _TooDeep(ValueError):
    pass


def _loads(text: str) -> Any:
    """JSON, refused past MAX_JSON_DEPTH (ValueError) instead of a RecursionError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise _TooDeep(TOO_DEEP) from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise _TooDeep(TOO_DEEP)
    return value


def _unwrap(item: Any) -> Iterator[Any]:
    """The measurements inside an API answer, or the item itself."""
    if isinstance(item, dict) and isinstance(item.get("results"), list):
        yield from item["results"]
    elif isinstance(item, dict) and isinstance(item.get("raw_measurement"), str):
        try:
            yield _loads(item["raw_measurement"])
        except json.JSONDecodeError as exc:
            raise _TooDeep(f"raw_measurement is not valid JSON ({exc.msg})") from None
    elif isinstance(item, list):
        yield from item
    else:
        yield item


API = "https://api.ooni.io/api/v1"


def is_listing_row(item: Any) -> bool:
    """A row of OONI's measurement list (/api/v1/measurements): metadata, no test_keys."""
    return (
        isinstance(item, dict)
        and "test_keys" not in item
        and ("measurement_url" in item or "measurement_uid" in item)
    )


def fetch_hint(uid: Any) -> str:
    uid = str(uid or "UID")[:80]
    return f"{API}/raw_measurement?measurement_uid={uid}"


def listing_message(whole: Any) -> str | None:
    """What to say when `whole` is an API listing rather than measurements; else None."""
    rows = whole.get("results") if isinstance(whole, dict) else None
    if not isinstance(rows, list) or not rows or not all(is_listing_row(r) for r in rows):
        return None
    return (
        f"an OONI API listing of {len(rows):,} measurement(s) (/api/v1/measurements: metadata "
        "such as measurement_uid, input and anomaly, without test_keys), not the measurements; "
        "fetch each one and import those, e.g. "
        f"{fetch_hint(rows[0].get('measurement_uid'))} (its measurement_url gives the same)"
    )


def read_raw(path: str | Path, limit: int | None = None) -> Iterator[Record | Problem]:
    """Each measurement in the file, or a Problem naming the line that could not be read.
    Raises OoniFormatError when the file is not JSON/JSONL at all."""
    path = Path(path)
    text = _text(path, limit or MAX_DOCUMENT_BYTES)
    start = text.lstrip()[:1]
    if text.lstrip().startswith(("//", "/*")):
        raise OoniFormatError(
            f"{path}: JSON with comments (// or /* */, a .jsonc file) is not OONI's format; "
            "OONI writes plain JSON or JSONL: remove the comments or use the file OONI gave"
        )
    if start not in ("{", "["):
        raise OoniFormatError(
            f"{path}: does not look like OONI measurements (expected JSON or JSONL, one "
            f"measurement per line; the file starts with {text.lstrip()[:20]!r})"
        )
    try:
        whole = _loads(text)
    except (json.JSONDecodeError, _TooDeep):
        whole = None  # JSONL, or a document too deep: each line on its own
    if whole is not None:
        listing = listing_message(whole)
        if listing:
            raise OoniFormatError(f"{path}: {listing}")
        try:
            items = list(_unwrap(whole))
        except _TooDeep as exc:
            yield Problem(str(path), None, str(exc))
            return
        for item in items:
            yield Record(str(path), None, item)
        return
    read_one = False
    # only \n ends a line: splitlines() also splits at form feeds and U+2028 inside a line
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items = list(_unwrap(_loads(line)))
        except _TooDeep as exc:
            read_one = True
            yield Problem(str(path), number, str(exc))
            continue
        except json.JSONDecodeError as exc:
            why = f"not valid JSON ({exc.msg} at column {exc.colno})"
            if not read_one:  # the first line already fails: another format, say it once
                raise OoniFormatError(
                    f"{path}:{number}: {why}; expected OONI measurements as JSON or JSONL"
                ) from None
            yield Problem(str(path), number, why)
            continue
        read_one = True
        for item in items:
            yield Record(str(path), number, item)
