"""What jalsa shows on a terminal, shared by the command line (`jalsa.cli`) and the demo
(`jalsa.demo`): the process's two consoles, the tracker's live table until it stops, and the
table of disruption incidents. Neither application imports the other; both import this."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from jalsa.config import Settings
from jalsa.live.table import render
from jalsa.timeutil import show

if TYPE_CHECKING:
    from jalsa.live.tracker import Tracker
    from jalsa.store.models import WatchIncident

console = Console()
err = Console(stderr=True)


async def run_tracker(
    tracker: Tracker,
    *,
    until: Any,
    title: str,
    settings: Settings,
    live: bool,
) -> None:
    """Run the tracker with the live table; Ctrl-C stops it cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(tracker.run(until=until, stop=stop))
    tz = tracker.event.timezone

    def table() -> Table:
        return render(
            tracker.snapshot(), title=title, tz=tz, youtube_quota=settings.youtube_daily_quota
        )

    if live:
        with Live(table(), console=console, refresh_per_second=2) as view:
            while not task.done():
                await asyncio.sleep(0.5)
                view.update(table())
    else:
        while not task.done():
            await asyncio.wait({task}, timeout=30)
            if not task.done():
                console.print(table())
    await task
    if not live:
        console.print(table())


def incidents_table(rows: Sequence[WatchIncident], tz: str, now: datetime) -> Table:
    """The incidents as a table, times in `tz`; an open one lasts until `now` so far."""
    table = Table(
        "Start",
        "End / duration",
        "Platforms",
        "Cities",
        "Networks",
        "Method",
        "Confidence",
    )
    for r in rows:
        record: dict[str, Any] = r.record or {}
        if r.ended_at is not None:
            ending = f"{show(r.ended_at, tz, '%H:%M')} ({_duration(r.ended_at - r.started_at)})"
        else:
            ending = f"open ({_duration(now - r.started_at)} so far)"
        table.add_row(
            show(r.started_at, tz, "%Y-%m-%d %H:%M %Z"),
            ending,
            ", ".join(r.platforms),
            ", ".join(record.get("cities", [])),
            ", ".join(record.get("networks", [])),
            r.method,
            f"{r.confidence:.0%}",
        )
    return table


def _duration(delta: Any) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes} min"
