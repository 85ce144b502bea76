"""`jalsa inbox`: collect and moderate an event's comments and chat, list the queue, decide,
undo, check a policy file; `train` and `evaluate` the classifier."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from jalsa.cli.common import opened, operator
from jalsa.config import get_settings
from jalsa.errors import UserError
from jalsa.inbox import store as q
from jalsa.inbox.decisions import HUMAN_ACTIONS
from jalsa.inbox.pipeline import Ingested
from jalsa.inbox.service import InboxService
from jalsa.store.repo import get_event
from jalsa.terminal import console
from jalsa.timeutil import show

inbox_app = typer.Typer(
    help="The inbox: comments and live chat from every platform, moderated by the code of conduct.",
    no_args_is_help=True,
)
policy_app = typer.Typer(help="The code-of-conduct policy file.", no_args_is_help=True)
inbox_app.add_typer(policy_app, name="policy")

EventArg = Annotated[str, typer.Argument(help="Event slug or id.")]


# -- run ------------------------------------------------------------------------------------


@inbox_app.command("run")
def run_cmd(
    event: EventArg,
    dry_run: Annotated[
        bool | None,
        typer.Option(
            "--dry-run/--act",
            help="Only describe platform actions, or carry them out. Default: "
            "JALSA_INBOX_DRY_RUN (on until a coordinator turns it off).",
        ),
    ] = None,
    minutes: Annotated[
        float | None, typer.Option(help="Stop after N minutes (default: until Ctrl-C).")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="Policy file (default: JALSA_INBOX_POLICY_FILE or ours).")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(help="Model file (default: the team's adopted model, else the shipped one)."),
    ] = None,
) -> None:
    """Collect the event's comments and live chat and moderate them as they arrive, with a
    live summary. Ctrl-C stops; starting again goes on where it stopped."""
    overrides: dict[str, Any] = {}
    if policy is not None:
        overrides["inbox_policy_file"] = policy
    if model is not None:
        overrides["inbox_model_file"] = model
    settings = get_settings().model_copy(update=overrides)
    with opened(settings) as (store, settings):
        from jalsa.credentials import with_stored_credentials

        settings = with_stored_credentials(settings, store)
        service = InboxService(store, settings, dry_run=dry_run)
        service.policy  # noqa: B018 - a bad policy or a missing model fails before collecting
        service.model  # noqa: B018
        with store.session() as session:
            found = get_event(session, event)
            event_id, slug, tz = found.id, found.slug, found.timezone
            if not found.streams:
                raise UserError(
                    f"event {slug!r} has no stream to collect comments from: "
                    f"jalsa stream add {slug} youtube VIDEO_ID"
                )
        describe = getattr(service.model, "describe", None)
        if callable(describe):
            console.print(f"moderating with {describe()}", highlight=False)
        if service.dry_run:
            console.print(
                "[yellow]dry run[/yellow]: platform actions are only described "
                "(--act or JALSA_INBOX_DRY_RUN=false to carry them out)."
            )
        asyncio.run(_run(service, event_id, slug, tz, minutes))


async def _run(
    service: InboxService, event_id: int, slug: str, tz: str, minutes: float | None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if minutes is not None:
        loop.call_later(minutes * 60, stop.set)
    total = Ingested()
    live = console.is_terminal

    def table() -> Table:
        return summary_table(service, event_id, slug, total)

    def on_round(round_: Ingested) -> None:
        total.add(round_)
        if not live and round_.stored:
            console.print(round_line(round_), highlight=False)

    try:
        if live:
            with Live(table(), console=console, refresh_per_second=1) as view:
                task = asyncio.create_task(service.run_event(event_id, stop, on_round=on_round))
                while not task.done():
                    await asyncio.wait({task}, timeout=1)
                    view.update(table())
                await task
        else:
            await service.run_event(event_id, stop, on_round=on_round)
    finally:
        await service.close()
    console.print(table())


def round_line(round_: Ingested) -> str:
    decided = ", ".join(f"{n} {a}" for a, n in sorted(round_.decisions.items()))
    done = ", ".join(f"{n} {s}" for s, n in sorted(round_.results.items()))
    refused = f", {len(round_.rejected)} malformed" if round_.rejected else ""
    return f"{round_.stored} new ({decided}){refused}; platform: {done or 'nothing to do'}"


def summary_table(service: InboxService, event_id: int, slug: str, total: Ingested) -> Table:
    """Items per status and per platform state, this run's decisions, and each source."""
    with service.store.session() as session:
        statuses = q.counts(session, event_id)
        states = q.counts(session, event_id, "platform_state")
    table = Table("", "count", title=f"inbox of {slug}" + (" (dry run)" if service.dry_run else ""))
    for name, n in sorted(statuses.items()):
        table.add_row(f"status {name}", f"{n:,}")
    for name, n in sorted(states.items()):
        table.add_row(f"on the platform: {name}", f"{n:,}")
    table.add_row("this run: new items", f"{total.stored:,}")
    for action, n in sorted(total.decisions.items()):
        table.add_row(f"this run: {action}", f"{n:,}")
    if total.rejected:
        table.add_row("this run: malformed, refused", f"{len(total.rejected):,}")
    for source, status in sorted(service.sources.items()):
        table.add_row(f"source {source}", status[:80])
    return table


