"""The live terminal table of `jalsa track` and `jalsa demo`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from jalsa.platforms.registry import CONNECTORS, get_metric
from jalsa.timeutil import show

_STATUS_STYLE = {"ok": "green", "pending": "dim", "not_live": "yellow"}


def _time(iso: str | None, tz: str) -> str:
    return show(datetime.fromisoformat(iso), tz, "%H:%M:%S") if iso else "—"


def _count(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"


def spend_text(kind: str, usage: dict[str, Any]) -> str:
    """API spend in the unit that matters for the platform (its connector's `spend`)."""
    connector = CONNECTORS.get(kind)
    spend = connector.spend[0] if connector else "requests"
    if spend == "quota_units":
        return f"{usage['quota_units']:,} units"
    if spend == "cost_usd":
        return f"${usage['cost_usd']:,.2f} ({usage['billed_resources']:,} res)"
    return f"{usage['requests']:,} req"


def render(snapshot: dict[str, Any], *, title: str, tz: str, youtube_quota: int) -> Table:
    table = Table(title=title, caption=_caption(snapshot, tz), expand=False)
    for column in (
        "Stream",
        "Status",
        "Now",
        "Peak (at)",
        "Last poll",
        "Errors",
        "Spent",
        "Forecast",
    ):
        table.add_column(column, justify="right" if column in ("Now", "Errors") else "left")
    quota_forecast = 0
    for s in snapshot["streams"]:
        metric = s["audience_metric"]
        unit = get_metric(metric).unit if metric else ""
        if metric:
            now = _count(s["now"])
            peak = f"{_count(s['peak'])} ({_time(s['peak_at'], tz)})" if s["peak"] else "—"
        else:
            latest = s["latest"]
            now = ", ".join(f"{get_metric(k).unit}: {v['value']:,}" for k, v in latest.items())
            now = f"audience unknown; {now}" if now else "audience unknown"
            peak = "n/a"
        status = Text(s["status"], style=_STATUS_STYLE.get(s["status"], "bold red"))
        if s["detail"] and s["status"] not in ("ok",):
            status.append(f" {s['detail'][:40]}", style="dim")
        if s["kind"] == "youtube":
            quota_forecast += s["forecast"]["quota_units"]
        table.add_row(
            f"{s['label']} [dim]{s['kind']}:{s['external_id']}[/dim]",
            status,
            f"{now} {unit}".strip() if metric else now,
            peak,
            _time(s["last_poll_at"], tz),
            str(s["errors"]),
            spend_text(s["kind"], s["spent"]),
            spend_text(s["kind"], s["forecast"]),
        )
    if quota_forecast > youtube_quota:
        table.add_row(
            "",
            Text(
                f"YouTube forecast {quota_forecast:,} units exceeds the daily quota "
                f"{youtube_quota:,}: raise JALSA_YOUTUBE_INTERVAL",
                style="bold red",
            ),
        )
    return table


def _caption(snapshot: dict[str, Any], tz: str) -> str:
    combined = snapshot["combined"]
    if combined["value"] is None:
        value = "no stream live" if combined["not_live"] and not combined["stale"] else "unknown"
    else:
        value = f"{combined['value']:,}"
    if combined["partial"]:
        value += f" — partial: {len(combined['stale'])} stream(s) without a fresh reading"
    peak = snapshot["peak_of_sum"]
    peak_text = f"{peak['value']:,} at {_time(peak['at'], tz)}" if peak else "—"
    return (
        f"Combined now (sum of concurrent audiences, not unique people): {value}\n"
        f"Peak of the sum (from our samples): {peak_text}    as of {_time(snapshot['at'], tz)}"
    )
