"""The `jalsa` command. Thin: parse, call the area packages, print."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from jalsa.config import Settings, get_settings
from jalsa.credentials import reader_credentials, with_stored_credentials
from jalsa.errors import UserError
from jalsa.live.aggregate import Point
from jalsa.live.export import FORMATS, export
from jalsa.live.summary import Summary, summarize
from jalsa.live.table import render
from jalsa.live.tracker import Tracker, cancel
from jalsa.platforms.registry import CATALOGUE, CONNECTORS, connector_for, get_metric
from jalsa.store import Store
from jalsa.store.repo import add_stream, create_event, get_event, list_events
from jalsa.timeutil import parse_duration, parse_local, show

console = Console()
err = Console(stderr=True)


class _Group(TyperGroup):
    """Turns a UserError anywhere below into one message and a non-zero exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            err.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=_Group,
    help="jalsa: command center for virtual rallies. `jalsa demo` shows everything offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
event_app = typer.Typer(help="Create and list events.", no_args_is_help=True)
stream_app = typer.Typer(help="Attach platform streams to an event.", no_args_is_help=True)
app.add_typer(event_app, name="event")
app.add_typer(stream_app, name="stream")


def open_store(settings: Settings | None = None) -> Store:
    settings = settings or get_settings()
    return Store(
        settings.effective_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )


@contextlib.contextmanager
def opened(settings: Settings | None = None) -> Iterator[tuple[Store, Settings]]:
    """The store and the settings for one command; the store is closed after it."""
    settings = settings or get_settings()
    store = open_store(settings)
    try:
        yield store, settings
    finally:
        store.dispose()


def byte_progress(label: str) -> Progress:
    """A progress bar over bytes read, on stderr, only on a terminal."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


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


# -- metrics ------------------------------------------------------------------------------


@app.command("metrics")
def metrics_list() -> None:
    """Print the metric catalogue: what every number means and where it comes from."""
    for m in CATALOGUE:
        console.print(f"[bold]{m.name}[/bold] — {m.label} [{m.unit}, {m.kind.value}]")
        console.print(f"  {m.definition}", highlight=False)
        console.print(f"  source: {m.source}", style="dim", highlight=False)


# -- tracking -----------------------------------------------------------------------------


def _missing_credentials(settings: Settings, kinds: set[str]) -> list[str]:
    missing = []
    for kind in sorted(kinds):
        setting = connector_for(kind).credential_setting
        if getattr(settings, setting) is None:
            missing.append(f"JALSA_{setting.upper()} ({kind})")
    return missing


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


@app.command("track")
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


@app.command("export")
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


def print_summary(summary: Summary, peak_of_sum: Point | None) -> None:
    tz = summary.timezone
    table = Table(
        "Stream",
        "Peak concurrent (from our samples)",
        "Samples",
        "Polls",
        "Problems",
        title="Summary",
    )
    for s in summary.streams:
        peaks = ", ".join(
            f"{p.value:,} {get_metric(m).unit} at {show(p.at, tz, '%H:%M')}"
            for m, p in s.peaks.items()
        ) or ("audience unknown (no viewer count in the API)" if s.kind == "instagram" else "—")
        problems = ", ".join(
            f"{k} ×{n}" for k, n in s.statuses.most_common() if k not in ("ok", "not_live")
        )
        table.add_row(
            f"{s.label} ({s.kind})", peaks, f"{s.samples:,}", f"{s.polls:,}", problems or "none"
        )
    console.print(table)
    if peak_of_sum is not None:
        console.print(
            f"Peak of the combined concurrent audience: {peak_of_sum.value:,} at "
            f"{show(peak_of_sum.at, tz, '%H:%M')} — a sum across platforms (a person on two "
            "platforms counts twice), not unique people."
        )
    console.print(f"Stored {summary.samples:,} samples from {summary.polls:,} polls.")


sim_app = typer.Typer(
    help="The platform simulator, and generated data for tests and benchmarks.",
    invoke_without_command=True,
)
app.add_typer(sim_app, name="sim")


@sim_app.callback()
def sim_cmd(
    ctx: typer.Context,
    scenario: Annotated[
        str | None, typer.Option(help="Scenario file or built-in name (default: 17 Dec 2023).")
    ] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8900,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1.0,
    streams: Annotated[
        int | None, typer.Option(help="Serve N synthetic streams instead (benchmarks).")
    ] = None,
    at_minute: Annotated[
        float | None,
        typer.Option(
            help="Start the simulated clock at this minute of the rally (default: "
            "the scenario's lead-in before the start)."
        ),
    ] = None,
) -> None:
    """Serve the platform simulator: the real APIs' paths and shapes, no credentials needed."""
    if ctx.invoked_subcommand is not None:
        return
    from jalsa.sim import SimServer, load_scenario, make_clock, scenario_with_streams

    if speed <= 0:
        raise UserError("--speed must be more than zero")
    chosen = load_scenario(scenario)
    if streams is not None:
        if streams < 1:
            raise UserError("--streams must be at least 1")
        chosen = scenario_with_streams(streams, chosen, faults=False)
    start = chosen.at(at_minute) if at_minute is not None else None
    server = SimServer(chosen, make_clock(chosen, speed, start=start), port=port)

    def ready(url: str) -> None:
        console.print(f"simulating [bold]{chosen.name}[/bold] at {url} (Ctrl-C stops)")
        for setting, base in server.base_urls.items():
            console.print(f"export JALSA_{setting.upper()}={base}", highlight=False)

    server.serve_forever(on_ready=ready)


