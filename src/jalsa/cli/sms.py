"""`jalsa sms`: write, preview, send and follow SMS campaigns."""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jalsa.cli.common import opened
from jalsa.credentials import with_stored_credentials
from jalsa.errors import UserError
from jalsa.mobilize import campaigns as ops
from jalsa.mobilize.gateways import gateway_from_settings
from jalsa.mobilize.outbox import MEANING
from jalsa.mobilize.sender import LeaseHeld, Sender
from jalsa.mobilize.service import sender_config
from jalsa.store import Store
from jalsa.store.models import Campaign
from jalsa.store.repo import get_event
from jalsa.terminal import console, err
from jalsa.timeutil import show, utc_now

sms_app = typer.Typer(help="SMS campaigns to supporters.", no_args_is_help=True)
campaign_app = typer.Typer(help="Write, preview, send and follow campaigns.", no_args_is_help=True)
sms_app.add_typer(campaign_app, name="campaign")

CampaignArg = Annotated[str, typer.Argument(help="Campaign slug or id.")]


def _hours(text: str) -> tuple[str, str]:
    start, sep, end = text.partition("-")
    if not sep:
        raise UserError(f"write the sending hours as 09:00-21:00, not {text!r}")
    return start.strip(), end.strip()


@campaign_app.command("create")
def create_cmd(
    name: Annotated[str, typer.Argument(help="The campaign's name.")],
    text_ur: Annotated[
        str, typer.Option("--text-ur", help="Urdu text (Urdu script or Roman).")
    ] = "",
    text_en: Annotated[str, typer.Option("--text-en", help="English text.")] = "",
    event: Annotated[
        str | None, typer.Option(help="Event slug or id (for event-… schedules).")
    ] = None,
    schedule: Annotated[
        str,
        typer.Option(help="When: '2026-11-30 18:00', or event-1h, event-1d@18:00, event@08:00."),
    ] = "event-1h",
    purpose: Annotated[
        str, typer.Option(help="Consent it needs: reminders or general.")
    ] = "reminders",
    city: Annotated[
        list[str], typer.Option(help="Only supporters in this city (repeatable).")
    ] = [],  # noqa: B006
    constituency: Annotated[
        list[str], typer.Option(help="Only this constituency (repeatable).")
    ] = [],  # noqa: B006
    language: Annotated[list[str], typer.Option(help="Only supporters of this language.")] = [],  # noqa: B006
    tag: Annotated[
        list[str], typer.Option(help="Only supporters with this tag (repeatable).")
    ] = [],  # noqa: B006
    spread: Annotated[int, typer.Option(help="Spread the sending over this many minutes.")] = 0,
    hours: Annotated[
        str, typer.Option(help="Sending hours, recipient's local time.")
    ] = "09:00-21:00",
    timezone: Annotated[
        str | None,
        typer.Option(help="Zone of the schedule and of recipients whose zone is unknown."),
    ] = None,
) -> None:
    """Write a campaign (a draft: nothing is sent until `send`). Templates may use {name},
    {first_name}, {city}, {constituency}, {event}, {event_date}, {event_time}, with a fallback:
    {first_name|dost}."""
    send_from, send_until = _hours(hours)
    with opened() as (store, settings), store.session() as session:
        event_id = get_event(session, event).id if event else None
        spec = ops.CampaignSpec(
            name=name,
            texts={"ur": text_ur, "en": text_en},
            purpose=purpose,
            schedule=schedule,
            event_id=event_id,
            segment={"city": city, "constituency": constituency, "language": language, "tags": tag},
            spread_minutes=spread,
            send_from=send_from,
            send_until=send_until,
            timezone=timezone or settings.timezone,
        )
        campaign = ops.create_campaign(session, spec, None)
        console.print(
            f"campaign [bold]{campaign.slug}[/bold] written; it would start "
            f"{show(campaign.send_at, campaign.timezone)}. "
            f"Next: `jalsa sms campaign preview {campaign.slug}`"
        )


@campaign_app.command("list")
def list_cmd() -> None:
    """Every campaign, newest first."""
    from sqlalchemy import select

    with opened() as (store, _settings), store.session() as session:
        table = Table("slug", "name", "status", "starts", "purpose")
        for c in session.scalars(select(Campaign).order_by(Campaign.id.desc())):
            table.add_row(c.slug, c.name, c.status, show(c.send_at, c.timezone), c.purpose)
        console.print(table)


