"""Hostile time expressions: absolute times, durations and schedules relative to the event
(`event-1d@18:00`) raise UserError or give an aware time, never anything else."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from jalsa.errors import UserError
from jalsa.mobilize.schedule import SendingHours, clock, resolve
from jalsa.timeutil import parse_duration, parse_local

START = datetime(2023, 12, 17, 14, 0, tzinfo=UTC)
ZONES = st.sampled_from(["Asia/Karachi", "UTC", "Asia/Dubai", "Pacific/Kiritimati", "Nope/Zone"])
RELATIVE = st.builds(
    lambda sign, amount, unit, at: f"event{sign}{amount}{unit}{at}",
    st.sampled_from(["", "+", "-"]),
    st.one_of(st.integers(0, 10**6).map(str), st.text("0123456789", min_size=1, max_size=5000)),
    st.sampled_from(["d", "h", "m", "", "x"]),
    st.one_of(st.just(""), st.from_regex(r"@\d{1,2}:\d{2}", fullmatch=True)),
)
TEXT = st.one_of(st.text(max_size=60), RELATIVE, st.datetimes().map(str))


@settings(max_examples=300, deadline=None)
@given(TEXT, ZONES)
@example("event-99999999999d", "UTC")  # timedelta overflow
@example("event+" + "9" * 5000 + "m", "UTC")  # past int()'s digit limit
@example("0001-01-01 00:00", "Asia/Karachi")  # before year 1 in UTC
@example("9999-12-31 23:59-05:00", "UTC")  # after year 9999 in UTC
@example("event-1d@99:99", "Asia/Karachi")
@example("event@24:00", "Pacific/Kiritimati")
@example("2023-12-17 \ud800", "UTC")
def test_schedules(text: str, tz: str) -> None:
    try:
        when = resolve(text, tz, START)
    except UserError:
        return
    assert when.tzinfo is not None and when.utcoffset() == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=30), st.from_regex(r"\d{1,5000}h?\d{0,5}m?", fullmatch=True)))
@example("9" * 5000)
@example("1h30m")
def test_durations(text: str) -> None:
    try:
        value = parse_duration(text)
    except UserError:
        return
    assert timedelta(0) < value <= timedelta(weeks=1)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12), st.text(max_size=12))
@example("25:00", "08:00")
@example("08:00", "\ud800")
def test_clock_and_sending_hours(start: str, end: str) -> None:
    for text in (start, end):
        with contextlib.suppress(UserError):
            clock(text)
    with contextlib.suppress(UserError):
        SendingHours.parse(start, end)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(timezones=st.none()), ZONES)
def test_local_times_round_trip(value: datetime, tz: str) -> None:
    text = value.isoformat(sep=" ")
    try:
        when = parse_local(text, tz)
    except UserError:
        return
    assert when.tzinfo is not None
