"""`jalsa event` (create, list and show events) and `jalsa stream` (attach platform streams)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from jalsa.cli.common import open_store
from jalsa.config import get_settings
from jalsa.platforms.registry import CONNECTORS, connector_for
from jalsa.store.repo import add_stream, create_event, get_event, list_events
from jalsa.terminal import console
from jalsa.timeutil import parse_duration, parse_local, show

event_app = typer.Typer(help="Create and list events.", no_args_is_help=True)
stream_app = typer.Typer(help="Attach platform streams to an event.", no_args_is_help=True)


# -- events -------------------------------------------------------------------------------


@event_app.command("create")
def event_create(
    name: Annotated[str, typer.Argument(help="Event name, e.g. 'PTI virtual jalsa'.")],
    starts: Annotated[str, typer.Option(help="Start in event local time: 'YYYY-MM-DD HH:MM'.")],
    duration: Annotated[str, typer.Option(help="Expected length: 2h, 90m, 1h30m.")] = "2h",
    tz: Annotated[str | None, typer.Option(help="IANA time zone (default JALSA_TIMEZONE).")] = None,
    hashtag: Annotated[
        list[str] | None, typer.Option("--hashtag", "-h", help="Event hashtag; repeatable.")
    ] = None,
    slug: Annotated[str | None, typer.Option(help="Short id used in commands and URLs.")] = None,
) -> None:
    """Create an event."""
    settings = get_settings()
    timezone = tz or settings.timezone
    with open_store(settings).session() as session:
        event = create_event(
            session,
            name=name,
            starts_at=parse_local(starts, timezone),
            duration=parse_duration(duration),
            timezone=timezone,
            hashtags=hashtag or [],
            slug=slug,
        )
        console.print(
            f"created event [bold]{event.slug}[/bold]: {event.name}, "
            f"{show(event.starts_at, timezone)} – {show(event.ends_at, timezone, '%H:%M %Z')}"
        )
        console.print(f"next: jalsa stream add {event.slug} youtube VIDEO_ID")


@event_app.command("list")
def event_list() -> None:
    """List events, newest first."""
    with open_store().session() as session:
        events = list_events(session)
        if not events:
            console.print("no events yet: jalsa event create NAME --starts 'YYYY-MM-DD HH:MM'")
            return
        table = Table("Slug", "Name", "Starts", "Streams", "Hashtags")
        for e in events:
            table.add_row(
                e.slug,
                e.name,
                show(e.starts_at, e.timezone),
                str(len(e.streams)),
                " ".join(e.hashtags),
            )
        console.print(table)


@event_app.command("show")
def event_show(event: Annotated[str, typer.Argument(help="Event slug or id.")]) -> None:
    """Show an event and its streams."""
    with open_store().session() as session:
        e = get_event(session, event)
        console.print(f"[bold]{e.name}[/bold] ({e.slug})")
        console.print(f"  {show(e.starts_at, e.timezone)} – {show(e.ends_at, e.timezone)}")
        console.print(f"  hashtags: {' '.join(e.hashtags) or '—'}")
        table = Table("Id", "Kind", "Platform id", "Label")
        for s in e.streams:
            table.add_row(str(s.id), s.kind, s.external_id, s.label)
        console.print(table)


# -- streams ------------------------------------------------------------------------------


def _kinds_help() -> str:
    return "; ".join(f"{k}: {c.id_help}" for k, c in CONNECTORS.items())


@stream_app.command("add")
def stream_add(
    event: Annotated[str, typer.Argument(help="Event slug or id.")],
    kind: Annotated[str, typer.Argument(help=f"Stream kind. {_kinds_help()}")],
    external_id: Annotated[str, typer.Argument(help="The platform's id for the stream.")],
    label: Annotated[str, typer.Option(help="A name to show for the stream.")] = "",
) -> None:
    """Attach a stream to an event (adding it twice is harmless)."""
    connector_for(kind)
    with open_store().session() as session:
        e = get_event(session, event)
        stream = add_stream(session, e, kind=kind, external_id=external_id, label=label)
        console.print(f"stream {stream.id}: {kind} {stream.external_id} on {e.slug}")
