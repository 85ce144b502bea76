"""What every source format provides: SQL (DuckDB) that turns its input into post records,
one row per post, plus a `problem` for anything that cannot become a post, so the caller
can quarantine it with its line number."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any, ClassVar

from jalsa.platforms.post_record import COLUMNS

# Columns every source's SQL yields: the post record, where it came from, what is wrong.
EXTRA = ("line_no", "item", "problem", "raw")
OUTPUT = (*COLUMNS, *EXTRA)
RAW_CHARS = 2_000  # how much of a bad line or item the quarantine keeps
NOT_JSON = "not valid JSON (a truncated or damaged line)"
# The one rule on empty posts, for every source (decision 25): a post may have no text when
# it carries media (a photo, a sticker, a GIF, a Super Sticker or a paid Super Chat); with
# neither it is quarantined, never counted as an empty voice.
NO_CONTENT = "a post with no text and no media"
# Blank lines (stream keep-alives) are no posts. strlen is the byte length, known without a
# scan; trimming every long line would cost as much as parsing it.
NOT_BLANK = "(strlen(line) > 64 OR trim(line, E' \\t\\r\\n') <> '')"


def structure(shape: dict[str, Any] | list[Any]) -> str:
    """A `json_transform` structure as an SQL string literal."""
    return quote(json.dumps(shape, separators=(",", ":")))


def column_type(shape: dict[str, Any] | list[Any] | str) -> str:
    """The DuckDB type a `json_transform` structure gives, for DuckDB's own JSON reader."""
    if isinstance(shape, str):
        return shape
    if isinstance(shape, list):
        return column_type(shape[0]) + "[]"
    return "STRUCT(" + ", ".join(f'"{k}" {column_type(v)}' for k, v in shape.items()) + ")"


def read_json_docs(path: str, shape: dict[str, Any], read: Collection[str] = ()) -> str:
    """Every line of a whole file parsed by DuckDB's reader into `d` by `shape` (the same
    struct `parse` gives). Fails on the first malformed line. Only the top-level fields in
    `read` (default: all) are read; the others are NULL. Lines are not numbered: numbering
    them in file order would hold the whole file in memory (a third more time)."""
    read = read or shape.keys()
    columns = ", ".join(f"{quote(k)}: {quote(column_type(shape[k]))}" for k in read)
    fields = ", ".join(
        f'"{k}" := "{k}"' if k in read else f'"{k}" := NULL::{column_type(v)}'
        for k, v in shape.items()
    )
    return f"""
SELECT NULL::BIGINT AS line_no, struct_pack({fields}) AS d
FROM read_json({quote(path)}, format = 'newline_delimited', columns = {{{columns}}})"""


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parse(shape: dict[str, Any] | list[Any], tolerant: bool, what: str = "line") -> str:
    """Parse `what` by `shape`; on the tolerant path a malformed document gives NULL instead
    of failing the whole query."""
    call = f"json_transform({what}, {structure(shape)})"
    return f"TRY({call})" if tolerant else call


def first_problem(*checks: tuple[str, str]) -> str:
    """An SQL CASE naming the first failed check, NULL when all pass."""
    whens = " ".join(f"WHEN {cond} THEN {quote(reason)}" for cond, reason in checks)
    return f"CASE {whens} END"


def post_problem(*checks: tuple[str, str], text: str, media: str = "false") -> str:
    """The first failed check of a post, then the rule every source shares: a post needs
    text or media. `text` and `media` are SQL (a string, a boolean)."""
    empty = f"coalesce(trim({text}), '') = '' AND NOT coalesce({media}, false)"
    return first_problem(*checks, (empty, NO_CONTENT))


def post_text(text: str) -> str:
    """The text column of a post: empty, not NULL, for a post that has media only."""
    return f"coalesce({text}, '')"


class Source:
    name: ClassVar[str]
    platform: ClassVar[str]
    description: ClassVar[str]


class LineSource(Source):
    """A format of one JSON document per line (API response pages, stream lines). Its SQL
    reads the relation `lines(line_no, line)` and yields the OUTPUT columns; `tolerant` is
    False for the fast path, which fails on the first malformed line, and True for the path
    that reports each one."""

    @classmethod
    def sql(cls, source: str, tolerant: bool) -> str:
        raise NotImplementedError

    @classmethod
    def looks_like(cls, doc: Any) -> bool:
        """Whether one parsed line of a file is in this format (to choose a format)."""
        raise NotImplementedError

    @classmethod
    def item_path(cls) -> str:
        """SQL of the JSON path, in `line`, of post number `item` of the line: the quarantine
        keeps that part of the original line, not what jalsa parsed of it."""
        return "'$'"

    @classmethod
    def file_sql(cls, source: str, path: str) -> str | None:
        """A faster path for a whole file, if the format has one: DuckDB's own reader parses
        every line; it fails on a malformed line, and a line it cannot make posts of comes
        out as a problem, and the caller then reads the file line by line instead."""
        return None


def tags_in(text: str) -> tuple[str, str, str]:
    """SQL for the hashtags, mentions and URLs written in a text column, for platforms that
    do not give them as entities (lower case, without '#' or '@')."""
    return (
        rf"list_transform(regexp_extract_all({text}, '#([\pL\pN_]+)', 1), lambda h: lower(h))",
        rf"list_transform(regexp_extract_all({text}, '@([\pL\pN_.]+)', 1), lambda m: lower(m))",
        rf"regexp_extract_all({text}, 'https?://[^\s]+')",
    )


def line_problem_rows(condition: str, reason: str, doc: str = "d") -> str:
    """Rows for whole lines that cannot hold posts: malformed JSON (on the tolerant path)
    or a document of another kind."""
    return f"""
SELECT line_no, 0 AS item,
    CASE WHEN {doc} IS NULL THEN {quote(NOT_JSON)} ELSE {quote(reason)} END AS problem,
    left(line, {RAW_CHARS}) AS raw
FROM docs WHERE {doc} IS NULL OR ({condition})"""
