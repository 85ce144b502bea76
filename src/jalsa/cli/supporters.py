"""`jalsa supporters`: import supporter lists, list supporters, opt a number out.

Phone numbers are personal data: commands show them masked, all but the last four digits."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from jalsa.cli.common import byte_progress, open_store, operator
from jalsa.config import get_settings
from jalsa.errors import UserError
from jalsa.mobilize import supporters as sp
from jalsa.mobilize.phones import InvalidPhone, normalize
from jalsa.mobilize.supporters_import import ImportReport, import_csv
from jalsa.store.models import Consent, OptOut
from jalsa.terminal import console

# Paragraphs without line breaks inside: the help formatter wraps them to the terminal.
IMPORT_HELP = "\n\n".join(
    " ".join(paragraph.split())
    for paragraph in [
        """Import a supporter list (CSV, UTF-8) into the store.""",
        """The first line names the columns (any case; comma, semicolon or tab separated):
        phone (required), name, city, constituency, language (ur or en), tags (separated by ;
        or |), timezone, consent (the purposes agreed to: reminders, general or all, separated
        by ;), consent_source, consent_at ("2026-11-01 18:00" in Asia/Karachi, or ISO 8601
        with an offset) and opt_out (yes/no). Without a consent column every row's consent
        is for --purpose.""",
        """Consent is recorded only with a time and a source. A number seen again updates the
        supporter (non-empty cells win, tags are added, the earliest consent is kept); a
        number in the opt-out registry stays opted out. Rows that cannot be used are written
        to --rejects with their line numbers: fix them there and import that file again.""",
    ]
)

supporters_app = typer.Typer(
    help="Supporters for SMS mobilization: import lists, list them, opt numbers out.",
    no_args_is_help=True,
)


def mask(phone: str) -> str:
    """All but the last four digits hidden: enough to tell supporters apart on screen."""
    return phone[:1] + "*" * max(0, len(phone) - 5) + phone[-4:]


def default_rejects(source: Path) -> Path:
    """Where an import's rejects go unless --rejects says: under the data dir, never next to
    the list (which may sit in a repository or a shared folder)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return get_settings().data_dir / "supporters" / "rejects" / f"{stamp}-{source.stem}.csv"


@supporters_app.command("import", help=IMPORT_HELP)
def import_cmd(
    file: Annotated[Path, typer.Argument(help="The CSV file.", dir_okay=False)],
    region: Annotated[str, typer.Option(help="Country of numbers without a code.")] = "PK",
    rejects: Annotated[
        Path | None,
        typer.Option(help="Where to write rejected rows (default: under the data dir)."),
    ] = None,
    purpose: Annotated[
        list[str] | None,
        typer.Option(help="Consent purpose when the file has no consent column; repeatable."),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Consent source for rows without a consent_source.")
    ] = None,
) -> None:
    purposes = purpose or ["reminders"]
    for p in purposes:
        if p not in sp.PURPOSES:
            raise UserError(f"unknown purpose {p!r}: one of {', '.join(sp.PURPOSES)}")
    if not file.is_file():
        raise UserError(f"no such file: {file}")
    target = rejects or default_rejects(file)
    store = open_store()
    try:
        with byte_progress("importing") as bar:
            task = bar.add_task("import", total=file.stat().st_size)
            report = import_csv(
                store,
                file,
                region=region.upper(),
                default_purposes=purposes,
                source=source,
                rejects=target,
                progress=lambda n: bar.advance(task, n),
            )
    finally:
        store.dispose()
    console.print(summary_table(report))
    _print_notes(report)
    if report.imported == 0:
        raise UserError(f"no supporter imported from {file}: {_why_nothing(report)}")


