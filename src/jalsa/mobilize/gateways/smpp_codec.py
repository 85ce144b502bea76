"""What the SMPP gateway sends and receives, as values: command statuses and what they mean for
a message, addresses (TON and NPI out, E.164 in), a text cut into parts with a concatenation
header, a deliver_sm's text decoded, and delivery receipts parsed from their text and TLVs."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

import smpplib.consts as c

from jalsa.mobilize.encoding import encode, gsm7_decode, plan
from jalsa.mobilize.gateways.base import Outcome, Receipt, ReceiptState

# Answers that mean "not now": the SMSC is busy or briefly broken, the message itself is fine.
# ESME_RSUBMITFAIL names no cause, so it gets the benefit of the doubt (the outbox bounds retries).
TEMPORARY_STATUSES = frozenset(
    {
        c.SMPP_ESME_RTHROTTLED,
        c.SMPP_ESME_RMSGQFUL,
        c.SMPP_ESME_RSYSERR,
        c.SMPP_ESME_RSUBMITFAIL,
        c.SMPP_ESME_RX_T_APPN,
        c.SMPP_ESME_RINVBNDSTS,
        c.SMPP_ESME_RUNKNOWNERR,
    }
)
CREDENTIAL_STATUSES = frozenset({c.SMPP_ESME_RINVPASWD, c.SMPP_ESME_RINVSYSID})
STATUS_NAMES = {
    value: name.removeprefix("SMPP_")
    for name, value in vars(c).items()
    if name.startswith("SMPP_ESME_R") and isinstance(value, int)
}

# Receipt `stat:` words and message_state TLV values (SMPP 3.4, 5.2.28) to our states.
STAT_STATES: dict[str, ReceiptState] = {
    "DELIVRD": "delivered",
    "UNDELIV": "failed",
    "EXPIRED": "expired",
    "REJECTD": "rejected",
    "ACCEPTD": "accepted",
    "ENROUTE": "accepted",
    "DELETED": "unknown",
    "UNKNOWN": "unknown",
}
MESSAGE_STATES: dict[int, ReceiptState] = {
    1: "accepted",  # ENROUTE
    2: "delivered",
    3: "expired",
    4: "unknown",  # DELETED
    5: "failed",  # UNDELIVERABLE
    6: "accepted",
    7: "unknown",
    8: "rejected",
}
_RECEIPT_FIELD = re.compile(r"(id|sub|dlvrd|submit date|done date|stat|err):(\S*)", re.IGNORECASE)
_ALPHANUMERIC_TON, _NATIONAL_TON = 5, 3
ESM_RECEIPT = 0x04
ESM_UDHI = 0x40


def describe_status(status: int) -> str:
    """A command_status in words with its name, for a message's status line."""
    name = STATUS_NAMES.get(status, f"0x{status:08X}")
    words = c.DESCRIPTIONS.get(status, "unknown error").lower()
    return f"{words} ({name})"


def outcome_of(status: int) -> Outcome:
    """What a submit_sm_resp's command_status means for the message."""
    if status == c.SMPP_ESME_ROK:
        return "accepted"
    return "retry" if status in TEMPORARY_STATUSES else "rejected"


def source_address(sender: str) -> tuple[str, int, int]:
    """The source address with its TON and NPI: an international number (+digits) is TON 1
    NPI 1 (ISDN), a short code TON 3 (national) NPI 0, a name TON 5 (alphanumeric) NPI 0."""
    if sender.startswith("+") and sender[1:].isdigit():
        return sender[1:], c.SMPP_TON_INTL, c.SMPP_NPI_ISDN
    if sender.isdigit():
        return sender, _NATIONAL_TON, c.SMPP_NPI_UNK
    return sender, _ALPHANUMERIC_TON, c.SMPP_NPI_UNK


def e164(address: str, ton: int = c.SMPP_TON_INTL) -> str:
    """An address from the SMSC as E.164: international and bare long numbers get their +."""
    if address.startswith("+") or not address.isdigit():
        return address
    if ton == c.SMPP_TON_INTL or len(address) > 7:
        return "+" + address
    return address


def split_text(text: str) -> tuple[list[bytes], int, int]:
    """The text's parts, data_coding and esm_class, cut by the encoding rules (GSM-7 as 0, UCS-2
    as 8); more than one part carries a concatenation header (UDHI) with a random reference."""
    sms = plan(text)
    data_coding = c.SMPP_ENCODING_DEFAULT if sms.encoding == "GSM-7" else c.SMPP_ENCODING_ISO10646
    bodies = [encode(part, sms.encoding) for part in sms.parts]
    if len(bodies) == 1:
        return bodies, data_coding, c.SMPP_MSGTYPE_DEFAULT
    reference = secrets.randbelow(256)
    parts = [
        bytes((0x05, 0x00, 0x03, reference, len(bodies), n)) + body
        for n, body in enumerate(bodies, start=1)
    ]
    return parts, data_coding, c.SMPP_GSMFEAT_UDHI


def decode_short_message(data: bytes, data_coding: int) -> str:
    """A deliver_sm's text by its data_coding: UCS-2 (8), Latin-1 (3), else GSM-7 unpacked."""
    if data_coding == c.SMPP_ENCODING_ISO10646:
        return data.decode("utf-16-be", errors="replace")
    if data_coding == c.SMPP_ENCODING_ISO88591:
        return data.decode("latin-1")
    return gsm7_decode(data)


def text_of(value: Any) -> str:
    """smpplib hands parsed C-strings as bytes."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return "" if value is None else str(value)


def _receipt_time(value: str) -> datetime | None:
    """A receipt's YYMMDDhhmm[ss] date, taken as UTC (SMSCs rarely say their zone)."""
    formats = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S"}
    if len(value) not in formats or not value.isdigit():
        return None
    try:
        return datetime.strptime(value, formats[len(value)]).replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_receipt(
    text: str,
    *,
    recipient: str = "",
    receipted_message_id: str | None = None,
    message_state: int | None = None,
) -> Receipt:
    """A delivery receipt from its standard text ("id:... stat:DELIVRD ... text:...") and/or its
    TLVs; the TLVs win when both are there (they are typed, the text is by convention)."""
    head, _, rest = text.partition("text:")
    fields = {key.lower(): value for key, value in _RECEIPT_FIELD.findall(head)}
    state: ReceiptState = "unknown"
    if message_state is not None and message_state in MESSAGE_STATES:
        state = MESSAGE_STATES[message_state]
    elif fields.get("stat"):
        state = STAT_STATES.get(fields["stat"].upper(), "unknown")
    gateway_id = receipted_message_id or fields.get("id") or None
    error = fields.get("err", "")
    return Receipt(
        state=state,
        gateway_id=gateway_id,
        recipient=e164(recipient) if recipient else None,
        text_start=rest if "text:" in text else "",
        error="" if error in ("", "000", "0") else error,
        at=_receipt_time(fields.get("done date", "")),
    )
