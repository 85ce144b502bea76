"""Campaigns: writing one, previewing what it will send and cost, starting, pausing and
cancelling it, giving its segment's supporters their outbox rows, and its progress.

Everything that walks a segment goes through it in supporter-id order, a chunk at a time, so a
million-supporter campaign is previewed and sent with the memory of one chunk.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from jalsa.errors import NotFound, UserError
from jalsa.ids import parse_ref
from jalsa.mobilize.encoding import plan
from jalsa.mobilize.outbox import (
    OPEN,
    WAITING,
    consented_among,
    event_values,
    opted_out_among,
    reason_counts,
    render_row,
    status_counts,
    supporter_values,
)
from jalsa.mobilize.phones import timezone_of
from jalsa.mobilize.schedule import SendingHours, resolve
from jalsa.mobilize.supporters import PURPOSES, segment_query
from jalsa.mobilize.templates import Templates
from jalsa.store.db import upsert
from jalsa.store.models import Campaign, Event, OptOut, SmsMessage, Supporter
from jalsa.timeutil import utc_now, zone

CHUNK = 1000
STATUSES = ("draft", "scheduled", "sending", "paused", "done", "cancelled", "failed")
FINISHED = ("done", "cancelled", "failed")
SEGMENT_KEYS = ("city", "constituency", "language", "tags")
SEGMENT_VALUES = 50  # values a segment field may list
SEGMENT_LANGUAGES = ("ur", "en", "urdu", "english")  # what supporters.segment_query reads


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign as the user writes it (CLI flags or the web form)."""

    name: str
    texts: dict[str, str]
    purpose: str = "reminders"
    schedule: str = "event-1h"
    event_id: int | None = None
    segment: dict[str, list[str]] = field(default_factory=dict)
    spread_minutes: int = 0
    send_from: str = "09:00"
    send_until: str = "21:00"
    timezone: str = "Asia/Karachi"


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return slug or "campaign"