@app.command("demo")
def demo_cmd(
    minutes: Annotated[
        float | None,
        typer.Option(help="Compress the rally into N real minutes, then exit (for scripts)."),
    ] = None,
    scenario: Annotated[
        str | None, typer.Option(help="Scenario file or built-in name (default: 17 Dec 2023).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Dashboard port (default 8080).")] = None,
) -> None:
    """Run a simulated rally end to end: simulator, tracker, dashboard, live table, summary.
    Without --minutes the rally takes 4 minutes and the dashboard stays open until Ctrl-C."""
    from jalsa.sim import load_scenario
    from jalsa.sim.demo import DEFAULT_MINUTES, prepare
    from jalsa.sim.demo_inbox import load_demo_model

    settings = get_settings()
    real_minutes = DEFAULT_MINUTES if minutes is None else minutes
    if real_minutes <= 0:
        raise UserError("--minutes must be more than zero")
    model = load_demo_model(settings)  # before the compressed clock starts
    demo = prepare(load_scenario(scenario), settings, real_minutes)
    sc = demo.scenario
    console.print(
        f"[bold]{sc.name}[/bold]: {show(sc.start_utc, sc.timezone)}, {sc.duration_minutes} min "
        f"compressed {demo.speed:.0f}× into {real_minutes:g} real minutes."
    )
    try:
        asyncio.run(_run_demo(demo, port or settings.port, keep_open=minutes is None, model=model))
    finally:
        demo.stop()


