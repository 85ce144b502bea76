"""Writing CSV that is safe to open in a spreadsheet: every CSV jalsa exports goes through
`writer` or `DictWriter` here (see decision 21).

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets (`=HYPERLINK(...)` in a commenter's name becomes a live
link, `=cmd|...` a command). Such a cell is written with a `'` before it, as OWASP recommends:
the spreadsheet then shows the text as it was. Numbers are left alone, whether they are
numbers or text that reads as one ("-5", "+923001234567", "1e3"), and so are cells of other
types. Lone surrogates (text that came from JSON `\\ud800` escapes) become U+FFFD, so that a
cell can always be written as UTF-8.

`unneutralize` is the other way, for files jalsa reads back (a supporters rejects file)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_SURROGATE = re.compile("[\ud800-\udfff]")


def safe_cell(value: Any) -> Any:
    """`value` as it may be written to a CSV cell (only text cells change)."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_PREFIXES) and not _NUMBER.fullmatch(value):
        value = "'" + value
    return _SURROGATE.sub("\ufffd", value)


def unneutralize(value: str) -> str:
    """A cell read back from a file `safe_cell` wrote: without the `'` it added."""
    if value[:1] == "'" and value[1:2] and value[1:2] in FORMULA_PREFIXES:
        return value[1:]
    return value


class _Writer:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def writerow(self, row: Iterable[Any]) -> Any:
        return self.inner.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(f: Any, *args: Any, **kwargs: Any) -> _Writer:
    """`csv.writer` whose cells go through `safe_cell`."""
    return _Writer(csv.writer(f, *args, **kwargs))


class DictWriter(csv.DictWriter):
    """`csv.DictWriter` whose cells go through `safe_cell`."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({k: safe_cell(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for row in rowdicts:
            self.writerow(row)
