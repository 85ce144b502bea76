"""Any CSV, JSONL or Parquet file of posts, through a column mapping that says which of the
file's columns holds each field of the post record. Required: id, author_id, created_at and
text; the platform comes from a column or is given for the whole file. Hashtags, mentions and
URLs are taken from their columns when mapped (a list, or words separated by spaces or
commas), otherwise from the text."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from jalsa.column_map import parse_column_map
from jalsa.errors import UserError
from jalsa.platforms.post_record import COLUMNS, PLATFORMS
from jalsa.platforms.sources import (
    NOT_BLANK,
    NOT_JSON,
    RAW_CHARS,
    Source,
    parse,
    post_problem,
    post_text,
    quote,
    tags_in,
)

REQUIRED = ("id", "author_id", "created_at", "text")
LISTS = ("hashtags", "mentions", "urls")
COUNTS = ("like_count", "repost_count", "reply_count", "quote_count", "view_count")
TIMES = ("created_at", "author_created_at")
MAPPABLE = tuple(c for c in COLUMNS if c != "source")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str]  # post field -> the file's column
    platform: str | None = None  # for the whole file, when no column holds it

    @classmethod
    def parse(cls, pairs: Iterable[str], platform: str | None) -> Mapping:
        columns = parse_column_map(pairs, MAPPABLE, kind="post field")
        for field in REQUIRED:
            columns.setdefault(field, field)
        if platform is not None and platform not in PLATFORMS:
            raise UserError(f"--platform must be one of {', '.join(PLATFORMS)}")
        if "platform" not in columns and platform is None:
            raise UserError("say which platform the posts are from: --platform x (or map it)")
        return cls(columns, platform)

    def check(self, available: Iterable[str]) -> None:
        """Refuse a mapping that names columns the file does not have."""
        have = set(available)
        missing = sorted({c for c in self.columns.values() if c not in have})
        if missing:
            raise UserError(
                f"the file has no column {', '.join(map(repr, missing))}; its columns are "
                f"{', '.join(sorted(have))}. Map fields with --map FIELD=COLUMN."
            )


class MappedSource(Source):
    """SQL over a relation `src` that has `line_no` and the file's columns."""

    name: ClassVar[str] = "mapped"
    platform: ClassVar[str] = ""
    description: ClassVar[str] = "CSV, JSONL or Parquet with a column mapping"

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping

    def _col(self, field: str) -> str | None:
        column = self.mapping.columns.get(field)
        return f"src.{ident(column)}" if column else None

    def _text(self, field: str) -> str:
        col = self._col(field)
        return f"CAST({col} AS VARCHAR)" if col else "NULL"

    def select(self, source: str, types: dict[str, str]) -> str:
        """`types`: the DuckDB type of each of the file's columns (lists are kept as lists)."""
        m = self.mapping
        platform = self._text("platform") if "platform" in m.columns else quote(m.platform or "")
        text = self._text("text")
        found = dict(zip(LISTS, tags_in(text), strict=True))
        out: dict[str, str] = {"platform": f"lower({platform})"}
        for field in COLUMNS:
            if field == "platform":
                continue
            col = self._col(field)
            if field == "source":
                out[field] = quote(source)
            elif field in LISTS:
                native = types.get(m.columns.get(field, ""), "").endswith("[]")
                out[field] = (
                    found[field]
                    if col is None
                    else f"CAST({col} AS VARCHAR[])"
                    if native
                    else _as_list(col)
                )
            elif field in TIMES:
                out[field] = f"TRY_CAST({col} AS TIMESTAMPTZ)" if col else "NULL::TIMESTAMPTZ"
            elif field in COUNTS:
                out[field] = f"TRY_CAST({col} AS BIGINT)" if col else "NULL::BIGINT"
            else:
                out[field] = self._text(field)
        problem = post_problem(
            (f"{out['platform']} NOT IN ({', '.join(map(quote, PLATFORMS))})", "unknown platform"),
            (f"{out['id']} IS NULL OR {out['id']} = ''", "no id"),
            (f"{out['author_id']} IS NULL OR {out['author_id']} = ''", "no author_id"),
            (f"{out['created_at']} IS NULL", "created_at missing or not a time"),
            text=out["text"],
        )
        out["text"] = post_text(out["text"])
        fields = ",\n    ".join(f"{expr} AS {name}" for name, expr in out.items())
        return f"""
SELECT {fields},
    line_no, 1 AS item, {problem} AS problem,
    CASE WHEN ({problem}) IS NOT NULL THEN left(to_json(src)::VARCHAR, {RAW_CHARS}) END AS raw
FROM src"""

    def jsonl_sql(self, source: str, tolerant: bool) -> str:
        """For JSONL: each line's mapped members, as text, then the same select."""
        shape = {column: "VARCHAR" for column in self.mapping.columns.values()}
        columns = ", ".join(f"d.{ident(c)} AS {ident(c)}" for c in shape)
        return f"""
WITH docs AS MATERIALIZED (
    SELECT line_no, line, {parse(shape, tolerant)} AS d FROM lines WHERE {NOT_BLANK}
),
src AS (SELECT line_no, {columns} FROM docs WHERE d IS NOT NULL)
{self.select(source, {})}
UNION ALL BY NAME
SELECT line_no, 0 AS item, {quote(NOT_JSON)} AS problem, left(line, {RAW_CHARS}) AS raw
FROM docs WHERE d IS NULL"""


def _as_list(col: str) -> str:
    """Words of a text column (a JSON array, or words split by spaces, commas or
    semicolons), lower case, without a leading '#' or '@'."""
    value = f"CAST({col} AS VARCHAR)"
    words = (
        f"CASE WHEN starts_with(ltrim({value}), '[') "
        f"THEN TRY(json_transform({value}, '[\"VARCHAR\"]')) "
        rf"ELSE regexp_split_to_array({value}, '[\s,;]+') END"
    )
    return (
        f"list_transform(list_filter({words}, lambda w: w <> ''), lambda w: lower(ltrim(w, '#@')))"
    )
