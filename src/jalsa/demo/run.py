"""`jalsa demo`, run: the dashboard served beside the tracker's live table, the conversation
collected from the simulator, the disruption watch, the inbox and the SMS reminder, all on the
demo's compressed clock; then the summary, and (without --minutes) the dashboard left open."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from rich.table import Table

from jalsa.config import get_settings
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.gather import Gathering, Plan
from jalsa.demo.inbox import load_demo_model, run_demo_inbox
from jalsa.demo.prepare import DEFAULT_MINUTES, Demo, prepare
from jalsa.demo.sms import SUPPORTERS, run_demo_sms
from jalsa.demo.watch import run_demo_watch
from jalsa.errors import UserError
from jalsa.live.aggregate import Point
from jalsa.live.summary import Summary, summarize
from jalsa.live.tracker import cancel
from jalsa.platforms.registry import get_metric
from jalsa.serving import WebServer
from jalsa.sim.scenario import load_scenario
from jalsa.store import Store
from jalsa.store.repo import get_event
from jalsa.terminal import console, incidents_table, run_tracker
from jalsa.timeutil import show


def run(minutes: float | None, scenario: str | None, port: int | None) -> None:
    """The whole demo: `minutes` of real time for the rally (default 4, then the dashboard
    stays open until Ctrl-C), the built-in or given `scenario`, the dashboard on `port`."""
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
        asyncio.run(run_demo(demo, port or settings.port, keep_open=minutes is None, model=model))
    finally:
        demo.stop()


async def run_demo(demo: Demo, port: int, *, keep_open: bool, model: Any = None) -> None:
    """Everything the demo runs, on its clock, until the tracker stops; then the summary."""
    from jalsa.web.app import create_app

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


def print_summary(summary: Summary, peak_of_sum: Point | None) -> None:
    """The audience the tracker saw, per stream, and the peak of the combined figure."""
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


def print_incidents(store: Store, tz: str, now: Any) -> None:
    """The disruption incidents the watch found, or that it found none."""
    from jalsa.watch.store import incidents_between

    with store.session() as session:
        rows = incidents_between(session)
    if not rows:
        console.print("Disruptions: the watch found no incident.")
        return
    console.print(incidents_table(rows, tz, now))


def demo_gathering(demo: Demo) -> Gathering:
    """The demo's conversation: X search, YouTube chat and Facebook comments from the
    simulator, on the demo's clock, ingested every few seconds."""
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
