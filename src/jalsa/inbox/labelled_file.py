"""Read a labelled file for `jalsa inbox evaluate --data FILE`: texts and whether each is
abusive, from CSV, TSV (with a header, or RUHSOLD's header-less `<text>\\t<label>` split on the
LAST tab) or JSONL.

Which column holds what is mapped like `jalsa conversation ingest --map FIELD=COLUMN` (fields
text, label and the optional language), or found by common names. Which label values mean
abusive is said with `--abusive VALUES`; words such as abusive/offensive/hate/toxic/yes and
normal/clean/none/neither/no are understood without it, but numbers never are: datasets number
their classes differently (RUHSOLD task 1 has 0 = abusive; Davidson 0, 1 = hate, offensive and
2 = neither), so a file with numeric labels is refused until `--abusive` says which.

Hostile input is bounded: a line longer than `MAX_LINE_BYTES`, a row that is not UTF-8, not
JSON, or lacks a field is quarantined with its line number (counted and shown, never silently
dropped); more than `MAX_ROWS` rows, an empty file, a binary file, an unknown format or a
missing column is one `UserError`.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jalsa.column_map import parse_column_map
from jalsa.errors import UserError
from jalsa.limits import SNIFF_BYTES, Checked, MiB, binary_kind, mib

MAX_LINE_BYTES = 1 * MiB  # one row; a comment is a few hundred bytes, a long post a few KB
MAX_ROWS = 2_000_000
KEEP_QUARANTINED = 20  # kept with their line numbers; all are counted

FIELDS = ("text", "label", "language")
# Column names found without --map, in order of preference (compared case-insensitively).
NAMES: dict[str, tuple[str, ...]] = {
    "text": ("text", "tweet", "comment_text", "comment", "content", "body", "message", "sentence"),
    "label": ("label", "class", "toxic", "labels", "is_abusive", "abusive", "offensive", "hate"),
    "language": ("language", "lang"),
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ABUSIVE_WORDS = _words(
    "abusive abuse offensive offense hate hateful hate_speech toxic yes true profane profanity "
    "sexism sexist harassment insult obscene threat racism racist"
)
NORMAL_WORDS = _words(
    "normal clean none neither no false not_abusive non_abusive not_offensive non_offensive "
    "not_toxic non_toxic ok acceptable neutral"
)
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
EXAMPLE = "e.g. --abusive 0 for RUHSOLD task 1, --abusive 0,1 for Davidson's classes"


@dataclass(frozen=True)
class Quarantined:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line:,}: {self.reason}"


@dataclass
class LabelledFile:
    """A labelled file as read: texts, 1 = abusive labels, the optional language column, and
    what was quarantined."""

    path: Path
    format: str
    columns: dict[str, str]  # field -> the file's column ("text"/"label" when header-less)
    texts: list[str]
    labels: list[int]
    languages: list[str] | None
    label_counts: dict[str, int]  # the file's label values (lower-cased) and how many
    abusive_values: list[str]
    quarantined: list[Quarantined] = field(default_factory=list)  # the first KEEP_QUARANTINED
    quarantined_count: int = 0

    def summary(self, shown: int = 5) -> str:
        """One line for the report: rows read, what means abusive, quarantined rows."""
        values = ", ".join(self.abusive_values)
        line = (
            f"{self.path.name} ({self.format}): {len(self.texts):,} labelled texts, "
            f"{sum(self.labels):,} abusive (label {values})"
        )
        if self.quarantined_count:
            first = "; ".join(str(q) for q in self.quarantined[:shown])
            line += f"; {self.quarantined_count:,} rows quarantined (first: {first})"
        return line

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format,
            "columns": self.columns,
            "rows": len(self.texts),
            "abusive": sum(self.labels),
            "label_counts": self.label_counts,
            "abusive_values": self.abusive_values,
            "quarantined": self.quarantined_count,
            "quarantined_first": [{"line": q.line, "reason": q.reason} for q in self.quarantined],
        }


def parse_map(pairs: Iterable[str]) -> dict[str, str]:
    """--map FIELD=COLUMN pairs as {field: column}."""
    return parse_column_map(pairs, FIELDS, example="text=comment_text")


class _Reader:
    """Physical lines of a file, bounded in length and decoded, with their line numbers; what
    cannot be a row goes to the quarantine."""

    def __init__(self, path: Path, max_line_bytes: int) -> None:
        self.path = path
        self.limit = max_line_bytes
        self.quarantined: list[Quarantined] = []
        self.quarantined_count = 0

    def quarantine(self, line: int, reason: str) -> None:
        self.quarantined_count += 1
        if len(self.quarantined) < KEEP_QUARANTINED:
            self.quarantined.append(Quarantined(line, reason))

    def lines(self) -> Iterator[tuple[int, str]]:
        try:
            with Checked(self.path) as f:
                kind = binary_kind(f.read(SNIFF_BYTES))
                if kind is not None and not kind.startswith("not UTF-8"):  # that: per line
                    raise UserError(
                        f"{self.path} is {kind}, not a labelled text file (CSV, TSV or JSONL "
                        "in UTF-8)"
                    )
                f.seek(0)
                yield from self._decoded(f)
        except OSError as exc:
            raise UserError(f"{self.path}: cannot be read ({exc.strerror or exc})") from None

    def _decoded(self, f: Checked) -> Iterator[tuple[int, str]]:
        number = 0
        while raw := f.readline(self.limit + 1):
            number += 1
            if len(raw) > self.limit and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest, a bounded read at a time
                    raw = f.readline(MiB)
                size = mib(self.limit) if self.limit % MiB == 0 else f"{self.limit:,} bytes"
                self.quarantine(number, f"longer than {size}")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.quarantine(number, f"not UTF-8 (byte {exc.start} is {raw[exc.start]:#04x})")
                continue
            if number == 1:
                text = text.removeprefix("\ufeff")
            if "\x00" in text:
                self.quarantine(number, "has a NUL byte")
                continue
            yield number, text.rstrip("\r\n")


def _format(path: Path, first: str) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] in FORMATS:
        return FORMATS[suffixes[-1]]
    if suffixes and suffixes[-1] == ".json" and first.lstrip().startswith("["):
        raise UserError(f"{path} is a JSON array: write one JSON object per line (JSONL)")
    if first.lstrip().startswith("{"):
        return "jsonl"
    if "\t" in first:
        return "tsv"
    if "," in first:
        return "csv"
    raise UserError(
        f"{path}: cannot tell its format (CSV, TSV or JSONL) from its name or its first line; "
        "name it .csv, .tsv or .jsonl"
    )


def _find(header: Sequence[str], name: str) -> str | None:
    if name in header:
        return name
    return next((h for h in header if h.strip().casefold() == name.casefold()), None)


def _columns(header: Sequence[str], mapping: dict[str, str], path: Path) -> dict[str, str]:
    """Field -> column of the file: the mapped ones (which must exist), else common names."""
    have = ", ".join(repr(h) for h in header) or "none"
    columns: dict[str, str] = {}
    for name in FIELDS:
        if name in mapping:
            found = _find(header, mapping[name])
            if found is None:
                raise UserError(
                    f"{path} has no column {mapping[name]!r} (--map {name}={mapping[name]}); "
                    f"its columns are {have}"
                )
            columns[name] = found
            continue
        for candidate in NAMES[name]:
            found = _find(header, candidate)
            if found is not None and found not in columns.values():
                columns[name] = found
                break
        else:
            if name != "language":
                raise UserError(
                    f"{path}: cannot tell which column holds the {name}; its columns are "
                    f"{have}. Say it with --map {name}=COLUMN"
                )
    if columns["text"] == columns["label"]:
        raise UserError(f"{path}: the text and the label cannot be the same column")
    return columns


def _is_header(fields: Sequence[str], mapping: dict[str, str]) -> bool:
    known = {n for names in NAMES.values() for n in names} | {
        c.casefold() for c in mapping.values()
    }
    return any(f.strip().casefold() in known for f in fields)


def _label(value: Any) -> str | None:
    """A label value as text (lower-cased; 1.0 as 1, True as true), None if empty."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip().casefold()
    try:
        number = float(text)
    except ValueError:
        return "_".join(text.replace("-", " ").split()) or None
    return str(int(number)) if number.is_integer() else text


