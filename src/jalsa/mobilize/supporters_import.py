"""Importing supporter lists from CSV into the supporters, their consent and the opt-out
registry (`supporters.py`); the file itself is read by `supporters_file.py`.

The CSV convention (also in `jalsa supporters import --help`):

- The first line names the columns: case-insensitive, spaces or dashes count as underscores,
  separated by commas, semicolons or tabs (whichever the header line uses). UTF-8 text (from
  Excel: Save As "CSV UTF-8"). Columns not listed here are ignored and named in the report.
- `phone` (required; `mobile`, `phone_number`, `number` or `msisdn` also do): any common
  spelling, read as a number of the import's region unless it has a country code.
- `name`, `city`, `constituency`; `language`: ur or en ("urdu", "english"), ur by default;
  `tags`: separated by ; or | (kept lowercase); `timezone`: an IANA name such as Asia/Dubai,
  for a supporter whose number does not tell where they live.
- Consent: `consent` lists the purposes the person agreed to, separated by ; | or a comma
  ("reminders", "general", or "all"; empty or "none": no consent). Without a `consent` column,
  every row's consent is for `default_purposes` (the CLI's --purpose, reminders by default).
  `consent_source` says where it was given ("signup form, Lahore jalsa"; the `source` argument
  fills empty cells) and `consent_at` when: ISO 8601, or "2026-11-01 18:00" read in
  Asia/Karachi. Consent is recorded only with both a time and a source: a row without them is
  imported without consent and counted ("no consent recorded") for each purpose.
- `opt_out`: yes/no (y/n, true/false, 1/0). Yes puts the number in the opt-out registry.

Rules:

- One supporter per number. The same number again, later in the file or in a later import:
  its non-empty cells replace the values before them, empty cells change nothing, tags are
  added to the ones it had, and for each purpose the EARLIEST consent is kept (with its
  source): when a person first agreed is what consent records answer for.
- The opt-out registry overrides everything: a number in it stays there whatever a file says
  (opt_out=no removes nothing), and no consent is recorded for it.
- A row that cannot be used (a bad number; an unknown language, time zone or purpose; an
  unreadable consent_at; more cells than the header has names; a value longer than the store
  keeps) is rejected: counted, the first few kept in the report, and written to the rejects
  file when one is given. That file is a CSV of `rejected_line` (the line in the imported
  file), `rejected_reason` and the row's own columns: fix the rows and import it again.

The file is streamed, never read whole: rows are parsed one by one and written in chunks of
`CHUNK_ROWS` with upserts, one transaction per chunk, so a million-row list imports in flat
memory and importing it again is harmless.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import String, select
from sqlalchemy.orm import Session

from jalsa import csvsafe
from jalsa.mobilize.phones import InvalidPhone, normalize
from jalsa.mobilize.supporters import PURPOSES, RowError, check_purpose, language
from jalsa.mobilize.supporters_file import (
    REJECT_COLUMNS,
    Columns,
    Progress,
    check_text,
    open_text,
    records,
)
from jalsa.store import Store
from jalsa.store.db import upsert
from jalsa.store.models import Consent, OptOut, Supporter
from jalsa.timeutil import utc_now

LOCAL_TZ = "Asia/Karachi"  # consent times written without an offset
CHUNK_ROWS = 2000
FIRST_REJECTS = 10
YES = frozenset({"yes", "y", "true", "1", "x"})
NO = frozenset({"no", "n", "false", "0", ""})
# Fields the import replaces when a row has them; tags are merged instead.
FIELDS = ("name", "city", "constituency", "language", "timezone")
MAX_LENGTH = {
    name: cast(String, column.type).length or 0
    for name, column in Supporter.__table__.c.items()
    if name in ("name", "city", "constituency")
}
MAX_SOURCE = cast(String, Consent.__table__.c["source"].type).length or 0


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str
    cells: list[str]


@dataclass
class ImportReport:
    """What an import did, by rows of the file: every row is new, updated, a duplicate or
    invalid (those four add up to `rows`)."""

    rows: int = 0
    new: int = 0  # numbers the store did not have
    updated: int = 0  # numbers it had before this import
    duplicates: int = 0  # numbers repeated in the file, merged into their first row
    invalid: int = 0
    opted_out: int = 0  # rows whose number is in the opt-out registry
    # rows (not opted out) that gave no usable consent for the purpose
    without_consent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PURPOSES, 0))
    first_rejects: list[Reject] = field(default_factory=list)
    rejects_file: Path | None = None
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.new + self.updated + self.duplicates


# -- rows ---------------------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    phone: str
    fields: dict[str, str]  # the non-empty ones of FIELDS
    tags: list[str]
    consents: dict[str, tuple[datetime, str]]  # purpose -> (given at, source)
    opt_out: bool


@dataclass(frozen=True)
class _RowReader:
    """Turns a record's cells into a row to store, or raises RowError (InvalidPhone)."""

    columns: Columns
    region: str
    default_purposes: tuple[str, ...]
    source: str | None
    local_tz: str
    now: datetime

    def read(self, line: int, cells: list[str]) -> _Row:
        if len(cells) > len(self.columns.header):
            raise RowError(
                f"{len(cells)} cells but {len(self.columns.header)} column names "
                "(a separator inside a value needs quotes)"
            )
        cell = self.columns.cell
        fields = {name: value for name in FIELDS if (value := cell(cells, name))}
        for name, limit in MAX_LENGTH.items():
            if len(fields.get(name, "")) > limit:
                raise RowError(f"{name} is longer than {limit} characters")
        if "language" in fields:
            fields["language"] = language(fields["language"])
        if "timezone" in fields:
            fields["timezone"] = _zone(fields["timezone"])
        return _Row(
            line=line,
            phone=normalize(cell(cells, "phone"), self.region),
            fields=fields,
            tags=_tags(cell(cells, "tags")),
            consents=self._consents(cells),
            opt_out=_yes(cell(cells, "opt_out"), "opt_out"),
        )

    def _consents(self, cells: list[str]) -> dict[str, tuple[datetime, str]]:
        cell = self.columns.cell
        if "consent" in self.columns.index:
            purposes = _purposes(cell(cells, "consent"))
        else:
            purposes = self.default_purposes
        source = cell(cells, "consent_source") or self.source or ""
        if len(source) > MAX_SOURCE:
            raise RowError(f"consent_source is longer than {MAX_SOURCE} characters")
        written = cell(cells, "consent_at")
        given_at = self._when(written) if written else None
        if given_at is None or not source:
            return {}
        return dict.fromkeys(purposes, (given_at, source))

    def _when(self, text: str) -> datetime:
        try:
            value = datetime.fromisoformat(text.replace("T", " "))
        except ValueError:
            raise RowError(
                f"cannot read consent_at {text!r}: write it as YYYY-MM-DD HH:MM"
            ) from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(self.local_tz))
        if value > self.now + timedelta(days=1):
            raise RowError(f"consent_at {text!r} is in the future")
        return value


