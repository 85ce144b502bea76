"""`jalsa track` (poll an event's streams live, with the live table) and `jalsa export` (its
sample timeline as CSV, JSON or Parquet)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from jalsa.cli.common import open_store
from jalsa.config import Settings, get_settings
from jalsa.credentials import reader_credentials, with_stored_credentials
from jalsa.errors import UserError
from jalsa.live.export import FORMATS, export
from jalsa.live.tracker import Tracker
from jalsa.platforms.registry import connector_for
from jalsa.store.repo import get_event
from jalsa.terminal import console, err, run_tracker


def _missing_credentials(settings: Settings, kinds: set[str]) -> list[str]:
    missing = []
    for kind in sorted(kinds):
        setting = connector_for(kind).credential_setting
        if getattr(settings, setting) is None:
            missing.append(f"JALSA_{setting.upper()} ({kind})")
    return missing


def track(
    event: Annotated[str, typer.Argument(help="Event slug or id.")],
    minutes: Annotated[
        float | None, typer.Option(help="Stop after N minutes (default: 15 min after the end).")
    ] = None,
) -> None:
    """Poll every stream of the event live, store every sample, show the live table."""
    store = open_store()
    with store.session() as session:
        kinds = {s.kind for s in get_event(session, event).streams}
    # Only the credentials these streams use are decrypted: one entered in the web app for
    # something else must not stop the tracker (on a machine whose secret key differs).
    settings = with_stored_credentials(get_settings(), store, only=reader_credentials(kinds))
    tracker = Tracker(store, event, settings)
    if not tracker.streams:
        raise UserError(f"event {event!r} has no streams: jalsa stream add {event} KIND ID")
    missing = _missing_credentials(settings, {s.kind for s in tracker.streams})
    if missing:
        err.print(
            f"[yellow]warning:[/yellow] no credential in {', '.join(missing)}; "
            "those streams will show auth_failed"
        )
    now = tracker.clock.now()
    until = (
        now + timedelta(minutes=minutes)
        if minutes is not None
        else tracker.event.ends_at + timedelta(minutes=15)
    )
    if until <= now:
        raise UserError("the event ended more than 15 minutes ago; pass --minutes to track anyway")
    asyncio.run(
        run_tracker(
            tracker,
            until=until,
            title=tracker.event.name,
            settings=settings,
            live=console.is_terminal,
        )
    )
    console.print(
        f"stored {tracker.written:,} polls; export with: jalsa export {event} --format csv"
    )


def export_cmd(
    event: Annotated[str, typer.Argument(help="Event slug or id.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, json or parquet.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Export the whole sample timeline of an event."""
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    store = open_store()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
        disable=output is None,
    ) as progress:
        task = progress.add_task("exporting", total=None)
        where, count = export(
            store,
            event,
            fmt,
            output,
            progress=lambda n: progress.update(task, description=f"{n:,} samples"),
        )
    if where is not None:
        err.print(f"wrote {count:,} samples to {where}")
