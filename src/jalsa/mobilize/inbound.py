"""Messages supporters send us: STOP opts the number out (and is confirmed), START takes a
number's own opt-out back, HELP is answered. Each inbound message is stored once, by the
gateway's id of it (and by its sender, text and time when the gateway gives one), so a gateway
that posts it twice gets one opt-out and one answer.

What a forged message can do is bounded here (docs/decisions.md §31): its sender must be a
phone number that can text us (anything else is refused before anything is stored), and the
answers cost money, so each number gets at most one answer per keyword in `ReplyLimits.every`
and all numbers together at most `per_hour` answers an hour. The opt-out itself always applies:
a real STOP must never be dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.mobilize.encoding import plan
from jalsa.mobilize.gateways.base import Inbound
from jalsa.mobilize.keywords import keyword
from jalsa.mobilize.phones import InvalidPhone, normalize
from jalsa.mobilize.supporters import opt_out
from jalsa.store.models import OptOut, SmsInbound, SmsMessage, Supporter

log = logging.getLogger(__name__)
MAX_TEXT = 2000  # characters: a concatenated SMS of 13 UCS-2 parts; nothing real is longer


@dataclass(frozen=True)
class ReplyLimits:
    """How many answers inbound messages may cost: one per number and keyword in `every`, and
    `per_hour` in any hour for all numbers together."""

    every: timedelta = timedelta(hours=1)
    per_hour: int = 500


def sender_number(raw: str) -> str:
    """The sender as E.164; UserError for anything that is not a mobile number (a forged
    `from` of 300 characters, a name, a short code). Gateways write international numbers as
    "+92...", "0092..." or "92..."."""
    text = raw.strip()
    if len(text) > 32:
        raise UserError("inbound message refused: its sender is not a mobile number (too long)")
    candidates = [text]
    if text.isascii() and text.isdigit() and not text.startswith("0"):
        candidates.append("+" + text)
    reason = "no phone number"
    for candidate in candidates:
        try:
            return normalize(candidate)
        except InvalidPhone as exc:
            reason = str(exc)
    raise UserError(
        f"inbound message refused: its sender {text!r} is not a mobile number ({reason})"
    )


# The answers, in the sender's language. They name no organisation (the sender id does) and
# say how to undo what was just done.
ANSWERS = {
    "stop": {
        "en": "You will get no more messages from us. Reply START to receive them again.",
        "ur": "آپ کو ہماری طرف سے مزید پیغامات نہیں آئیں گے۔"
        " دوبارہ پیغامات کے لیے START لکھ بھیجیں۔",
    },
    "start": {
        "en": "You will receive our messages again. Reply STOP to stop them.",
        "ur": "آپ کو ہمارے پیغامات دوبارہ ملیں گے۔ بند کرنے کے لیے STOP لکھ بھیجیں۔",
    },
    "help": {
        "en": "Event reminders and updates by SMS. Reply STOP to stop them.",
        "ur": "جلسوں کی یاد دہانی اور خبریں بذریعہ SMS۔ بند کرنے کے لیے STOP لکھ بھیجیں۔",
    },
}


def _language(session: Session, phone: str, text: str) -> str:
    """The supporter's language if we know them, else the script they wrote in."""
    known = session.scalars(select(Supporter.language).where(Supporter.phone == phone)).first()
    if known:
        return known
    return "ur" if any("\u0600" <= ch <= "\u06ff" for ch in text) else "en"


def _seen(session: Session, gateway: str, message: Inbound, phone: str) -> bool:
    """Stored before: the same gateway id, or the same sender, text and time (a replayed
    callback with another id)."""
    by_id = select(SmsInbound.id).where(
        SmsInbound.gateway == gateway, SmsInbound.gateway_id == message.gateway_id
    )
    if session.scalars(by_id).first() is not None:
        return True
    if message.received_at is None:
        return False
    same = select(SmsInbound.id).where(
        SmsInbound.phone == phone,
        SmsInbound.received_at == message.received_at,
        SmsInbound.text == message.text,
    )
    return session.scalars(same).first() is not None


def _reply_refused(
    session: Session, phone: str, word: str, now: datetime, limits: ReplyLimits
) -> str | None:
    """Why this keyword gets no answer now, or None when it may."""
    recent = (
        select(SmsMessage.id)
        .join(SmsInbound, SmsMessage.inbound_id == SmsInbound.id)
        .where(
            SmsMessage.phone == phone,
            SmsMessage.kind == "reply",
            SmsInbound.keyword == word,
            SmsMessage.created_at > now - limits.every,
        )
        .limit(1)
    )
    if limits.every and session.scalars(recent).first() is not None:
        return f"this number was answered within {limits.every}"
    answered = session.scalar(
        select(func.count()).where(
            SmsMessage.kind == "reply", SmsMessage.created_at > now - timedelta(hours=1)
        )
    )
    if (answered or 0) >= limits.per_hour:
        return f"{limits.per_hour} answers were sent in the last hour"
    return None


def record_inbound(
    session: Session,
    gateway: str,
    message: Inbound,
    now: datetime,
    *,
    timezone: str = "UTC",
    limits: ReplyLimits | None = None,
) -> SmsInbound | None:
    """Store an inbound message and act on its keyword. None if it was stored before.
    UserError, with nothing stored, when its sender is not a mobile number or its text is
    longer than any SMS."""
    limits = limits or ReplyLimits()
    phone = sender_number(message.sender)
    if len(message.text) > MAX_TEXT:
        raise UserError(f"inbound message refused: its text is over {MAX_TEXT} characters")
    if _seen(session, gateway, message, phone):
        return None
    row = SmsInbound(
        gateway=gateway,
        gateway_id=message.gateway_id,
        phone=phone,
        to=message.to,
        text=message.text,
        keyword=keyword(message.text),
        received_at=message.received_at or now,
    )
    session.add(row)
    session.flush()
    if row.keyword == "none":
        return row
    if row.keyword == "stop":
        opt_out(session, row.phone, "sms", row.text[:200], at=now)
    elif row.keyword == "start":
        entry = session.get(OptOut, row.phone)
        if entry is not None:
            session.delete(entry)
    refused = _reply_refused(session, row.phone, row.keyword, now, limits)
    if refused:
        log.warning("no answer to a %s from %s: %s", row.keyword, row.phone[:-4] + "xxxx", refused)
        return row
    language = _language(session, row.phone, row.text)
    text = ANSWERS[row.keyword][language]
    sms = plan(text)
    session.add(
        SmsMessage(
            kind="reply",
            inbound_id=row.id,
            phone=row.phone,
            language=language,
            timezone=timezone,
            text=text,
            encoding=sms.encoding,
            segments=sms.segments,
            status="queued",
            attempts=0,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    return row
