"""The durable outbox: every SMS is a row before it is sent, and every step it takes is written.

Exactly once per (campaign, recipient) rests on three things:
1. A campaign gives each supporter of its segment at most one row: (campaign_id, supporter_id) is
   unique, and rows are made in supporter-id order behind a cursor kept with the campaign.
2. A row is marked `sending` in the same transaction that takes it from the queue, before the
   gateway sees it; its outcome is written after. A row is only ever moved forward (`RANK`), so a
   receipt that overtakes the sender's own bookkeeping is not undone by it.
3. Rows a dead sender left `sending`, and submissions whose answer was lost, become `unknown`:
   they are not sent again while a delivery receipt may still settle them (the SMSC sends
   receipts for a lost bind's messages when we bind again) or while the gateway can say it has
   them (`Gateway.lookup`). Only after the grace period with neither are they sent again.

Who may be sent to is decided here too, at the moment a row is taken from the queue, so an
opt-out that arrives while a campaign runs stops the very next message: never an opted-out
number, never without consent for the campaign's purpose, never outside the recipient's sending
hours (the row waits, `deferred`, for the next opening).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, union_all, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from jalsa.ids import parse_id
from jalsa.mobilize.encoding import plan
from jalsa.mobilize.gateways.base import (
    FINAL_RECEIPT_STATES,
    OutgoingSms,
    Receipt,
    SubmitResult,
)
from jalsa.mobilize.schedule import SendingHours
from jalsa.mobilize.templates import Templates
from jalsa.store.models import Campaign, Consent, Event, OptOut, SmsMessage, Supporter
from jalsa.timeutil import zone

log = logging.getLogger(__name__)

# How far along a row is; a row never moves to a lower rank.
RANK = {
    "queued": 0,
    "deferred": 0,
    "skipped": 5,
    "sending": 1,
    "unknown": 2,
    "submitted": 3,
    "delivered": 4,
    "failed": 4,
    "expired": 4,
    "rejected": 4,
}
# What each status means, for the CLI, the campaign page and the API.
MEANING = {
    "queued": "waiting for its turn",
    "deferred": "waiting for the recipient's sending hours (their local time)",
    "sending": "being handed to the gateway",
    "unknown": "handed to the gateway, the answer was lost: settled by a receipt or a lookup, "
    "else sent again after the grace period",
    "submitted": "accepted by the gateway; no delivery receipt yet",
    "delivered": "the recipient's network reported it delivered",
    "failed": "the network reported it undelivered",
    "expired": "the network gave up before it could be delivered",
    "rejected": "the gateway refused it (a permanent error)",
    "skipped": "not sent: opted out, no consent, too long or the campaign was cancelled",
}
WAITING = ("queued", "deferred")
OPEN = ("queued", "deferred", "sending", "unknown")  # not settled yet
MAX_ATTEMPTS = 6


def message_key(message_id: int) -> str:
    """The key a gateway carries for a row (Kannel's dlr-url, the REST status callback)."""
    return f"m{message_id}"


def message_id_of(key: str) -> int | None:
    """The row a gateway's key names (`message_key`), or None: a callback's key is input."""
    return parse_id(key[1:]) if key.startswith("m") else None


def backoff(attempts: int) -> timedelta:
    """Wait before a temporary failure is tried again: 15 s, 30 s, 1 min ... capped at 15 min."""
    return timedelta(seconds=min(900, 15 * 2 ** max(0, attempts - 1)))


# -- making rows ---------------------------------------------------------------------------


def event_values(event: Event | None, tz: str) -> dict[str, str]:
    if event is None:
        return {}
    local = event.starts_at.astimezone(zone(tz))
    return {
        "event": event.name,
        "event_date": local.strftime("%d %b"),
        "event_time": local.strftime("%H:%M"),
    }


def supporter_values(supporter: Supporter) -> dict[str, str]:
    return {
        "name": supporter.name,
        "first_name": supporter.name.split(" ", 1)[0] if supporter.name else "",
        "city": supporter.city,
        "constituency": supporter.constituency,
    }


def render_row(
    campaign: Campaign,
    templates: Templates,
    supporter: Supporter,
    event: dict[str, str],
    tz: str,
    now: datetime,
) -> dict[str, object]:
    """The outbox row for one supporter of a campaign (`tz`: the recipient's time zone). A text
    too long to send becomes a `rejected` row that says why, not a crash halfway through the
    campaign."""
    text, language = templates.render(supporter.language, {**event, **supporter_values(supporter)})
    row: dict[str, object] = {
        "kind": "campaign",
        "campaign_id": campaign.id,
        "supporter_id": supporter.id,
        "phone": supporter.phone,
        "language": language,
        "timezone": tz,
        "text": text,
        "status": "queued",
        "not_before": campaign.send_at,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    try:
        sms = plan(text)
        row |= {"encoding": sms.encoding, "segments": sms.segments}
    except ValueError as exc:
        row |= {"encoding": "UCS-2", "segments": 0, "status": "rejected", "reason": str(exc)}
    return row


# -- deciding who may be sent to -------------------------------------------------------------


def opted_out_among(session: Session, phones: Iterable[str]) -> set[str]:
    phones = list(set(phones))
    if not phones:
        return set()
    return set(session.scalars(select(OptOut.phone).where(OptOut.phone.in_(phones))))


def consented_among(session: Session, supporter_ids: Iterable[int], purpose: str) -> set[int]:
    ids = list(set(supporter_ids))
    if not ids:
        return set()
    query = select(Consent.supporter_id).where(
        Consent.supporter_id.in_(ids), Consent.purpose == purpose
    )
    return set(session.scalars(query))


@dataclass(frozen=True)
class Verdict:
    """What to do with a queued row now: send it, hold it until `until`, or skip it for good."""

    action: str  # "send", "defer", "skip"
    reason: str = ""
    until: datetime | None = None


def verdict(
    message: SmsMessage,
    campaign: Campaign | None,
    now: datetime,
    *,
    opted_out: bool,
    consented: bool,
) -> Verdict:
    """The one rule of who may get a campaign message now. A reply to an inbound message (the
    STOP confirmation, HELP) answers the person's own text, so it goes out whatever the hour and
    even to a number that has just opted out."""
    if message.kind == "reply" or campaign is None:
        return Verdict("send")
    if opted_out:
        return Verdict("skip", "opted out")
    if not consented:
        return Verdict("skip", f"no consent for {campaign.purpose}")
    hours = SendingHours.parse(campaign.send_from, campaign.send_until)
    opening = hours.next_opening(now, message.timezone)
    if opening > now:
        return Verdict("defer", "quiet hours", opening)
    return Verdict("send")


# -- what happened to a submission -----------------------------------------------------------


def move(
    session: Session,
    message: SmsMessage,
    status: str,
    now: datetime,
    *,
    only_from: Iterable[str] | None = None,
    **values: Any,
) -> bool:
    """Move a row to `status` if it is still in one of `only_from` (default: any state of a lower
    rank). The condition is part of the UPDATE, so another writer's change made since the row
    was read (a receipt on the gateway's thread, a web callback, a cancel) is never overwritten:
    the row is left as that writer made it and False is returned. On success the loaded object
    is brought up to date too."""
    allowed = (
        list(only_from)
        if only_from is not None
        else [state for state, rank in RANK.items() if rank < RANK[status]]
    )
    values = {"status": status, "updated_at": now, **values}
    if RANK[status] >= 4:
        values.setdefault("done_at", now)
    result = session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == message.id, SmsMessage.status.in_(allowed))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return False
    for name, value in values.items():
        if not isinstance(value, ColumnElement):
            set_committed_value(message, name, value)
    return True


def fill_gateway_id(session: Session, message: SmsMessage, gateway_id: str | None) -> None:
    """Keep the gateway's id of a row that has none yet."""
    if not gateway_id or message.gateway_id:
        return
    session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == message.id, SmsMessage.gateway_id.is_(None))
        .values(gateway_id=gateway_id)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(message, "gateway_id", gateway_id)


