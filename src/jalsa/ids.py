"""Ids and slugs read from outside (an address, a query, a form field, a header, the command
line): one parser, so that a number has exactly one spelling.

`str.isdigit()` is true for '¹' and '١' (which `int()` then rejects or reads as 1), and
`int()` reads '01', '+1', ' 1' and '1_0' as numbers too: every one of those was either a
500 or a second name for the same row (two dashboard feeds for one event). Here an id is
ASCII digits, no sign, no spaces, no leading zero, within the range a row id can have;
anything else is not an id. A slug is the lower-case ASCII form events and campaigns are
created with."""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_ID = 2**31 - 1  # the largest row id: an INTEGER column on PostgreSQL
MAX_SLUG = 80

# `[0-9]` is ASCII only (unlike `\d`); "0" is the one number that may start with a zero.
_ID = re.compile(r"0|[1-9][0-9]{0,9}")
SLUG = re.compile(rf"[a-z0-9][a-z0-9-]{{0,{MAX_SLUG - 1}}}")


def parse_id(text: str | None, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """The number `text` spells in its one canonical form, within [minimum, maximum]; None
    for anything else (empty, signs, spaces, '01', '¹', '١', '1_0', '1e3', too large)."""
    if text is None or len(text) > 10 or not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def is_slug(text: str | None) -> bool:
    return text is not None and SLUG.fullmatch(text) is not None


class Ref(NamedTuple):
    """What a slug-or-id reference can name: a row by `slug`, else by `id`. Both None: it
    names nothing, and there is no need to ask the database."""

    slug: str | None
    id: int | None

    @property
    def empty(self) -> bool:
        return self.slug is None and self.id is None


def parse_ref(text: str | None) -> Ref:
    """A slug-or-id. A slug is looked up first (a slug may be all digits, like '2024'); the
    id part is set only for a canonical id, so '01' and '1' never name the same row."""
    return Ref(text if is_slug(text) else None, parse_id(text))