def summary_table(report: ImportReport) -> Table:
    table = Table("", "Rows", title="Import")
    for label, value in [
        ("rows read", report.rows),
        ("new supporters", report.new),
        ("updated", report.updated),
        ("repeats merged", report.duplicates),
        ("rejected", report.invalid),
        ("opted out (no message)", report.opted_out),
        *((f"no consent recorded: {p}", n) for p, n in report.without_consent.items()),
    ]:
        table.add_row(label, f"{value:,}")
    return table


def _print_notes(report: ImportReport) -> None:
    if report.ignored_columns:
        console.print(f"ignored columns: {', '.join(report.ignored_columns)}", highlight=False)
    if not report.invalid:
        return
    console.print(
        f"[yellow]{report.invalid:,} rows rejected[/yellow], written to {report.rejects_file}"
        " (fix them there and import that file again); the first:",
        highlight=False,
    )
    for reject in report.first_rejects:
        console.print(f"  line {reject.line}: {reject.reason}", highlight=False)


def _why_nothing(report: ImportReport) -> str:
    if report.rows == 0:
        return "it has a header but no rows"
    return f"all {report.invalid:,} rows were rejected (see {report.rejects_file})"


@supporters_app.command("list")
def list_cmd(
    city: Annotated[list[str] | None, typer.Option(help="Only this city; repeatable.")] = None,
    constituency: Annotated[
        list[str] | None, typer.Option(help="Only this constituency; repeatable.")
    ] = None,
    language: Annotated[list[str] | None, typer.Option(help="ur or en; repeatable.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Having this tag; repeatable.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many to show.")] = 50,
    after: Annotated[int, typer.Option(help="Start after this supporter id (paging).")] = 0,
) -> None:
    """List supporters by id, phone numbers masked; filters combine (city AND tag ...)."""
    segment = {"city": city or [], "constituency": constituency or []}
    segment |= {"language": language or [], "tags": tag or []}
    store = open_store()
    try:
        with store.session() as session:
            found = session.scalars(sp.segment_query(segment, after_id=after, limit=limit)).all()
            ids = [s.id for s in found]
            purposes: dict[int, list[str]] = {}
            for sid, p in session.execute(
                select(Consent.supporter_id, Consent.purpose)
                .where(Consent.supporter_id.in_(ids))
                .order_by(Consent.purpose)
            ):
                purposes.setdefault(sid, []).append(p)
            stopped = set(
                session.scalars(
                    select(OptOut.phone).where(OptOut.phone.in_(s.phone for s in found))
                )
            )
    finally:
        store.dispose()
    if not found:
        console.print("no supporters found: jalsa supporters import FILE")
        return
    table = Table("Id", "Phone", "Name", "City", "Constituency", "Lang", "Tags", "Consent")
    for s in found:
        consent = "opted out" if s.phone in stopped else ", ".join(purposes.get(s.id, [])) or "—"
        table.add_row(
            str(s.id), mask(s.phone), s.name, s.city, s.constituency, s.language,
            ", ".join(s.tags), consent,
        )  # fmt: skip
    console.print(table)
    if len(found) == limit:
        console.print(f"more: --after {found[-1].id}", highlight=False)


@supporters_app.command("opt-out")
def opt_out_cmd(
    phone: Annotated[str, typer.Argument(help="The number, in any usual spelling.")],
    region: Annotated[str, typer.Option(help="Country of a number without a code.")] = "PK",
) -> None:
    """Put a number in the opt-out registry: it gets no campaign message again, whatever its
    consent or a later import says."""
    try:
        e164 = normalize(phone, region.upper())
    except InvalidPhone as exc:
        raise UserError(f"{phone!r}: {exc}") from None
    store = open_store()
    try:
        with store.session() as session:
            before = sp.is_opted_out(session, e164)
            entry = sp.opt_out(session, e164, "manual", operator())
            since = entry.at
    finally:
        store.dispose()
    if before:
        console.print(f"{mask(e164)} was already opted out (since {since:%Y-%m-%d %H:%M} UTC)")
    else:
        console.print(f"{mask(e164)} is opted out: no campaign message will be sent to it")