class _Rows:
    """The rows of a file as (line number, {field: value}), per format."""

    def __init__(self, reader: _Reader, mapping: dict[str, str], max_rows: int) -> None:
        self.reader = reader
        self.mapping = mapping
        self.max_rows = max_rows
        self.format = ""
        self.columns: dict[str, str] = {}
        self.rows: list[tuple[int, dict[str, Any]]] = []

    def add(self, line: int, row: dict[str, Any]) -> None:
        if len(self.rows) >= self.max_rows:
            raise UserError(
                f"{self.reader.path} has more than {self.max_rows:,} rows; evaluate a sample "
                "of it or split it into smaller files"
            )
        self.rows.append((line, row))

    def read(self) -> None:
        lines = ((n, text) for n, text in self.reader.lines() if text.strip())
        first = next(lines, None)
        if first is None:
            problem = (
                f" ({self.reader.quarantined_count:,} unreadable lines, first: "
                f"{self.reader.quarantined[0]})"
                if self.reader.quarantined_count
                else ""
            )
            raise UserError(f"{self.reader.path} is empty: no labelled rows{problem}")
        self.format = _format(self.reader.path, first[1])
        if self.format == "jsonl":
            self._jsonl(first, lines)
        elif self.format == "tsv" and not _is_header(first[1].split("\t"), self.mapping):
            self._headerless(first, lines)
        else:
            self._delimited(first, lines, "\t" if self.format == "tsv" else ",")

    def _take(self, line: int, values: dict[str, Any]) -> None:
        """A row whose fields are found: checked, quarantined or kept."""
        text, label = values.get("text"), _label(values.get("label"))
        if not isinstance(text, str):
            self.reader.quarantine(line, "the text is not a string")
        elif not text.strip():
            self.reader.quarantine(line, "empty text")
        elif label is None:
            self.reader.quarantine(line, "no label")
        else:
            lang = values.get("language")
            self.add(line, {"text": text, "label": label, "language": str(lang or "").strip()})

    def _headerless(self, first: tuple[int, str], lines: Iterator[tuple[int, str]]) -> None:
        if set(self.mapping.values()) - {"text", "label"}:
            raise UserError(
                f"{self.reader.path} has no header row (RUHSOLD's <text>TAB<label> layout): "
                "its columns are text and label, so --map does not apply"
            )
        self.format = "tsv, no header, label after the last tab"
        self.columns = {"text": "text", "label": "label"}
        for number, line in _chain(first, lines):
            text, sep, label = line.rpartition("\t")
            if not sep:
                self.reader.quarantine(number, "no tab before a label")
                continue
            self._take(number, {"text": text, "label": label})

    def _delimited(
        self, first: tuple[int, str], lines: Iterator[tuple[int, str]], delimiter: str
    ) -> None:
        numbers: list[int] = []

        def physical() -> Iterator[str]:
            for number, line in _chain(first, lines):
                numbers.append(number)
                yield line + "\n"

        if delimiter == "\t":  # quotes are text in TSV (RUHSOLD's tweets are full of them)
            reader = csv.reader(physical(), delimiter="\t", quoting=csv.QUOTE_NONE)
        else:
            reader = csv.reader(physical())
        header = next(reader)
        self.columns = _columns(header, self.mapping, self.reader.path)
        index = {name: header.index(column) for name, column in self.columns.items()}
        width = len(header)
        while True:
            before = reader.line_num  # the record starts at the next physical line
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                self.reader.quarantine(numbers[min(before, len(numbers) - 1)], f"not a row ({exc})")
                continue
            start = numbers[before] if before < len(numbers) else numbers[-1]
            if not row:
                continue
            if len(row) > width or len(row) <= max(index.values()):
                self.reader.quarantine(start, f"{len(row)} fields, the header has {width}")
                continue
            self._take(start, {name: row[i] for name, i in index.items()})

    def _jsonl(self, first: tuple[int, str], lines: Iterator[tuple[int, str]]) -> None:
        for number, line in _chain(first, lines):
            try:
                value = json.loads(line)
            except (ValueError, RecursionError) as exc:
                if number == first[0] and self.reader.path.suffix.lower() == ".json":
                    raise UserError(
                        f"{self.reader.path}: its first line is not a JSON object; a labelled "
                        "file is JSON Lines (one object per line), not one JSON document"
                    ) from None
                self.reader.quarantine(number, f"not JSON ({str(exc)[:80]})")
                continue
            if not isinstance(value, dict):
                self.reader.quarantine(number, "not a JSON object")
                continue
            if not self.columns:
                self.columns = _columns(list(value), self.mapping, self.reader.path)
            missing = [c for c in (self.columns["text"], self.columns["label"]) if c not in value]
            if missing:
                self.reader.quarantine(number, f"no field {missing[0]!r}")
                continue
            self._take(number, {name: value.get(column) for name, column in self.columns.items()})