def record_results(
    session: Session, results: Sequence[SubmitResult], now: datetime, grace: timedelta
) -> None:
    """Write what the gateway said about each submission of a batch. Only rows still `sending`
    change: a receipt that got there first knows more."""
    ids = [message_id_of(r.key) for r in results]
    rows = {m.id: m for m in session.scalars(select(SmsMessage).where(SmsMessage.id.in_(ids)))}
    for result, message_id in zip(results, ids, strict=True):
        message = rows.get(message_id or -1)
        if message is None:
            continue
        fill_gateway_id(session, message, result.gateway_id)
        sending = ("sending",)
        if result.outcome == "accepted":
            move(session, message, "submitted", now, only_from=sending, reason=result.detail)
        elif result.outcome == "rejected":
            reason = result.detail or "refused by the gateway"
            move(session, message, "rejected", now, only_from=sending, reason=reason)
        elif result.outcome == "unknown":
            reason = result.detail or "no answer from the gateway"
            move(
                session,
                message,
                "unknown",
                now,
                only_from=sending,
                reason=reason,
                not_before=now + grace,
            )
        elif message.attempts >= MAX_ATTEMPTS:
            reason = f"gave up after {message.attempts} tries: {result.detail}"
            move(session, message, "failed", now, only_from=sending, reason=reason)
        else:  # retry: back to the queue, later
            move(
                session,
                message,
                "queued",
                now,
                only_from=sending,
                reason=result.detail,
                not_before=now + backoff(message.attempts),
            )