@campaign_app.command("preview")
def preview_cmd(campaign_ref: CampaignArg) -> None:
    """What the campaign would send: recipients, languages, encoding, segments and cost."""
    with opened() as (store, settings), store.session() as session:
        campaign = ops.get_campaign(session, campaign_ref)
        with Progress(
            TextColumn("rendering"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("", total=None)
            result = ops.preview(
                session,
                campaign,
                price_per_segment=settings.sms_segment_price,
                currency=settings.sms_currency,
                progress=lambda n: bar.advance(task, n),
            )
        print_preview(campaign, result)


def print_preview(campaign: Campaign, result: ops.Preview) -> None:
    table = Table(title=f"{campaign.name} ({campaign.slug})", show_header=False)
    table.add_row("starts", f"{show(campaign.send_at, campaign.timezone)} ({campaign.schedule})")
    table.add_row("sending hours", f"{campaign.send_from}–{campaign.send_until} recipient's time")
    table.add_row("in the segment", f"{result.recipients:,}")
    table.add_row("will be sent to", f"{result.sendable:,}")
    table.add_row("opted out", f"{result.opted_out:,}")
    table.add_row(f"no {campaign.purpose} consent", f"{result.no_consent:,}")
    if result.too_long:
        table.add_row("too long to send", f"{result.too_long:,}")
    table.add_row("languages", ", ".join(f"{k} {v:,}" for k, v in result.languages.items()))
    table.add_row("encoding", ", ".join(f"{k} {v:,}" for k, v in result.encodings.items()))
    table.add_row("segments", result.segment_histogram())
    price = (
        f"{result.cost:,.2f} {result.currency}" if result.cost else "set JALSA_SMS_SEGMENT_PRICE"
    )
    table.add_row("cost", price)
    console.print(table)
    for language, text in result.samples.items():  # written for an example supporter
        console.print(f"[dim]{language} (example):[/dim] {text}", highlight=False)


def _counts_table(progress: ops.Progress) -> Table:
    table = Table("status", "messages", "meaning")
    for status, count in sorted(progress.counts.items()):
        table.add_row(status, f"{count:,}", MEANING.get(status, ""))
    for (status, reason), count in sorted(progress.reasons.items()):
        table.add_row(f"  {status}", f"{count:,}", reason)
    return table


@campaign_app.command("status")
def status_cmd(campaign_ref: CampaignArg) -> None:
    """A campaign's progress: messages by status."""
    with opened() as (store, _settings), store.session() as session:
        campaign = ops.get_campaign(session, campaign_ref)
        progress = ops.progress_of(session, campaign)
        total = f"{progress.total:,}" if progress.total is not None else "not started"
        console.print(f"{campaign.slug}: {campaign.status}; recipients {total}")
        if campaign.failure:
            console.print(campaign.failure)
        console.print(_counts_table(progress))


@campaign_app.command("pause")
def pause_cmd(campaign_ref: CampaignArg) -> None:
    """Stop sending for now; `send` continues where it stopped."""
    with opened() as (store, _settings), store.session() as session:
        ops.pause_campaign(session, ops.get_campaign(session, campaign_ref), utc_now())
    console.print("paused")


@campaign_app.command("cancel")
def cancel_cmd(campaign_ref: CampaignArg) -> None:
    """Stop a campaign for good; messages not yet sent are skipped."""
    with opened() as (store, _settings), store.session() as session:
        skipped = ops.cancel_campaign(session, ops.get_campaign(session, campaign_ref), utc_now())
    console.print(f"cancelled; {skipped:,} waiting messages skipped")


@campaign_app.command("send")
def send_cmd(
    campaign_ref: CampaignArg,
    detach: Annotated[
        bool, typer.Option(help="Only schedule it: a running sender (`jalsa serve`) sends it.")
    ] = False,
) -> None:
    """Schedule the campaign and send it from here, with live progress, until it is done.
    Ctrl-C stops sending; running `send` again continues where it stopped, sending no one
    twice."""
    with opened() as (store, settings):
        with store.session() as session:
            campaign = ops.get_campaign(session, campaign_ref)
            ops.schedule_campaign(session, campaign, utc_now())
            campaign_id, slug = campaign.id, campaign.slug
            starts = show(campaign.send_at, campaign.timezone)
        console.print(f"{slug} is scheduled; sending starts {starts}")
        if detach:
            return
        gateway = gateway_from_settings(with_stored_credentials(settings, store))
        sender = Sender(store, gateway, sender_config(settings))
        _send_with_progress(store, sender, campaign_id)


def _send_with_progress(store: Store, sender: Sender, campaign_id: int) -> None:
    failure: list[BaseException] = []

    def done() -> bool:
        with store.session() as session:
            campaign = session.get(Campaign, campaign_id)
            return campaign is None or campaign.status in ("done", "cancelled", "paused", "failed")

    def run() -> None:
        try:
            sender.run(until=done)
        except BaseException as exc:  # reported on the main thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="sms-sender", daemon=True)
    previous = signal.signal(signal.SIGINT, lambda *_: sender.stop())
    try:
        thread.start()
        _follow(store, campaign_id, thread)
    finally:
        sender.stop()
        thread.join(timeout=30)
        signal.signal(signal.SIGINT, previous)
    if failure:
        exc = failure[0]
        if isinstance(exc, LeaseHeld):
            console.print(f"{exc} Follow it with `jalsa sms campaign status`.")
            return
        raise exc
    with store.session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        progress = ops.progress_of(session, campaign)
    console.print(f"{campaign.slug}: {campaign.status}")
    if campaign.failure:
        console.print(campaign.failure)
    console.print(_counts_table(progress))


def _follow(store: Store, campaign_id: int, thread: threading.Thread) -> None:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as bar:
        task = bar.add_task("waiting", total=None)
        while thread.is_alive():
            with store.session() as session:
                campaign = session.get(Campaign, campaign_id)
                if campaign is None:
                    return
                progress = ops.progress_of(session, campaign)
            description = f"{campaign.status}: " + ", ".join(
                f"{k} {v:,}" for k, v in sorted(progress.counts.items())
            )
            bar.update(
                task, description=description, total=progress.total, completed=progress.settled
            )
            thread.join(timeout=1.0)


__all__: list[Any] = ["sms_app"]