def _zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise RowError(f"unknown time zone {text!r}: an IANA name such as Asia/Karachi") from None
    return text


def _tags(text: str) -> list[str]:
    return list(dict.fromkeys(t for part in re.split(r"[;|]", text) if (t := part.strip().lower())))


def _purposes(text: str) -> tuple[str, ...]:
    words = [w for w in re.split(r"[;|,\s]+", text.strip().lower()) if w]
    if words in ([], ["none"], ["no"]):
        return ()
    if words == ["all"]:
        return PURPOSES
    for word in words:
        if word not in PURPOSES:
            raise RowError(f"unknown consent purpose {word!r}: {', '.join(PURPOSES)} or all")
    return tuple(dict.fromkeys(words))


def _yes(text: str, column: str) -> bool:
    value = text.strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise RowError(f"{column} must be yes or no, not {text!r}")


# -- rejects ------------------------------------------------------------------------------------


class _Rejects:
    """Rejected rows: counted, the first few kept in the report, all written to `path` (a
    CSV created at the first reject, so a clean import leaves no file)."""

    def __init__(self, path: Path | None, header: list[str], report: ImportReport) -> None:
        self.path, self.header, self.report = path, header, report
        self.file: IO[str] | None = None
        self.writer: Any = None

    def add(self, line: int, reason: str, cells: list[str]) -> None:
        self.report.invalid += 1
        if len(self.report.first_rejects) < FIRST_REJECTS:
            self.report.first_rejects.append(Reject(line, reason, cells))
        if self.path is None:
            return
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = self.path.open("w", encoding="utf-8", newline="")
            self.writer = csvsafe.writer(self.file)
            self.writer.writerow([*REJECT_COLUMNS, *self.header])
            self.report.rejects_file = self.path
        self.writer.writerow([line, reason, *cells])

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


# -- the import ---------------------------------------------------------------------------------


