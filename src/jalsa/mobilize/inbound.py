"""Messages supporters send us: STOP opts the number out (and is confirmed), START takes a
number's own opt-out back, HELP is answered. Each inbound message is stored once, by the
gateway's id of it, so a gateway that posts it twice gets one opt-out and one answer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jalsa.mobilize.encoding import plan
from jalsa.mobilize.gateways.base import Inbound
from jalsa.mobilize.keywords import keyword
from jalsa.mobilize.supporters import opt_out
from jalsa.store.models import OptOut, SmsInbound, SmsMessage, Supporter

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


def record_inbound(
    session: Session, gateway: str, message: Inbound, now: datetime, *, timezone: str = "UTC"
) -> SmsInbound | None:
    """Store an inbound message and act on its keyword. None if it was stored before."""
    seen = session.scalars(
        select(SmsInbound.id).where(
            SmsInbound.gateway == gateway, SmsInbound.gateway_id == message.gateway_id
        )
    ).first()
    if seen is not None:
        return None
    row = SmsInbound(
        gateway=gateway,
        gateway_id=message.gateway_id,
        phone=message.sender,
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
