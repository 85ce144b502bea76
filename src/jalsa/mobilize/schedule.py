"""When a campaign sends, and when a recipient may be sent to.

A schedule is written the way a coordinator says it:
- an absolute time, `2026-11-30 18:00` (in the campaign's time zone) or ISO 8601 with an offset;
- relative to the event's start: `event-1h`, `event-30m`, `event+15m`, `event-1d@18:00` (the
  day before the event, at 18:00 in the campaign's zone), `event@08:00` (the event's day).

Sending hours are the recipient's local hours in which a message may arrive (default
09:00-21:00); outside them it is quiet and a message waits for the next opening. A window that
crosses midnight (`20:00`-`02:00`) is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from jalsa.errors import UserError
from jalsa.timeutil import parse_local, zone

_RELATIVE = re.compile(
    r"^event(?:(?P<sign>[+-])(?P<amount>\d+)(?P<unit>[dhm]))?(?:@(?P<at>\d{1,2}:\d{2}))?$"
)
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def is_relative(schedule: str) -> bool:
    return schedule.strip().lower().startswith("event")


def resolve(schedule: str, tz: str, event_start: datetime | None) -> datetime:
    """The UTC time `schedule` means. A relative schedule needs the event's start."""
    text = schedule.strip().lower().replace(" ", "")
    unreadable = UserError(
        f"cannot read the schedule {schedule!r}; write an absolute time (2026-11-30 18:00) "
        "or one relative to the event: event-1h, event-1d@18:00, event@08:00"
    )
    if not is_relative(text):
        try:
            return parse_local(schedule, tz)
        except UserError:
            raise unreadable from None
    match = _RELATIVE.match(text)
    if not match or not (match["sign"] or match["at"]):
        raise unreadable
    if event_start is None:
        raise UserError(f"the schedule {schedule!r} is relative to an event; name the event")
    try:
        return _relative(schedule, match, tz, event_start)
    except (OverflowError, ValueError):  # an offset of years beyond 9999, or of 5000 digits
        raise UserError(f"the schedule {schedule!r} is too far from the event") from None


def _relative(schedule: str, match: re.Match[str], tz: str, event_start: datetime) -> datetime:
    offset = timedelta()
    if match["sign"]:
        offset = timedelta(**{_UNITS[match["unit"]]: int(match["amount"])})
        offset = -offset if match["sign"] == "-" else offset
    if not match["at"]:
        return event_start + offset
    # A day offset with a clock time: the calendar day in the campaign's zone, at that time.
    if match["unit"] not in (None, "d"):
        raise UserError(f"in {schedule!r}, @time goes with a day offset (event-1d@18:00)")
    day = (event_start.astimezone(zone(tz)) + offset).date()
    return datetime.combine(day, clock(match["at"]), zone(tz)).astimezone(UTC)


def clock(text: str) -> time:
    """'09:00' as a time of day; one clear error otherwise."""
    try:
        hours, minutes = (int(part) for part in text.strip().split(":"))
        return time(hours, minutes)
    except ValueError:
        raise UserError(f"cannot read the time of day {text!r}; write it as HH:MM") from None


@dataclass(frozen=True)
class SendingHours:
    """The local hours in which a message may arrive."""

    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> SendingHours:
        hours = cls(clock(start), clock(end))
        if hours.start == hours.end:
            raise UserError("the sending hours are empty: start and end are the same time")
        return hours

    def open_at(self, local: datetime) -> bool:
        now = local.timetz().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end  # a window across midnight

    def next_opening(self, at: datetime, tz: str) -> datetime:
        """`at` itself when the hours are open then, else the next start of the hours (UTC)."""
        local = at.astimezone(zone(tz))
        if self.open_at(local):
            return at
        opening = datetime.combine(local.date(), self.start, zone(tz))
        if opening <= local:
            opening = datetime.combine(local.date() + timedelta(days=1), self.start, zone(tz))
        return opening.astimezone(UTC)
