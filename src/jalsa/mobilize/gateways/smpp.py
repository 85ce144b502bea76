"""The SMPP 3.4 gateway: one transceiver bind to an operator's SMSC, built on `smpplib`.

One bind carries both ways: our submit_sm out, and the SMSC's deliver_sm in (delivery receipts and
supporters' messages). A reader thread owns the socket's reading side; whoever sends (the
outbox's thread in `submit`, the keepalive thread's enquire_link, the reader's own answers) takes
one lock that covers making the PDU (which draws its sequence number) and writing it, so
sequence numbers stay unique and PDUs never interleave on the wire.

`submit` pipelines: up to `window` submit_sm are on the wire unanswered at once. A submission
written without an answer (the connection dropped, the answer timed out) is "unknown": the SMSC
may have it, so it must not be sent again blindly; a delivery receipt settles it later. A
submission never written is "retry". A long text goes in parts with a concatenation header; the
message's id is its first part's, and receipts for any part are reported under that id (see
`_PartMap`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import secrets
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import smpplib.client
import smpplib.consts as c
import smpplib.exceptions
import smpplib.smpp

from jalsa.errors import UserError
from jalsa.mobilize.encoding import encode, gsm7_decode, plan
from jalsa.mobilize.gateways.base import (
    FINAL_RECEIPT_STATES,
    Gateway,
    Handlers,
    Inbound,
    Outcome,
    OutgoingSms,
    Receipt,
    ReceiptState,
    SubmitResult,
)

log = logging.getLogger(__name__)

# Field sizes of bind_transceiver (SMPP 3.4, 4.1.1), without the terminating NUL.
MAX_SYSTEM_ID = 15
MAX_PASSWORD = 8

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


def _text(value: Any) -> str:
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


class _PartMap:
    """Which message each part id belongs to, so a receipt for any part names the message.

    A one-part message's receipt passes straight through. For several parts, a failed part
    fails the message at once; "delivered" is reported when every part was delivered; later
    receipts for a settled message are dropped. Bounded: at most `limit` parts, none older than
    `max_age` seconds; the oldest go first."""

    def __init__(self, limit: int = 200_000, max_age: float = 3 * 86400.0) -> None:
        self._lock = threading.Lock()
        self._first: OrderedDict[str, str] = OrderedDict()  # part id -> first part's id
        self._added: OrderedDict[str, float] = OrderedDict()  # first part's id -> when added
        self._max_age = max_age
        self._total: dict[str, int] = {}  # first part's id -> parts (gone once settled)
        self._delivered: dict[str, set[str]] = {}  # first part's id -> parts delivered
        self._text: dict[str, str] = {}  # first part's id -> its receipt's text
        self._limit = limit

    def add(self, first: str, part_ids: list[str], total: int) -> None:
        """Part ids as their answers come in (before their receipts can): `first` is the
        message's first part's id, `total` its number of parts."""
        with self._lock:
            for part_id in part_ids:
                self._first[part_id] = first
            self._total.setdefault(first, total)
            self._delivered.setdefault(first, set())
            self._added.setdefault(first, time.monotonic())
            while len(self._first) > self._limit:
                _part, oldest = self._first.popitem(last=False)
                self._settle(oldest)
                self._added.pop(oldest, None)
            self._expire(time.monotonic() - self._max_age)

    def _expire(self, before: float) -> None:
        """Forget messages added before `before` (a receipt that late is matched by the outbox
        by key or recipient instead)."""
        while self._added and next(iter(self._added.values())) < before:
            first, _at = self._added.popitem(last=False)
            self._settle(first)
        while self._first and next(iter(self._first.values())) not in self._added:
            self._first.popitem(last=False)

    def _settle(self, first: str) -> None:
        self._total.pop(first, None)
        self._delivered.pop(first, None)
        self._text.pop(first, None)

    def resolve(self, receipt: Receipt) -> Receipt | None:
        """The receipt to report for the message, or None while its other parts are due."""
        part = receipt.gateway_id or ""
        with self._lock:
            first = self._first.get(part)
            if first is None:
                return receipt
            if first not in self._total:  # already settled
                return None
            if part == first:
                self._text[first] = receipt.text_start
            if receipt.state == "delivered":
                self._delivered[first].add(part)
                if len(self._delivered[first]) < self._total[first]:
                    return None
            elif receipt.state not in FINAL_RECEIPT_STATES:
                return _with_id(receipt, first, self._text.get(first))
            settled = _with_id(receipt, first, self._text.get(first))
            self._settle(first)
            return settled

    def ids_of(self, first: str) -> list[str]:
        """Every part id of the message whose first part is `first` (itself when unknown)."""
        with self._lock:
            return [part for part, owner in self._first.items() if owner == first] or [first]


def _with_id(receipt: Receipt, gateway_id: str, text_start: str | None) -> Receipt:
    """The receipt as the message's: its first part's id and, when known, its text."""
    return Receipt(
        state=receipt.state,
        gateway_id=gateway_id,
        key=receipt.key,
        recipient=receipt.recipient,
        text_start=receipt.text_start if text_start is None else text_start,
        error=receipt.error,
        at=receipt.at,
    )


@dataclass
class _Part:
    """One submit_sm of a message, from written to answered."""

    message: int  # index in the batch
    siblings: list[_Part] = field(default_factory=list)  # all parts of its message, in order
    deadline: float = 0.0
    outcome: Outcome | None = None
    message_id: str = ""
    detail: str = ""


@dataclass
class _Batch:
    """The parts of one `submit` call, by message."""

    parts: list[list[_Part]] = field(default_factory=list)


class SmppGateway(Gateway):
    """An SMPP 3.4 transceiver bind with windowed submission, receipts, MO and reconnection."""

    name = "smpp"

    def __init__(
        self,
        host: str,
        port: int,
        system_id: str,
        password: str,
        *,
        window: int = 10,
        system_type: str = "",
        enquire_link_seconds: float = 30.0,
        response_timeout: float = 10.0,
        reconnect_max_seconds: float = 60.0,
        registered_delivery: bool = True,
    ) -> None:
        if len(password.encode()) > MAX_PASSWORD or len(system_id.encode()) > MAX_SYSTEM_ID:
            raise UserError(
                f"SMPP 3.4 allows a system_id of at most {MAX_SYSTEM_ID} and a password of at "
                f"most {MAX_PASSWORD} characters; check the ones the SMSC operator gave you"
            )
        self.host, self.port, self.system_id = host, port, system_id
        self._password = password
        self.window = max(1, window)
        self.system_type = system_type
        self.enquire_link_seconds = enquire_link_seconds
        self.response_timeout = response_timeout
        self.reconnect_max_seconds = reconnect_max_seconds
        self.registered_delivery = registered_delivery
        self.handlers = Handlers()
        self.parts = _PartMap()
        self._client: Any = None
        self._write_lock = threading.Lock()  # PDU creation (sequence) + socket write
        self._state = threading.Condition()  # guards _inflight, _bound, _closing
        self._inflight: dict[int, _Part] = {}
        self._bound = False
        self._last_error = "not bound yet"
        self._closing = False
        self._last_io = time.monotonic()
        self._link_sent: float | None = None
        self._keepalive: threading.Thread | None = None
        self._readers: list[threading.Thread] = []

    def __repr__(self) -> str:  # never show the password
        return f"SmppGateway({self.host}:{self.port}, system_id={self.system_id!r})"

    # -- connection ------------------------------------------------------------------------------

    def open(self, handlers: Handlers) -> None:
        """Bind once now: wrong credentials raise UserError; an SMSC that cannot be reached is
        retried in the background (submissions meanwhile come back "retry")."""
        self.handlers = handlers
        self._closing = False
        try:
            self._bind()
        except OSError as exc:
            self._last_error = str(exc)
            log.warning("SMSC %s:%s unreachable (%s); will keep trying", self.host, self.port, exc)
        self._keepalive = threading.Thread(target=self._keep_alive, name="smpp-keepalive")
        self._keepalive.daemon = True
        self._keepalive.start()

    def _bind(self) -> None:
        """Connect and bind_transceiver; start the reader on success."""
        client = smpplib.client.Client(
            self.host, self.port, timeout=self.response_timeout, allow_unknown_opt_params=True
        )
        client.logger.setLevel(logging.INFO)  # smpplib's DEBUG dumps PDUs, the bind's password too
        try:
            client.connect()
            client.bind_transceiver(
                system_id=self.system_id, password=self._password, system_type=self.system_type
            )
        except smpplib.exceptions.PDUError as exc:
            client.disconnect()
            status = exc.args[1] if len(exc.args) > 1 else c.SMPP_ESME_RBINDFAIL
            if status in CREDENTIAL_STATUSES:
                raise UserError(
                    f"The SMSC at {self.host}:{self.port} refused the bind for system_id "
                    f"{self.system_id!r}: {describe_status(status)}. Check the SMPP system_id "
                    "and password."
                ) from None
            raise ConnectionError(f"bind refused: {describe_status(status)}") from None
        except smpplib.exceptions.ConnectionError as exc:
            client.disconnect()
            raise ConnectionError(f"cannot connect: {exc or 'connection refused'}") from None
        with self._state:
            self._client = client
            self._bound = True
            self._last_io = time.monotonic()
            self._link_sent = None
            self._state.notify_all()
        reader = threading.Thread(target=self._read_loop, args=(client,), name="smpp-reader")
        reader.daemon = True
        reader.start()
        self._readers = [r for r in self._readers if r.is_alive()] + [reader]
        log.info("bound to SMSC %s:%s as %s", self.host, self.port, self.system_id)

    def trouble(self) -> str | None:
        if self._bound:
            return None
        return f"not bound to the SMSC at {self.host}:{self.port} ({self._last_error}); retrying"

    def _lost(self, client: Any, why: str, *, unbound: bool = False) -> None:
        """The bind is gone: what was written and unanswered becomes "unknown". `unbound`: it
        ended with an unbind (we read the PDUs ourselves, so smpplib's state is ours to keep:
        an unbound session is "open", and smpplib does not warn when it is disconnected)."""
        with self._state:
            if self._client is not client:
                return
            self._bound = False
            self._last_error = why
            self._client = None
            for part in self._inflight.values():
                part.outcome, part.detail = "unknown", f"no answer: {why}"
            self._inflight.clear()
            self._state.notify_all()
        if unbound or self._closing:  # we asked to unbind: the SMSC may just hang up
            client.state = c.SMPP_CLIENT_STATE_OPEN
        with contextlib.suppress(OSError):
            client.disconnect()
        if not self._closing:
            log.warning("SMPP connection to %s:%s lost: %s", self.host, self.port, why)

    def _keep_alive(self) -> None:
        """Reconnect with capped exponential backoff; enquire_link when idle; drop a link whose
        enquire_link goes unanswered."""
        delay = 1.0
        while not self._closing:
            if not self._bound:
                try:
                    self._bind()
                    delay = 1.0
                    continue
                except (OSError, UserError) as exc:
                    self._last_error = str(exc)
                    log.warning("SMPP reconnect failed: %s; next try in %.0f s", exc, delay)
                    if self._wait_closing(delay):
                        return
                    delay = min(delay * 2, self.reconnect_max_seconds)
                    continue
            self._check_link()
            with self._state:  # a lost bind wakes this at once, to reconnect without delay
                idle = min(1.0, self.enquire_link_seconds / 4)
                self._state.wait_for(lambda: self._closing or not self._bound, timeout=idle)

    def _check_link(self) -> None:
        client = self._client
        if client is None:
            return
        now = time.monotonic()
        if self._link_sent is not None and now - self._link_sent > self.response_timeout:
            self._lost(client, "enquire_link unanswered")
        elif self._link_sent is None and now - self._last_io >= self.enquire_link_seconds:
            self._link_sent = now
            self._send(client, "enquire_link")

    def _wait_closing(self, seconds: float) -> bool:
        """Sleep, waking early on close; True when closing."""
        with self._state:
            self._state.wait_for(lambda: self._closing, timeout=seconds)
            return self._closing

    def _send(
        self, client: Any, command: str, answering: int | None = None, **params: Any
    ) -> int | None:
        """Make and write one PDU under the write lock; its sequence number, None if the
        connection broke (the reader notices and reports it). A response carries the sequence
        number of the request it answers (`answering`)."""
        with self._write_lock:
            pdu = smpplib.smpp.make_pdu(command, client=client, **params)
            if answering is not None:
                pdu.sequence = answering  # smpplib ignores a sequence passed to make_pdu
            try:
                client.send_pdu(pdu)
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
                return None
        self._last_io = time.monotonic()
        return int(pdu.sequence)

    def close(self) -> None:
        """Wait briefly for answers still due, unbind, and stop the threads."""
        with self._state:
            self._state.wait_for(
                lambda: not self._inflight, timeout=min(2.0, self.response_timeout)
            )
            self._closing = True
            client = self._client
            self._state.notify_all()
        if client is not None:
            self._send(client, "unbind")
            with self._state:
                self._state.wait_for(lambda: not self._bound, timeout=1.0)
            self._lost(client, "closed")
        if self._keepalive is not None:
            self._keepalive.join(timeout=5)
        for reader in self._readers:  # each ends within a second of losing its bind
            if reader is not threading.current_thread():
                reader.join(timeout=2)

    # -- reading -------------------------------------------------------------------------------

    def _read_loop(self, client: Any) -> None:
        """Read PDUs until the connection ends; each is handled in `_dispatch`."""
        sock = client._socket
        while self._client is client:
            try:
                readable, _w, _x = select.select([sock], [], [], 1.0)
                if not readable:
                    continue
                pdu = client.read_pdu()
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as e:
                log.debug("read failed: %r", e)
                self._lost(client, "connection closed by the SMSC")
                return
            except Exception as exc:  # a PDU smpplib cannot parse: the stream is no longer framed
                self._lost(client, f"unreadable PDU ({type(exc).__name__})")
                return
            self._last_io = time.monotonic()
            self._dispatch(client, pdu)

    def _dispatch(self, client: Any, pdu: Any) -> None:
        command = pdu.command
        if command in ("submit_sm_resp", "generic_nack"):
            self._answered(
                int(pdu.sequence), int(pdu.status), _text(getattr(pdu, "message_id", ""))
            )
        elif command == "deliver_sm":
            status = self._delivered(pdu)
            self._send(client, "deliver_sm_resp", answering=int(pdu.sequence), status=status)
        elif command == "enquire_link":
            self._send(client, "enquire_link_resp", answering=int(pdu.sequence))
        elif command == "enquire_link_resp":
            self._link_sent = None
        elif command == "unbind":
            self._send(client, "unbind_resp", answering=int(pdu.sequence))
            self._lost(client, "the SMSC unbound", unbound=True)
        elif command == "unbind_resp":
            self._lost(client, "unbound", unbound=True)
        else:
            log.debug("ignored SMPP %s", command)

    def _answered(self, sequence: int, status: int, message_id: str) -> None:
        with self._state:
            part = self._inflight.pop(sequence, None)
            if part is None:
                return  # an answer after its timeout: the part is already "unknown"
            part.outcome = outcome_of(status)
            part.message_id = message_id
            part.detail = "" if part.outcome == "accepted" else describe_status(status)
            self._state.notify_all()
        if part.outcome == "accepted" and len(part.siblings) > 1 and part.siblings[0].message_id:
            # Mapped now, on the reader thread, so no receipt of a part can come in first.
            ids = [sibling.message_id for sibling in part.siblings if sibling.message_id]
            self.parts.add(part.siblings[0].message_id, ids, len(part.siblings))

    def _delivered(self, pdu: Any) -> int:
        """Hand a deliver_sm to the handlers; a handler's failure answers ESME_RX_T_APPN so the
        SMSC delivers it again later."""
        try:
            if int(pdu.esm_class or 0) & ESM_RECEIPT:
                receipt = self._receipt(pdu)
                if receipt is not None:
                    self.handlers.on_receipt(receipt)
            else:
                self.handlers.on_inbound(self._inbound(pdu))
        except Exception:
            log.exception("handling a deliver_sm failed; the SMSC will deliver it again")
            return int(c.SMPP_ESME_RX_T_APPN)
        return int(c.SMPP_ESME_ROK)

    def _receipt(self, pdu: Any) -> Receipt | None:
        text = decode_short_message(pdu.short_message or b"", int(pdu.data_coding or 0))
        receipt = parse_receipt(
            text,
            recipient=e164(_text(pdu.source_addr), int(pdu.source_addr_ton or 0)),
            receipted_message_id=_text(pdu.receipted_message_id) or None,
            message_state=pdu.message_state,
        )
        return self.parts.resolve(receipt)

    def _inbound(self, pdu: Any) -> Inbound:
        data = pdu.short_message or b""
        if int(pdu.esm_class or 0) & ESM_UDHI and data:
            data = data[1 + data[0] :]  # a part of a longer MO: its text without the header
        sender = e164(_text(pdu.source_addr), int(pdu.source_addr_ton or 0))
        to = _text(pdu.destination_addr)
        text = decode_short_message(data, int(pdu.data_coding or 0))
        received = datetime.now(UTC)
        # SMPP gives an MO no id. The same sender, number and text within the hour is taken as
        # the SMSC delivering it again (after a lost deliver_sm_resp), so it is stored once.
        digest = hashlib.sha256(f"{sender}|{to}|{text}".encode()).hexdigest()[:16]
        return Inbound(
            sender=sender,
            to=to,
            text=text,
            gateway_id=f"smpp-mo:{digest}:{received:%Y%m%d%H}",
            received_at=received,
        )

    # -- submitting ------------------------------------------------------------------------------

    def submit(self, messages: Sequence[OutgoingSms]) -> list[SubmitResult]:
        """Pipeline the batch's parts with at most `window` unanswered; one result a message."""
        batch = _Batch()
        for index, message in enumerate(messages):
            parts, data_coding, esm_class = split_text(message.text)
            siblings: list[_Part] = []
            batch.parts.append(siblings)
            for part in parts:
                record = _Part(index, siblings)
                siblings.append(record)
                self._submit_part(message, part, data_coding, esm_class, record)
        self._await_answers()
        return [self._result(message, batch.parts[i]) for i, message in enumerate(messages)]

    def _submit_part(
        self, message: OutgoingSms, part: bytes, data_coding: int, esm_class: int, record: _Part
    ) -> None:
        """Write one submit_sm once the window has room and a bind is up; "retry" if no bind
        comes within the response timeout."""
        client = self._wait_for_room()
        if client is None:
            record.outcome, record.detail = "retry", "not connected to the SMSC"
            return
        source, source_ton, source_npi = source_address(message.sender)
        record.deadline = time.monotonic() + self.response_timeout
        with self._write_lock:
            pdu = smpplib.smpp.make_pdu(
                "submit_sm",
                client=client,
                source_addr=source,
                source_addr_ton=source_ton,
                source_addr_npi=source_npi,
                destination_addr=message.to.lstrip("+"),
                dest_addr_ton=c.SMPP_TON_INTL,
                dest_addr_npi=c.SMPP_NPI_ISDN,
                short_message=part,
                data_coding=data_coding,
                esm_class=esm_class,
                registered_delivery=1 if self.registered_delivery else 0,
            )
            sequence = int(pdu.sequence)
            with self._state:  # registered before the write: the answer may beat send_pdu back
                self._inflight[sequence] = record
            try:
                client.send_pdu(pdu)
            except (smpplib.exceptions.ConnectionError, OSError):
                with self._state:
                    self._inflight.pop(sequence, None)
                record.outcome, record.detail = "retry", "not written: the connection broke"
                return
        self._last_io = time.monotonic()

    def _wait_for_room(self) -> Any:
        """The bound client once fewer than `window` parts are unanswered; None when no bind
        comes within the response timeout. Parts past their deadline become "unknown"."""
        give_up = time.monotonic() + self.response_timeout
        with self._state:
            while True:
                self._expire()
                if self._bound and self._client is not None and len(self._inflight) < self.window:
                    return self._client
                remaining = give_up - time.monotonic()
                if remaining <= 0 or self._closing:
                    return None
                if self._bound:
                    give_up = time.monotonic() + self.response_timeout  # waiting on answers
                self._state.wait(timeout=min(remaining, 0.25))

    def _expire(self) -> None:
        """Parts whose answer is overdue become "unknown" (called with _state held)."""
        now = time.monotonic()
        for sequence, part in list(self._inflight.items()):
            if part.deadline < now:
                part.outcome, part.detail = "unknown", "no answer within the response timeout"
                del self._inflight[sequence]

    def _await_answers(self) -> None:
        with self._state:
            while self._inflight:
                self._expire()
                self._state.wait(timeout=0.25)

    def _result(self, message: OutgoingSms, parts: list[_Part]) -> SubmitResult:
        """All parts accepted: accepted under the first part's id. Otherwise the gravest part
        decides: rejected, then unknown, then retry."""
        for outcome in ("rejected", "unknown", "retry"):
            failed = next((part for part in parts if part.outcome == outcome), None)
            if failed is not None:
                return SubmitResult(message.key, failed.outcome or "unknown", None, failed.detail)
        return SubmitResult(message.key, "accepted", parts[0].message_id)

    def part_ids(self, gateway_id: str) -> list[str]:
        """The ids of all parts of the message whose first part is `gateway_id`."""
        return self.parts.ids_of(gateway_id)
