"""Parsing and showing times: UTC inside, the event's time zone outside."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jalsa.errors import UserError


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            f"unknown time zone {name!r}; use an IANA name such as Asia/Karachi"
        ) from None


def parse_local(text: str, tz: str) -> datetime:
    """'2026-12-17 20:00' (or ISO 8601, with or without an offset) read in `tz`, as aware UTC."""
    cleaned = text.strip().replace("T", " ")
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise UserError(
            f"cannot read the time {text!r}; write it as YYYY-MM-DD HH:MM (event local time)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz))
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise UserError(f"the time {text!r} is outside the years 1 to 9999 in UTC") from None


MAX_EVENT_MINUTES = 7 * 24 * 60
_DURATION = re.compile(r"^\s*(?:([0-9]+)\s*h)?\s*(?:([0-9]+)\s*m(?:in)?)?\s*$")


def parse_duration(text: str) -> timedelta:
    """'2h', '90m', '1h30m' or a bare number of minutes."""
    stripped = text.strip()
    unreadable = UserError(f"cannot read the duration {text!r}; write it as 2h, 90m or 1h30m")
    if len(stripped) > 20:  # a week is 10080 minutes: no duration needs more digits
        raise unreadable
    if stripped.isascii() and stripped.isdigit():
        minutes = int(stripped)
    else:
        match = _DURATION.match(stripped)
        if not match or not any(match.groups()):
            raise unreadable
        minutes = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    if minutes <= 0:
        raise UserError(f"the duration {text!r} must be longer than zero")
    if minutes > MAX_EVENT_MINUTES:
        raise UserError(f"the duration {text!r} is longer than a week; split the event")
    return timedelta(minutes=minutes)


def local(value: datetime, tz: str) -> datetime:
    return value.astimezone(zone(tz))


def show(value: datetime | None, tz: str, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    return "—" if value is None else local(value, tz).strftime(fmt)


def utc_now() -> datetime:
    return datetime.now(UTC)