def _chain(first: tuple[int, str], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest


def _abusive_values(counts: Counter[str], abusive: str | None, path: Path) -> set[str]:
    found = ", ".join(f"{value!r}: {n:,}" for value, n in sorted(counts.items()))
    if abusive is not None:
        wanted = {v for v in map(_label, abusive.split(",")) if v is not None}
        if not wanted:
            raise UserError(f"--abusive {abusive!r}: give label values, {EXAMPLE}")
        missing = sorted(v for v in wanted if v not in counts)
        if missing:
            raise UserError(
                f"--abusive: {', '.join(map(repr, missing))} is not a label of {path}; its "
                f"labels are {found}"
            )
        return wanted
    numeric = [v for v in counts if v.lstrip("-").replace(".", "", 1).isdigit()]
    if numeric:
        raise UserError(
            f"the labels of {path} are numbers ({found}), and datasets number their classes "
            f"differently: say which values mean abusive with --abusive ({EXAMPLE})"
        )
    unknown = sorted(v for v in counts if v not in ABUSIVE_WORDS | NORMAL_WORDS)
    if unknown:
        raise UserError(
            f"{path}: the labels {', '.join(map(repr, unknown))} are neither abusive nor normal "
            f"words jalsa knows (its labels: {found}); say which values mean abusive with "
            "--abusive VALUES (every other value is then normal)"
        )
    return {v for v in counts if v in ABUSIVE_WORDS}


def read_labelled(
    path: Path,
    mapping: Sequence[str] | dict[str, str] = (),
    abusive: str | None = None,
    *,
    max_rows: int = MAX_ROWS,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> LabelledFile:
    """Read a labelled file: texts and 1 = abusive labels (see the module's docstring)."""
    if not path.exists():
        raise UserError(f"{path} does not exist")
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a labelled file")
    columns = mapping if isinstance(mapping, dict) else parse_map(mapping)
    reader = _Reader(path, max_line_bytes)
    rows = _Rows(reader, columns, max_rows)
    rows.read()
    if not rows.rows:
        first = f" (first: {reader.quarantined[0]})" if reader.quarantined else ""
        raise UserError(
            f"{path} has no usable labelled rows: {reader.quarantined_count:,} quarantined{first}"
        )
    counts = Counter(row["label"] for _, row in rows.rows)
    chosen = _abusive_values(counts, abusive, path)
    has_language = "language" in rows.columns
    return LabelledFile(
        path=path,
        format=rows.format,
        columns=rows.columns,
        texts=[row["text"] for _, row in rows.rows],
        labels=[int(row["label"] in chosen) for _, row in rows.rows],
        languages=[row["language"] or "unknown" for _, row in rows.rows] if has_language else None,
        label_counts=dict(sorted(counts.items())),
        abusive_values=sorted(chosen),
        quarantined=reader.quarantined,
        quarantined_count=reader.quarantined_count,
    )
