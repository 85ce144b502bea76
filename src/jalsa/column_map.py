"""`--map FIELD=COLUMN` options: which column of a user's file holds which field.

One parser for every command that reads a file with its own column names (`jalsa conversation
ingest`, `jalsa inbox evaluate`), so the syntax and its error messages are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

from jalsa.errors import UserError


def parse_column_map(
    pairs: Iterable[str], fields: Iterable[str], *, kind: str = "field", example: str = "text=body"
) -> dict[str, str]:
    """`FIELD=COLUMN` pairs as {field: column}; a malformed pair or an unknown field is a
    UserError that says how to write it and which fields there are."""
    known = list(fields)
    columns: dict[str, str] = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not field or not column:
            raise UserError(f"--map {pair!r}: write it as FIELD=COLUMN, e.g. {example}")
        if field not in known:
            raise UserError(
                f"--map {pair!r}: {field!r} is not a {kind}; fields: {', '.join(known)}"
            )
        columns[field] = column
    return columns