def create_campaign(
    session: Session, spec: CampaignSpec, user_id: int | None, now: datetime | None = None
) -> Campaign:
    """Check a campaign and store it as a draft. Every mistake is one clear UserError."""
    now = now or utc_now()
    if not spec.name.strip():
        raise UserError("the campaign needs a name")
    if spec.purpose not in PURPOSES:
        raise UserError(f"unknown purpose {spec.purpose!r}; use one of {', '.join(PURPOSES)}")
    segment = checked_segment(spec.segment)
    if spec.spread_minutes < 0:
        raise UserError("the spread must be zero or more minutes")
    templates = Templates.checked(spec.texts)
    SendingHours.parse(spec.send_from, spec.send_until)
    event = session.get(Event, spec.event_id) if spec.event_id is not None else None
    if spec.event_id is not None and event is None:
        raise NotFound(f"no event with id {spec.event_id}")
    send_at = resolve(spec.schedule, spec.timezone, event.starts_at if event else None)
    slug = _free_slug(session, slugify(spec.name))
    campaign = Campaign(
        slug=slug,
        name=spec.name.strip(),
        event_id=spec.event_id,
        purpose=spec.purpose,
        templates=dict(templates.texts),
        segment=segment,
        schedule=spec.schedule,
        send_at=send_at,
        spread_minutes=spec.spread_minutes,
        send_from=spec.send_from,
        send_until=spec.send_until,
        timezone=spec.timezone,
        status="draft",
        cursor=0,
        created_by=user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    session.flush()
    return campaign


def checked_segment(segment: object) -> dict[str, list[str]]:
    """The segment as stored: known fields, each a list of at most SEGMENT_VALUES short texts,
    languages among SEGMENT_LANGUAGES. UserError naming the bad value and the allowed ones."""
    if not isinstance(segment, dict):
        raise UserError("the segment must map fields to lists of values")
    unknown = sorted(str(k) for k in segment if k not in SEGMENT_KEYS)
    if unknown:
        allowed = ", ".join(SEGMENT_KEYS)
        raise UserError(f"unknown segment field(s) {', '.join(unknown)}; use {allowed}")
    out: dict[str, list[str]] = {}
    for key, values in segment.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise UserError(f"the segment's {key} must be a list of texts")
        kept = [v.strip() for v in values if v.strip()]
        if len(kept) > SEGMENT_VALUES or any(len(v) > 100 for v in kept):
            raise UserError(
                f"the segment's {key} lists too much: at most {SEGMENT_VALUES} values of 100 "
                "characters"
            )
        if key == "language":
            bad = [v for v in kept if v.lower() not in SEGMENT_LANGUAGES]
            if bad:
                allowed = ", ".join(SEGMENT_LANGUAGES)
                raise UserError(f"unknown language {bad[0]!r} in the segment; use {allowed}")
        if kept:
            out[key] = kept
    return out


def check_sendable(campaign: Campaign) -> None:
    """UserError saying why a stored campaign cannot be sent (its row was changed behind the
    app's back, or by an older version): segment, texts, sending hours and time zone."""
    what = f"campaign {campaign.slug} cannot be sent"
    try:
        checked_segment(campaign.segment)
        if not isinstance(campaign.templates, dict):
            raise UserError("its texts are not a language -> text map")
        Templates.checked(campaign.templates)
        SendingHours.parse(campaign.send_from, campaign.send_until)
        zone(campaign.timezone)
    except UserError as exc:
        raise UserError(f"{what}: {exc}") from None
    except (ValueError, LookupError) as exc:
        raise UserError(f"{what}: {exc}") from None


def fail_campaign(session: Session, campaign: Campaign, reason: str, now: datetime) -> int:
    """Stop a campaign that cannot be sent, saying why; its waiting messages are skipped
    (those already handed to the gateway still settle). Returns how many were skipped."""
    campaign.status = "failed"
    campaign.failure = reason[:1000]
    return _finish(session, campaign, "campaign failed", now)


def _finish(session: Session, campaign: Campaign, why: str, now: datetime) -> int:
    """Mark the campaign finished now and skip its waiting messages with `why`; how many."""
    campaign.finished_at = now
    campaign.updated_at = now
    result = session.execute(
        update(SmsMessage)
        .where(SmsMessage.campaign_id == campaign.id, SmsMessage.status.in_(WAITING))
        .values(status="skipped", reason=why, updated_at=now, done_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


RESERVED_SLUGS = frozenset({"new"})  # taken by the web app's addresses (/sms/new)


def _free_slug(session: Session, base: str) -> str:
    taken = set(session.scalars(select(Campaign.slug).where(Campaign.slug.like(f"{base}%"))))
    taken |= RESERVED_SLUGS
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def get_campaign(session: Session, ref: str) -> Campaign:
    """A campaign by slug or id (see `jalsa.ids`: '01' is not campaign 1)."""
    wanted = parse_ref(ref)
    found = None
    if wanted.slug is not None:
        found = session.scalars(select(Campaign).where(Campaign.slug == wanted.slug)).first()
    if found is None and wanted.id is not None:
        found = session.get(Campaign, wanted.id)
    if found is None:
        raise NotFound(f"no campaign {ref[:100]!r}; `jalsa sms campaign list` shows them")
    return found


def list_campaigns(session: Session) -> list[Campaign]:
    """Every campaign, newest first."""
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def audience(session: Session) -> tuple[int, int]:
    """(supporters, opted-out numbers) in the store: whom campaigns may reach, in all."""
    supporters = session.scalar(select(func.count()).select_from(Supporter)) or 0
    opted_out = session.scalar(select(func.count()).select_from(OptOut)) or 0
    return supporters, opted_out


def event_of(session: Session, campaign: Campaign) -> Event | None:
    return session.get(Event, campaign.event_id) if campaign.event_id is not None else None


def segment_chunks(
    session: Session, segment: dict[str, list[str]], after_id: int = 0
) -> Iterator[list[Supporter]]:
    """The segment's supporters after `after_id`, a chunk at a time, in id order."""
    while True:
        chunk = list(session.scalars(segment_query(segment, after_id=after_id, limit=CHUNK)))
        if not chunk:
            return
        yield chunk
        after_id = chunk[-1].id
        for supporter in chunk:  # keep memory flat: the chunk's objects are done with
            session.expunge(supporter)


# -- preview -------------------------------------------------------------------------------


# The supporter a preview's sample messages are written for: the campaign pages show them to
# everyone who may see campaigns, and they must not show a real supporter's name or place.
EXAMPLE = {
    "name": "Ayesha Khan",
    "first_name": "Ayesha",
    "city": "Lahore",
    "constituency": "NA-125",
}


@dataclass
class Preview:
    """What a campaign will send: who gets it, in which language and encoding, how many
    segments it takes and what it costs."""

    recipients: int = 0
    sendable: int = 0
    opted_out: int = 0
    no_consent: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    encodings: Counter[str] = field(default_factory=Counter)
    segments: int = 0
    max_segments: int = 0
    too_long: int = 0
    samples: dict[str, str] = field(default_factory=dict)
    cost: float = 0.0
    currency: str = ""

    def segment_histogram(self) -> str:
        return f"{self.segments:,} segments, up to {self.max_segments} per message"


def preview(
    session: Session,
    campaign: Campaign,
    *,
    price_per_segment: float,
    currency: str,
    progress: Callable[[int], None] | None = None,
) -> Preview:
    """Render every message the campaign would send (nothing is stored) and count. UserError
    when the campaign cannot be sent."""
    check_sendable(campaign)
    templates = Templates(campaign.templates)
    event = event_values(event_of(session, campaign), campaign.timezone)
    result = Preview(currency=currency)
    for chunk in segment_chunks(session, campaign.segment):
        result.recipients += len(chunk)
        opted_out = opted_out_among(session, (s.phone for s in chunk))
        consented = consented_among(session, (s.id for s in chunk), campaign.purpose)
        for supporter in chunk:
            if supporter.phone in opted_out:
                result.opted_out += 1
                continue
            if supporter.id not in consented:
                result.no_consent += 1
                continue
            text, language = templates.render(
                supporter.language, {**event, **supporter_values(supporter)}
            )
            try:
                sms = plan(text)
            except ValueError:
                result.too_long += 1
                continue
            result.sendable += 1
            result.languages[language] += 1
            result.encodings[sms.encoding] += 1
            result.segments += sms.segments
            result.max_segments = max(result.max_segments, sms.segments)
            if language not in result.samples:  # shown to the team: never a real supporter
                result.samples[language] = templates.render(language, {**event, **EXAMPLE})[0]
        if progress:
            progress(len(chunk))
    result.cost = round(result.segments * price_per_segment, 2)
    return result


# -- lifecycle -----------------------------------------------------------------------------


def schedule_campaign(session: Session, campaign: Campaign, now: datetime) -> None:
    """Hand a draft or paused campaign to the sender: it starts at its time."""
    if campaign.status in FINISHED:
        raise UserError(f"campaign {campaign.slug} is {campaign.status}; it cannot be sent again")
    check_sendable(campaign)
    if campaign.status in ("draft", "paused"):
        campaign.status = "scheduled" if campaign.started_at is None else "sending"
        campaign.updated_at = now


def pause_campaign(session: Session, campaign: Campaign, now: datetime) -> None:
    if campaign.status not in ("scheduled", "sending"):
        raise UserError(f"campaign {campaign.slug} is {campaign.status}, not sending")
    campaign.status = "paused"
    campaign.updated_at = now


def cancel_campaign(session: Session, campaign: Campaign, now: datetime) -> int:
    """Stop a campaign for good; its waiting messages are skipped. Returns how many."""
    if campaign.status in FINISHED:
        raise UserError(f"campaign {campaign.slug} is already {campaign.status}")
    campaign.status = "cancelled"
    return _finish(session, campaign, "campaign cancelled", now)


def start_due(session: Session, now: datetime) -> list[Campaign]:
    """Scheduled campaigns whose time has come begin sending; their segment is counted once,
    for the progress bar. One that cannot be sent fails with its reason instead."""
    due = list(
        session.scalars(
            select(Campaign).where(Campaign.status == "scheduled", Campaign.send_at <= now)
        )
    )
    started = []
    for campaign in due:
        try:
            check_sendable(campaign)
        except UserError as exc:
            fail_campaign(session, campaign, str(exc), now)
            continue
        started.append(campaign)
        campaign.status = "sending"
        campaign.started_at = campaign.started_at or now
        campaign.total = session.scalar(
            select(func.count()).select_from(segment_query(campaign.segment).subquery())
        )
        campaign.updated_at = now
    return started


def materialize(session: Session, campaign: Campaign, now: datetime, default_tz: str) -> int:
    """Give the next chunk of the segment (after the campaign's cursor) their outbox rows.
    Returns how many supporters were taken; 0 when the segment is exhausted. A supporter who
    already has a row for this campaign keeps it (the unique key), so a restart between the
    insert and the cursor's update makes nothing twice."""
    chunk = list(
        session.scalars(segment_query(campaign.segment, after_id=campaign.cursor, limit=CHUNK))
    )
    if not chunk:
        return 0
    templates = Templates(campaign.templates)
    event = event_values(event_of(session, campaign), campaign.timezone)
    rows = [render_row(campaign, templates, s, event, _tz(s, default_tz), now) for s in chunk]
    upsert(session, SmsMessage, rows, keys=["campaign_id", "supporter_id"])
    campaign.cursor = chunk[-1].id
    campaign.updated_at = now
    return len(chunk)


def _tz(supporter: Supporter, default_tz: str) -> str:
    """The recipient's zone: their own, else their number's country's if it has one zone."""
    return supporter.timezone or timezone_of(supporter.phone) or default_tz


def finish_if_done(session: Session, campaign: Campaign, now: datetime) -> bool:
    """A sending campaign whose segment is exhausted and whose rows are all settled is done."""
    if campaign.status != "sending":
        return False
    remaining = session.scalar(
        select(func.count()).where(
            SmsMessage.campaign_id == campaign.id, SmsMessage.status.in_(OPEN)
        )
    )
    exhausted = not list(
        session.scalars(segment_query(campaign.segment, after_id=campaign.cursor, limit=1))
    )
    if remaining or not exhausted:
        return False
    campaign.status = "done"
    campaign.finished_at = now
    campaign.updated_at = now
    return True


@dataclass(frozen=True)
class Progress:
    """A campaign's progress for the CLI and the web page."""

    campaign: Campaign
    total: int | None
    counts: dict[str, int]
    reasons: dict[tuple[str, str], int]  # (status, reason) -> rows, for rows that ended unsent

    @property
    def settled(self) -> int:
        return sum(n for status, n in self.counts.items() if status not in OPEN)

    @property
    def sent(self) -> int:
        return sum(self.counts.get(s, 0) for s in ("submitted", "delivered", "failed", "expired"))


def progress_of(session: Session, campaign: Campaign) -> Progress:
    return Progress(
        campaign,
        campaign.total,
        status_counts(session, campaign.id),
        reason_counts(session, campaign.id),
    )