def find_for_receipt(session: Session, gateway: str, receipt: Receipt) -> SmsMessage | None:
    """The row a receipt is about: by our key, else by the gateway's id, else - for a
    submission whose answer was lost or is not written yet - the newest unsettled row to that
    recipient whose text starts as the receipt says.

    The last two are one query: the sender writes a row's gateway id and moves it from
    `sending` to `submitted` in one transaction, and a receipt read between two separate
    lookups would miss the row in both (it happened: a receipt that outran the bookkeeping)."""
    message_id = message_id_of(receipt.key or "")
    if message_id is not None:
        return session.get(SmsMessage, message_id)
    gateway_id, phone = receipt.gateway_id, receipt.recipient
    # Each branch walks its own index (a single WHERE with OR made SQLite scan every row of
    # the gateway: one receipt took longer the more messages had been sent).
    branches = []
    if gateway_id:
        branches.append(
            select(SmsMessage.id).where(
                SmsMessage.gateway == gateway, SmsMessage.gateway_id == gateway_id
            )
        )
    if phone:
        branches.append(
            select(SmsMessage.id).where(
                SmsMessage.phone == phone,
                SmsMessage.status.in_(("sending", "unknown")),
                SmsMessage.gateway == gateway,
            )
        )
    if not branches:
        return None
    found = session.scalars(select(SmsMessage).where(SmsMessage.id.in_(union_all(*branches))))
    candidates = sorted(found, key=lambda m: (m.gateway_id != gateway_id, -m.id))
    start = receipt.text_start.strip()
    for message in candidates:
        if gateway_id and message.gateway_id == gateway_id:
            return message
        if message.status not in ("sending", "unknown") or message.phone != phone:
            continue
        if not start or message.text.startswith(start) or start.startswith(message.text[:20]):
            return message
    return None


def record_receipt(session: Session, gateway: str, receipt: Receipt, now: datetime) -> bool:
    """Apply a delivery receipt; False when no row matches it."""
    message = find_for_receipt(session, gateway, receipt)
    if message is None:
        log.warning(
            "a %s receipt (%s, id %s) matches no message",
            gateway,
            receipt.state,
            receipt.gateway_id,
        )
        return False
    fill_gateway_id(session, message, receipt.gateway_id)
    if receipt.state in FINAL_RECEIPT_STATES:
        move(session, message, receipt.state, now, reason=receipt.error)
    else:  # any receipt proves the gateway has the message
        move(session, message, "submitted", now)
    return True


# -- counts --------------------------------------------------------------------------------


def status_counts(session: Session, campaign_id: int) -> dict[str, int]:
    query = (
        select(SmsMessage.status, func.count())
        .where(SmsMessage.campaign_id == campaign_id)
        .group_by(SmsMessage.status)
    )
    return {status: count for status, count in session.execute(query)}


def reason_counts(session: Session, campaign_id: int) -> dict[tuple[str, str], int]:
    """Why rows ended unsent: (status, reason) -> count, for skipped, rejected, failed and
    expired rows."""
    query = (
        select(SmsMessage.status, SmsMessage.reason, func.count())
        .where(
            SmsMessage.campaign_id == campaign_id,
            SmsMessage.status.in_(("skipped", "rejected", "failed", "expired")),
        )
        .group_by(SmsMessage.status, SmsMessage.reason)
    )
    return {
        (status, reason or "no reason given"): n for status, reason, n in session.execute(query)
    }


def in_flight_to_unknown(session: Session, now: datetime, grace: timedelta) -> int:
    """Rows a dead sender left `sending`: their outcome is lost, so they wait as `unknown`."""
    result = session.execute(
        update(SmsMessage)
        .where(SmsMessage.status == "sending")
        .values(
            status="unknown",
            reason="the sender stopped before the gateway answered",
            not_before=now + grace,
            updated_at=now,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def to_outgoing(message: SmsMessage) -> OutgoingSms:
    return OutgoingSms(
        key=message_key(message.id),
        to=message.phone,
        text=message.text,
        sender=message.sender or "",
    )
