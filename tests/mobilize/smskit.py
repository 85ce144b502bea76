"""Helpers of the SMS tests (importable as `smskit`): a supporters CSV with a known share of
opted-out numbers and of supporters without consent, and sending hours open now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo


def write_supporters(path: Path, count: int, *, opted_out: int = 0, no_consent: int = 0) -> None:
    """`count` supporters in Lahore with numbers 0300 0000000 onward: the first `no_consent`
    gave no consent, the next `opted_out` opted out; every third speaks English."""
    lines = ["phone,name,city,language,consent,consent_source,consent_at,opt_out"]
    for n in range(count):
        consent = "" if n < no_consent else "reminders"
        opt_out = "yes" if no_consent <= n < no_consent + opted_out else "no"
        language = "en" if n % 3 == 0 else "ur"
        lines.append(
            f"0300{n:07d},Person {n},Lahore,{language},{consent},signup form,2026-11-01 18:00,"
            f"{opt_out}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def open_hours(tz: str = "Asia/Karachi") -> tuple[str, str]:
    """Sending hours that are open now and for the next two hours in `tz` (a window across
    midnight when need be), so a test does not depend on the hour it runs at."""
    local = datetime.now(UTC).astimezone(ZoneInfo(tz))
    return f"{(local - timedelta(hours=2)):%H:%M}", f"{(local + timedelta(hours=2)):%H:%M}"
