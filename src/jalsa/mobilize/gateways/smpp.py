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
`smpp_parts.PartMap`). The values it sends and reads (statuses, addresses, parts, receipts) are
`smpp_codec.py`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import select
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import smpplib.client
import smpplib.consts as c
import smpplib.exceptions
import smpplib.smpp

from jalsa.errors import UserError
from jalsa.mobilize.gateways.base import (
    Gateway,
    Handlers,
    Inbound,
    Outcome,
    OutgoingSms,
    Receipt,
    SubmitResult,
)
from jalsa.mobilize.gateways.smpp_codec import (
    CREDENTIAL_STATUSES,
    ESM_RECEIPT,
    ESM_UDHI,
    decode_short_message,
    describe_status,
    e164,
    outcome_of,
    parse_receipt,
    source_address,
    split_text,
    text_of,
)
from jalsa.mobilize.gateways.smpp_parts import PartMap

log = logging.getLogger(__name__)

# Field sizes of bind_transceiver (SMPP 3.4, 4.1.1), without the terminating NUL.
MAX_SYSTEM_ID = 15
MAX_PASSWORD = 8


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
        self.parts = PartMap()
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
                int(pdu.sequence), int(pdu.status), text_of(getattr(pdu, "message_id", ""))
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
            recipient=e164(text_of(pdu.source_addr), int(pdu.source_addr_ton or 0)),
            receipted_message_id=text_of(pdu.receipted_message_id) or None,
            message_state=pdu.message_state,
        )
        return self.parts.resolve(receipt)

    def _inbound(self, pdu: Any) -> Inbound:
        data = pdu.short_message or b""
        if int(pdu.esm_class or 0) & ESM_UDHI and data:
            data = data[1 + data[0] :]  # a part of a longer MO: its text without the header
        sender = e164(text_of(pdu.source_addr), int(pdu.source_addr_ton or 0))
        to = text_of(pdu.destination_addr)
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