async def _run_demo(demo: Any, port: int, *, keep_open: bool, model: Any = None) -> None:
    from jalsa.sim.demo_inbox import run_demo_inbox
    from jalsa.sim.demo_sms import SUPPORTERS, run_demo_sms
    from jalsa.sim.demo_watch import run_demo_watch
    from jalsa.web.app import create_app
    from jalsa.web.server import WebServer

    app = create_app(demo.store, demo.settings, clock=demo.tracker.clock)
    web = WebServer(app, "127.0.0.1", port)
    url = await web.start()
    console.print(
        f"dashboard: {url}/events/demo   log in as [bold]demo[/bold] / "
        f"[bold]{demo.password}[/bold]",
        highlight=False,
    )
    console.print(f"simulator: {demo.sim.url}   store: {demo.database}", highlight=False)
    console.print(
        f"SMS: a reminder to {SUPPORTERS} simulated supporters goes out half an hour before the "
        f"rally through the SMSC simulator: {url}/sms/{demo.sms_campaign}",
        highlight=False,
    )
    conversation = asyncio.Event()
    gathering = demo_gathering(demo)
    gathered = asyncio.create_task(gathering.run(conversation))
    watched = asyncio.create_task(
        run_demo_watch(app.state.watch, demo.scenario, demo.tracker.clock, demo.until)
    )
    inbox_stop = asyncio.Event()
    inboxed = asyncio.create_task(
        run_demo_inbox(app.state.inbox, demo.tracker.clock, demo.until, inbox_stop, model)
    )
    sms_stop = asyncio.Event()
    texted = asyncio.create_task(
        run_demo_sms(
            demo.store,
            demo.smsc,
            demo.sms_campaign,
            demo.tracker.clock,
            demo.scenario.start_utc,
            sms_stop,
        )
    )
    try:
        await run_tracker(
            demo.tracker,
            until=demo.until,
            title=f"{demo.scenario.name} — simulated",
            settings=demo.settings,
            live=console.is_terminal,
        )
        conversation.set()
        totals = await gathered
        await cancel([watched])
        print_summary(summarize(demo.store, "demo"), demo.tracker.aggregate.peak_of_sum)
        print_incidents(demo.store, demo.scenario.timezone, demo.tracker.clock.now())
        inbox_stop.set()
        for line in (await inboxed).lines():
            console.print(line, highlight=False)
        sms_stop.set()
        for line in (await texted).lines():
            console.print(line, highlight=False)
        console.print(
            f"Conversation: {totals.posts:,} posts, chat messages and comments collected; "
            "the dashboard shows the trends, and so does: "
            f"JALSA_DATABASE_URL=sqlite:///{demo.database} jalsa trends demo",
            highlight=False,
        )
        console.print(
            f"Export the timeline: JALSA_DATABASE_URL=sqlite:///{demo.database} "
            "jalsa export demo --format csv",
            highlight=False,
        )
        if keep_open:
            console.print(f"The dashboard stays open at {url}/events/demo — Ctrl-C stops.")
            await _until_interrupted()
    finally:
        conversation.set()
        inbox_stop.set()
        sms_stop.set()
        await cancel([watched])
        await asyncio.gather(gathered, inboxed, texted, return_exceptions=True)
        await web.stop()


def print_incidents(store: Store, tz: str, now: Any) -> None:
    """The disruption incidents the watch found, or that it found none."""
    from jalsa.cli.watch import incidents_table
    from jalsa.watch.store import incidents_between

    with store.session() as session:
        rows = incidents_between(session)
    if not rows:
        console.print("Disruptions: the watch found no incident.")
        return
    console.print(incidents_table(rows, tz, now))


def demo_gathering(demo: Any) -> Any:
    """The demo's conversation: X search, YouTube chat and Facebook comments from the
    simulator, on the demo's clock, ingested every few seconds."""
    from jalsa.conversation.dataset import PostDataset
    from jalsa.conversation.gather import Gathering, Plan

    with demo.store.session() as session:
        plan = Plan.for_event(get_event(session, "demo"))
    dataset = PostDataset.of_event(demo.settings, "demo")
    return Gathering(dataset, plan, demo.settings, every=3.0, clock=demo.tracker.clock)


async def _until_interrupted() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


from jalsa.cli import conversation as _conversation  # noqa: E402,F401  (registers its commands)
from jalsa.cli import doctor as _doctor  # noqa: E402,F401
from jalsa.cli import posts as _posts  # noqa: E402,F401
from jalsa.cli import report as _report  # noqa: E402,F401
from jalsa.cli import serve as _serve  # noqa: E402,F401
from jalsa.cli.inbox import inbox_app  # noqa: E402
from jalsa.cli.sms import sms_app  # noqa: E402
from jalsa.cli.supporters import supporters_app  # noqa: E402
from jalsa.cli.watch import watch_app  # noqa: E402

app.add_typer(watch_app, name="watch")
app.add_typer(inbox_app, name="inbox")
app.add_typer(supporters_app, name="supporters")
app.add_typer(sms_app, name="sms")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