# -- the queue and decisions ------------------------------------------------------------------


@inbox_app.command("queue")
def queue_cmd(
    event: EventArg,
    status: Annotated[
        str | None, typer.Option(help="new, allowed, review, hidden, appealed")
    ] = None,
    platform: Annotated[str | None, typer.Option()] = None,
    language: Annotated[str | None, typer.Option(help="urdu, roman_urdu, english, mixed")] = None,
    category: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """The event's inbox, newest first."""
    if status is not None and status not in q.STATUSES:
        raise UserError(f"unknown status {status!r}; one of {', '.join(q.STATUSES)}")
    with opened() as (store, _), store.session() as session:
        found = get_event(session, event)
        where = q.QueueFilter(
            status=status, platform=platform, language=language, category=category
        )
        rows, total = q.queue(session, found.id, where, limit=limit)
        table = Table(
            "id",
            "time",
            "platform",
            "author",
            "text",
            "lang",
            "status",
            "category",
            "score",
            "platform state",
            title=f"{len(rows)} of {total:,} items",
        )
        for r in rows:
            table.add_row(
                str(r.id),
                show(r.created_at, found.timezone, "%H:%M:%S"),
                r.platform,
                r.author_name[:20],
                _short(r.text),
                r.language,
                r.status,
                r.category or "",
                f"{r.score:.2f}" if r.score is not None else "",
                r.platform_state,
            )
    console.print(table)


@inbox_app.command("ask")
def ask_cmd(
    event: EventArg,
    language: Annotated[
        str | None, typer.Option(help="Only this language: urdu, roman_urdu, english, mixed.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000)] = 30,
) -> None:
    """The comments to label next: those the model is least sure about (active learning).

    Label one by deciding about it (`jalsa inbox decide`, or its page); `jalsa inbox labels`
    then exports the decisions for `jalsa inbox train --labels`."""
    from jalsa.inbox.active_learning import least_sure
    from jalsa.inbox.model_files import load_model

    settings = get_settings()
    with opened() as (store, _), store.session() as session:
        found = get_event(session, event)
        candidates = q.unlabelled_items(session, found.id, language=language)
        with console.status(f"scoring {len(candidates):,} unlabelled items..."):
            model = load_model(settings.inbox_model_file, data_dir=settings.data_dir)
            asks = least_sure(model, candidates, limit)
        table = Table("id", "lang", "abusive", "near", "text", title=_ask_title(asks, candidates))
        for ask in asks:
            table.add_row(
                str(ask.item.id), ask.language, f"{ask.abusive:.2f}", ask.near,
                _short(ask.item.text),
            )  # fmt: skip
    console.print(table)


def _ask_title(asks: list[Any], candidates: list[Any]) -> str:
    return f"{len(asks)} of {len(candidates):,} unlabelled items, least sure first"


def _short(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@inbox_app.command("show")
def show_cmd(
    item: Annotated[int, typer.Argument(help="Item id (from `jalsa inbox queue`).")],
) -> None:
    """One item with every decision about it and its replies."""
    with opened() as (store, _), store.session() as session:
        row = q.get_item(session, item)
        console.print(
            f"[bold]{row.platform} {row.kind} {row.external_id}[/bold] by "
            f"{row.author_name} ({row.author_id})",
            highlight=False,
        )
        console.print(row.text, highlight=False, markup=False)
        console.print(
            f"status {row.status}, {row.language}, {row.category or 'no category'} "
            f"({row.reason}); on the platform: {row.platform_state} {row.platform_detail}",
            highlight=False,
            markup=False,
        )
        table = Table("decision", "at", "by", "action", "score", "policy", "model", "platform")
        for d in q.item_decisions(session, row.id):
            table.add_row(
                str(d.id),
                d.at.strftime("%Y-%m-%d %H:%M:%S"),
                d.actor,
                d.action + (f" (undoes {d.reverses})" if d.reverses else ""),
                f"{d.score:.2f}" if d.score is not None else "",
                d.policy_version or "",
                d.model_version or "",
                d.result_status or "",
            )
        console.print(table)


@inbox_app.command("decide")
def decide_cmd(
    item: Annotated[int, typer.Argument(help="Item id (from `jalsa inbox queue`).")],
    action: Annotated[str, typer.Argument(help=", ".join(HUMAN_ACTIONS))],
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    category: Annotated[str | None, typer.Option(help="What it is, if not the item's.")] = None,
    dry_run: Annotated[bool | None, typer.Option("--dry-run/--act")] = None,
) -> None:
    """Decide about an item as a moderator; the platform follows (hide, unhide, ban)."""
    with opened() as (store, settings):
        service = InboxService(store, settings, dry_run=dry_run)
        decision = _run_async(
            service, service.decide(item, action, operator(), reason, category=category)
        )
        result = (
            f"; platform: {decision.result_status} {decision.result_detail}"
            if decision.result_status
            else ""
        )
        console.print(f"decision {decision.id}: {action} item {item}{result}", highlight=False)


@inbox_app.command("undo")
def undo_cmd(
    decision: Annotated[int, typer.Argument(help="Decision id (from `jalsa inbox show ITEM`).")],
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    dry_run: Annotated[bool | None, typer.Option("--dry-run/--act")] = None,
) -> None:
    """Undo an item's latest decision; the item and the platform go back."""
    with opened() as (store, settings):
        service = InboxService(store, settings, dry_run=dry_run)
        undone = _run_async(service, service.undo(decision, operator(), reason))
        with store.session() as session:
            status = q.get_item(session, undone.item_id).status
        console.print(
            f"decision {undone.id} undoes {decision}: item {undone.item_id} is {status}",
            highlight=False,
        )


def _run_async(service: InboxService, coro: Any) -> Any:
    async def run() -> Any:
        try:
            return await coro
        finally:
            await service.close()

    return asyncio.run(run())


@inbox_app.command("labels")
def labels_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file: text,label,language.")],
    since: Annotated[
        str | None, typer.Option(help="Only decisions from this time (YYYY-MM-DD HH:MM, UTC).")
    ] = None,
) -> None:
    """The moderators' decisions as training labels for the classifier."""
    from jalsa import csvsafe
    from jalsa.timeutil import parse_local

    start = parse_local(since, "UTC") if since else None
    with opened() as (store, _), store.session() as session:
        labels = q.labels_since(session, start)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csvsafe.writer(f)
        writer.writerow(["text", "label", "language"])
        writer.writerows(labels)
    console.print(f"{len(labels):,} labels written to {out}", highlight=False)


# -- the policy ---------------------------------------------------------------------------------


@policy_app.command("check")
def policy_check(file: Annotated[Path, typer.Argument(help="A policy YAML file.")]) -> None:
    """Validate a policy file: every problem with its line, or its version and rules."""
    from jalsa.inbox.policy_file import load_policy

    found = load_policy(file)
    console.print(
        f"{file}: policy {found.version!r} ({found.name}) is valid: "
        f"{len(found.categories)} categories, {len(found.replies.templates)} reply templates, "
        f"rules hash {found.content_hash[:12]}",
        highlight=False,
    )


def _mount_model_commands() -> None:
    """`train` and `evaluate` from the classifier's own CLI, when it is installed."""
    try:
        from jalsa.cli.inbox_model import model_app
    except ImportError:
        return
    for command in model_app.registered_commands:
        if command.name in ("train", "evaluate") or (
            command.name is None
            and command.callback is not None
            and command.callback.__name__ in ("train", "evaluate")
        ):
            inbox_app.registered_commands.append(command)


_mount_model_commands()
