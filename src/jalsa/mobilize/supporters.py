"""Supporters, their consent and the opt-out registry: recording an opt-out, whether a
supporter may be messaged for a purpose, finding a supporter by number, and segments (the
supporters a campaign goes to, filtered in the database). Importing lists is
`supporters_import.py`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Select, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from jalsa.errors import UserError
from jalsa.store.db import upsert
from jalsa.store.models import Consent, OptOut, Supporter
from jalsa.timeutil import utc_now

PURPOSES = ("reminders", "general")
LANGUAGES = {"ur": "ur", "urdu": "ur", "en": "en", "english": "en"}
SEGMENT_FIELDS = ("city", "constituency", "language", "tags")


class RowError(ValueError):
    """A value a supporter cannot have (an unknown language, ...): an imported row that has it
    is rejected, and the message is the reason written next to it."""


# -- the registry, consent, lookups --------------------------------------------------------


def opt_out(
    session: Session, phone: str, source: str, detail: str = "", at: datetime | None = None
) -> OptOut:
    """Put an E.164 number in the opt-out registry and return its entry. A number already
    there keeps its first entry: when and how someone first said stop is the record."""
    upsert(
        session,
        OptOut,
        [{"phone": phone, "at": at or utc_now(), "source": source, "detail": detail}],
        keys=["phone"],
    )
    entry = session.get(OptOut, phone, populate_existing=True)
    assert entry is not None
    return entry


def is_opted_out(session: Session, phone: str) -> bool:
    return session.get(OptOut, phone) is not None


def consented(session: Session, supporter_id: int, purpose: str) -> bool:
    """Whether we may message the supporter for `purpose`: consent recorded for it and the
    number not in the opt-out registry (which overrides any consent)."""
    check_purpose(purpose)
    query = (
        select(Consent.supporter_id)
        .join(Supporter, Supporter.id == Consent.supporter_id)
        .outerjoin(OptOut, OptOut.phone == Supporter.phone)
        .where(
            Consent.supporter_id == supporter_id,
            Consent.purpose == purpose,
            OptOut.phone.is_(None),
        )
    )
    return session.scalar(query) is not None


def find_supporter(session: Session, phone: str) -> Supporter | None:
    """The supporter with this E.164 number (see phones.normalize), if any."""
    return session.scalar(select(Supporter).where(Supporter.phone == phone))


def check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}: one of {', '.join(PURPOSES)}")


def language(text: str) -> str:
    try:
        return LANGUAGES[text.strip().lower()]
    except KeyError:
        raise RowError(f"unknown language {text!r}: ur or en") from None


# -- segments ---------------------------------------------------------------------------------


class any_tag(FunctionElement[bool]):  # an SQL function, named like one
    """`any_tag(Supporter.tags, "a", "b")`: the JSON array of tags holds one of the values.
    SQL has no portable JSON membership test, so it is written per dialect: SQLite's
    json_each, PostgreSQL's json_array_elements_text (the column is `json`, not `jsonb`)."""

    type = Boolean()
    name = "any_tag"
    inherit_cache = True


def _any_tag_sql(element: any_tag, compiler: SQLCompiler, elements_fn: str, **kw: Any) -> str:
    column, *values = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM {elements_fn}({column}) AS tag "
        f"WHERE tag.value IN ({', '.join(values)}))"
    )


@compiles(any_tag, "sqlite")
def _any_tag_sqlite(element: any_tag, compiler: SQLCompiler, **kw: Any) -> str:
    return _any_tag_sql(element, compiler, "json_each", **kw)


@compiles(any_tag, "postgresql")
def _any_tag_postgresql(element: any_tag, compiler: SQLCompiler, **kw: Any) -> str:
    return _any_tag_sql(element, compiler, "json_array_elements_text", **kw)


def segment_query(
    segment: Mapping[str, Sequence[str]], *, after_id: int = 0, limit: int | None = None
) -> Select[Any]:
    """Supporters of a segment, by id, for keyset paging (the next page: `after_id` = the
    last id of this one). `segment` maps city, constituency, language or tags to the values
    wanted: a supporter matches one of the values of every field given; an empty or missing
    field restricts nothing. City and constituency match case-insensitively; tags match any
    of the listed tags. The filter runs in the database, on SQLite and PostgreSQL alike."""
    query = select(Supporter).where(Supporter.id > after_id).order_by(Supporter.id)
    for key, values in segment.items():
        if key not in SEGMENT_FIELDS:
            raise UserError(f"unknown segment field {key!r}: use {', '.join(SEGMENT_FIELDS)}")
        wanted = [v.strip().lower() for v in values if v.strip()]
        if not wanted:
            continue
        if key == "tags":
            query = query.where(any_tag(Supporter.tags, *wanted))
        elif key == "language":
            query = query.where(Supporter.language.in_([language(v) for v in wanted]))
        else:
            query = query.where(func.lower(getattr(Supporter, key)).in_(wanted))
    return query.limit(limit) if limit is not None else query