def import_csv(
    store: Store,
    path: Path,
    *,
    region: str = "PK",
    default_purposes: Sequence[str] = ("reminders",),
    source: str | None = None,
    rejects: Path | None = None,
    local_tz: str = LOCAL_TZ,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportReport:
    """Import a supporter list (the convention is in the module's docstring). Raises
    UserError, before writing anything, for a file that is empty, not UTF-8 or has no phone
    column; rows that cannot be used are rejected and the import goes on."""
    for purpose in default_purposes:
        check_purpose(purpose)
    check_text(path)
    report = ImportReport()
    stamp = utc_now()  # every row written by this import gets it as updated_at
    with path.open("rb") as raw, open_text(raw, progress) as text:
        header, rows = records(path, text)
        columns = Columns.of(path, header)
        report.ignored_columns = columns.ignored
        reader = _RowReader(columns, region, tuple(default_purposes), source, local_tz, stamp)
        quarantine = _Rejects(rejects, header, report)
        with contextlib.closing(quarantine):
            batch: list[_Row] = []
            for line, cells, problem in rows:
                report.rows += 1
                if problem is not None:
                    quarantine.add(line, problem, cells)
                    continue
                try:
                    batch.append(reader.read(line, cells))
                except (InvalidPhone, RowError) as exc:
                    quarantine.add(line, str(exc), cells)
                if len(batch) >= chunk_rows:
                    _save(store, path, batch, stamp, report)
                    batch = []
            _save(store, path, batch, stamp, report)
    return report


def _save(
    store: Store, path: Path, rows: list[_Row], stamp: datetime, report: ImportReport
) -> None:
    """Write one chunk in one transaction: supporters, then the registry, then consent."""
    if not rows:
        return
    with store.session() as session:
        phones = list({row.phone: None for row in rows})
        _save_supporters(session, rows, phones, stamp, report)
        ids = dict(
            session.execute(
                select(Supporter.phone, Supporter.id).where(Supporter.phone.in_(phones))
            ).all()
        )
        stopped = _save_opt_outs(session, path, rows, phones, stamp)
        _save_consents(session, rows, ids, stopped, stamp)
    for row in rows:
        if row.phone in stopped:
            report.opted_out += 1
            continue
        for purpose in PURPOSES:
            if purpose not in row.consents:
                report.without_consent[purpose] += 1


def _save_supporters(
    session: Session, rows: list[_Row], phones: list[str], stamp: datetime, report: ImportReport
) -> None:
    """Merge the chunk's rows with what the store has and upsert the result, counting each
    row as new, updated or a duplicate. A stored supporter whose updated_at is this import's
    stamp was written by an earlier chunk: a repeat inside the file, found without keeping
    every number of the file in memory."""
    stored = {
        r["phone"]: dict(r)
        for r in session.execute(
            select(
                *(Supporter.__table__.c[c] for c in ("phone", *FIELDS, "tags", "updated_at"))
            ).where(Supporter.phone.in_(phones))
        ).mappings()
    }
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        record = merged.get(row.phone)
        if record is None:
            record = stored.get(row.phone)
            if record is None:
                report.new += 1
                record = _blank(row.phone, stamp)
            elif record["updated_at"] == stamp:
                report.duplicates += 1
            else:
                report.updated += 1
            merged[row.phone] = record
        else:
            report.duplicates += 1
        record.update(row.fields)
        record["tags"] = list(dict.fromkeys([*record["tags"], *row.tags]))
        record["updated_at"] = stamp
    for record in merged.values():
        record.setdefault("created_at", stamp)
    upsert(
        session, Supporter, merged.values(), keys=["phone"], update=[*FIELDS, "tags", "updated_at"]
    )


def _blank(phone: str, stamp: datetime) -> dict[str, Any]:
    return {
        "phone": phone,
        "name": "",
        "city": "",
        "constituency": "",
        "language": "ur",
        "timezone": None,
        "tags": [],
        "created_at": stamp,
        "updated_at": stamp,
    }


def _save_opt_outs(
    session: Session, path: Path, rows: list[_Row], phones: list[str], stamp: datetime
) -> set[str]:
    """Add the rows that say opt_out=yes to the registry; the chunk's numbers now in it."""
    upsert(
        session,
        OptOut,
        [
            {
                "phone": r.phone,
                "at": stamp,
                "source": "import",
                "detail": f"{path.name} line {r.line}",
            }
            for r in rows
            if r.opt_out
        ],
        keys=["phone"],
    )
    return set(session.scalars(select(OptOut.phone).where(OptOut.phone.in_(phones))))


def _save_consents(
    session: Session, rows: list[_Row], ids: dict[str, int], stopped: set[str], stamp: datetime
) -> None:
    """Record the chunk's consents, keeping per supporter and purpose the earliest one given
    (the store's when it is earlier); none for numbers in the opt-out registry."""
    earliest: dict[tuple[int, str], tuple[datetime, str]] = {}
    for row in rows:
        if row.phone in stopped:
            continue
        for purpose, given in row.consents.items():
            key = (ids[row.phone], purpose)
            if key not in earliest or given[0] < earliest[key][0]:
                earliest[key] = given
    if not earliest:
        return
    stored = session.execute(
        select(Consent.supporter_id, Consent.purpose, Consent.given_at).where(
            Consent.supporter_id.in_({sid for sid, _ in earliest})
        )
    )
    for sid, purpose, given_at in stored:
        if (sid, purpose) in earliest and given_at <= earliest[sid, purpose][0]:
            del earliest[sid, purpose]
    upsert(
        session,
        Consent,
        [
            {"supporter_id": sid, "purpose": p, "source": src, "given_at": at, "recorded_at": stamp}
            for (sid, p), (at, src) in earliest.items()
        ],
        keys=["supporter_id", "purpose"],
        update=["source", "given_at", "recorded_at"],
    )
