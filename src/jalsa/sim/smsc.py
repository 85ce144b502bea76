"""An SMSC simulator: the SMPP 3.4 peer of the SMS gateway in the tests, the benchmark and the demo.

The SMPP work (framing, binds, submit_sm/deliver_sm encoding, timers) is done by `smpp34`, a Rust
implementation independent of `smpplib` (the gateway's library), so the two check each other.
`smpp34`'s server accepts every bind and cannot be asked which port it got, so a thin front door
stands before it: it reads the bind, refuses wrong credentials itself (ESME_RINVPASWD) and then
passes the PDUs both ways untouched, looking only at their headers. That is also where the
simulator sees what a test wants to check (how many submissions were unanswered at once, the
ESME's enquire_links) and where it cuts a connection on purpose.

Behind the door the simulator acts as an SMSC: it assigns message ids, puts concatenated parts
back together, records each message, and sends a delivery receipt (text and TLVs) after a
delay. A receipt whose bind is gone waits for the next bind of the same system_id, as real SMSCs
do. Run as a process: `python -m jalsa.sim.smsc --port 2775 --password secret`.
The pieces of SMPP it reads and writes itself (headers, C-strings, UDH, texts) are
`smpp_wire.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import socket
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import smpp34
from smpp34._smpp34 import (
    ESME_RINVDSTADR,
    ESME_RINVSRCADR,
    ESME_RTHROTTLED,
    TLV_MESSAGE_STATE,
    TLV_RECEIPTED_MESSAGE_ID,
)

from jalsa.sim.smpp_wire import (
    BIND_IDS,
    ENQUIRE_LINK,
    ESM_RECEIPT,
    ESM_UDHI,
    ESME_RINVPASWD,
    ESME_RINVSYSID,
    MESSAGE_STATE,
    SUBMIT_SM,
    SUBMIT_SM_RESP,
    cstrings,
    decode_text,
    encode_text,
    pdu_header,
    read_pdu,
    smpp_time,
    split_udh,
    valid_address,
)

RETRY_SECONDS = 1.0  # before a refused deliver_sm is offered again
MAX_PARTIAL = 10_000  # concatenated messages waiting for their other parts; the oldest go first


@dataclass(frozen=True)
class ReceivedMessage:
    """One whole message as the simulator received it (its parts put back together)."""

    destination: str
    source: str
    text: str
    data_coding: int
    parts: int
    message_id: str  # the first part's id
    part_ids: tuple[str, ...]
    system_id: str
    time: float


@dataclass
class _Part:
    """A received part waiting for its siblings."""

    sequence: int
    message_id: str
    text: str


@dataclass
class _Pending:
    """A deliver_sm (receipt or MO) for a system_id, kept until a bind can take it."""

    system_id: str
    destination: str
    source: str
    body: bytes
    data_coding: int
    esm_class: int
    source_ton: int
    tlvs: list[smpp34.Tlv] = field(default_factory=list)
    session_id: str = ""  # the bind it is meant for, if still there


class _Stats:
    """What the front door observed, for tests."""

    def __init__(self) -> None:
        self.enquire_links = 0
        self.binds = 0
        self.refused_binds = 0
        self.max_outstanding = 0


class Smsc:
    """An SMSC on a background thread with its own event loop. Use as a context manager, or
    `start()`/`stop()`; `port` is known after start."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        system_id: str = "jalsa",
        password: str = "secret",
        *,
        receipt_delay: float = 0.05,
        fail_numbers: Iterable[str] = (),
        response_delay: float = 0.0,
        record: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.system_id = system_id
        self._password = password
        self.receipt_delay = receipt_delay
        self.fail_numbers = {number.lstrip("+") for number in fail_numbers}
        self.response_delay = response_delay
        self._record_path = record
        self._record: TextIO | None = None
        self.stats = _Stats()
        self._lock = threading.Lock()
        self._messages: list[ReceivedMessage] = []
        self._ids = itertools.count(1)
        self._id_prefix = f"{int(time.time()) % 0xFFFF:04X}"
        self._throttle = 0
        self._drop_after: int | None = None
        self._sessions: dict[str, smpp34.Esme] = {}
        self._queued: dict[str, list[_Pending]] = defaultdict(list)
        self._partial: dict[tuple[str, str, int], dict[int, _Part]] = {}
        self._connections: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._front: asyncio.Server | None = None
        self._server: smpp34.Server | None = None
        self._internal_port = 0

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> Smsc:
        """Start the loop thread and wait until the SMSC listens."""
        if self._record_path is not None:
            self._record = self._record_path.open("a", encoding="utf-8")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="smsc", daemon=True)
        self._thread.start()
        self._call(self._open())
        return self

    def stop(self) -> None:
        """Close every connection and the listeners, then the loop."""
        if self._loop is None or self._thread is None:
            return
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
        self._loop = None
        if self._record is not None:
            self._record.close()

    def __enter__(self) -> Smsc:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _call(self, coro: Any, timeout: float = 10.0) -> Any:
        """Run a coroutine on the SMSC's loop from another thread and wait for its result."""
        assert self._loop is not None, "the SMSC is not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _open(self) -> None:
        """smpp34's server on a private port, and the front door on the public one."""
        self._internal_port = _free_port()
        self._server = smpp34.Server("127.0.0.1", self._internal_port, system_id="jalsa-sim")
        await self._server.start()
        self._front = await asyncio.start_server(self._on_connection, self.host, self.port)
        self.port = self._front.sockets[0].getsockname()[1]
        asyncio.get_running_loop().create_task(self._serve_events(self._server))

    async def _close(self) -> None:
        if self._front is not None:
            self._front.close()
        for writer in list(self._connections):
            writer.close()
        if self._server is not None:
            await self._server.stop()

    # -- controls for tests --------------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        """The whole messages received so far (a copy)."""
        with self._lock:
            return list(self._messages)

    def throttle_next(self, count: int) -> None:
        """Answer ESME_RTHROTTLED to the next `count` submit_sm."""
        with self._lock:
            self._throttle = count

    def drop_after(self, count: int) -> None:
        """Cut the connection (no unbind) right after the next `count` submit_sm came in; the
        last of them reaches the SMSC but its answer never reaches the ESME."""
        with self._lock:
            self._drop_after = count

    def send_mo(self, sender: str, to: str, text: str) -> None:
        """A supporter's message to one of our numbers, delivered to a bind of `system_id` (kept
        until one binds)."""
        coding, body = encode_text(text)
        pending = _Pending(self.system_id, to, sender.lstrip("+"), body, coding, 0, 1)
        self._call(self._deliver(pending))

    def unbind_all(self) -> None:
        """Ask every bound ESME to unbind, as an SMSC going down for maintenance does."""
        self._call(self._unbind_all())

    async def _unbind_all(self) -> None:
        for esme in list(self._sessions.values()):
            await esme.unbind()

    # -- the front door -------------------------------------------------------------------------

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Check the bind's credentials, then relay PDUs to and from smpp34's server."""
        self._connections.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            bind = await read_pdu(reader)
            if bind is None or not await self._accept_bind(bind, writer):
                return
            up_reader, upstream = await asyncio.open_connection("127.0.0.1", self._internal_port)
            self._connections.add(upstream)
            upstream.write(bind)
            outstanding: set[int] = set()
            relays = [
                asyncio.ensure_future(self._relay_from_esme(reader, upstream, outstanding)),
                asyncio.ensure_future(self._relay_to_esme(up_reader, writer, outstanding)),
            ]
            await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
            for relay in relays:  # one side ended: end the other, and swallow reset errors
                relay.cancel()
            await asyncio.gather(*relays, return_exceptions=True)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            for end in (writer, upstream):
                if end is not None:
                    end.close()
                    self._connections.discard(end)

    async def _accept_bind(self, bind: bytes, writer: asyncio.StreamWriter) -> bool:
        """True for a bind with our credentials; anything else is answered with an error."""
        command_id, _status, sequence = pdu_header(bind)
        if command_id not in BIND_IDS:
            return False
        system_id, password = cstrings(bind[16:], 2)
        if system_id == self.system_id and password == self._password:
            self.stats.binds += 1
            return True
        self.stats.refused_binds += 1
        status = ESME_RINVSYSID if system_id != self.system_id else ESME_RINVPASWD
        writer.write(struct.pack(">LLLL", 17, command_id | 0x80000000, status, sequence) + b"\0")
        await writer.drain()
        return False

    async def _relay_from_esme(
        self, reader: asyncio.StreamReader, upstream: asyncio.StreamWriter, outstanding: set[int]
    ) -> None:
        """ESME -> SMSC: count submissions in flight and enquire_links; cut when told to."""
        while (pdu := await read_pdu(reader)) is not None:
            command_id, _status, sequence = pdu_header(pdu)
            if command_id == ENQUIRE_LINK:
                self.stats.enquire_links += 1
            upstream.write(pdu)
            await upstream.drain()
            if command_id == SUBMIT_SM:
                outstanding.add(sequence)
                self.stats.max_outstanding = max(self.stats.max_outstanding, len(outstanding))
                if self._count_down_drop():
                    return

    async def _relay_to_esme(
        self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter, outstanding: set[int]
    ) -> None:
        """SMSC -> ESME: pass everything, noting which submissions got their answer."""
        while (pdu := await read_pdu(up_reader)) is not None:
            command_id, _status, sequence = pdu_header(pdu)
            if command_id == SUBMIT_SM_RESP:
                outstanding.discard(sequence)
            writer.write(pdu)
            await writer.drain()

    def _count_down_drop(self) -> bool:
        """True when this submission is the last before the planned cut."""
        with self._lock:
            if self._drop_after is None:
                return False
            self._drop_after -= 1
            if self._drop_after > 0:
                return False
            self._drop_after = None
            return True

    # -- the SMSC behind it ---------------------------------------------------------------------

    async def _serve_events(self, server: smpp34.Server) -> None:
        """smpp34's events: binds come and go, submissions arrive."""
        while True:
            try:
                event = await server.next()
            except smpp34.SmppError:
                return
            if isinstance(event, smpp34.Esme):
                self._sessions[event.session_id] = event
                await self._flush_queued(event.system_id)
            elif isinstance(event, smpp34.Unbound):
                self._sessions.pop(event.session_id, None)
            elif self.response_delay > 0:
                asyncio.get_running_loop().call_later(self.response_delay, self._answer, event)
            else:
                self._answer(event)

    def _answer(self, event: smpp34.SubmitSmEvent) -> None:
        """Accept or refuse one submit_sm, as a real SMSC would."""
        if self._take_throttle():
            event.reject(ESME_RTHROTTLED)
        elif not valid_address(event.destination_addr):
            event.reject(ESME_RINVDSTADR)
        elif not event.source_addr:
            event.reject(ESME_RINVSRCADR)
        else:
            message_id = f"{self._id_prefix}{next(self._ids):08X}"
            event.accept(message_id)
            self._receive(event, message_id)

    def _take_throttle(self) -> bool:
        with self._lock:
            if self._throttle <= 0:
                return False
            self._throttle -= 1
            return True

    def _receive(self, event: smpp34.SubmitSmEvent, message_id: str) -> None:
        """Record the part, put whole messages together, and schedule the part's receipt."""
        data = event.short_message
        concat = None
        if event.esm_class & ESM_UDHI:
            concat, data = split_udh(data)
        text = decode_text(data, event.data_coding)
        esme = self._sessions.get(event.session_id)
        system_id = esme.system_id if esme is not None else self.system_id
        self._write_record(event, message_id, concat)
        if event.registered_delivery & 0x01:
            self._schedule_receipt(event, message_id, text, system_id)
        if concat is None:
            self._record_message(event, [_Part(1, message_id, text)], system_id)
            return
        reference, total, sequence = concat
        key = (event.source_addr, event.destination_addr, reference)
        parts = self._partial.setdefault(key, {})
        parts[sequence] = _Part(sequence, message_id, text)
        while len(self._partial) > MAX_PARTIAL:  # messages whose other parts never came
            del self._partial[next(iter(self._partial))]
        if len(parts) == total:
            del self._partial[key]
            self._record_message(event, [parts[n] for n in sorted(parts)], system_id)

    def _record_message(
        self, event: smpp34.SubmitSmEvent, parts: list[_Part], system_id: str
    ) -> None:
        message = ReceivedMessage(
            destination=event.destination_addr,
            source=event.source_addr,
            text="".join(part.text for part in parts),
            data_coding=event.data_coding,
            parts=len(parts),
            message_id=parts[0].message_id,
            part_ids=tuple(part.message_id for part in parts),
            system_id=system_id,
            time=time.time(),
        )
        with self._lock:
            self._messages.append(message)

    def _write_record(
        self, event: smpp34.SubmitSmEvent, message_id: str, concat: tuple[int, int, int] | None
    ) -> None:
        """One JSON line per submit_sm, flushed, so another process can count them."""
        if self._record is None:
            return
        line = {
            "destination": event.destination_addr,
            "source": event.source_addr,
            "data_coding": event.data_coding,
            "message_id": message_id,
            "part": concat[2] if concat else 1,
            "parts": concat[1] if concat else 1,
            "time": time.time(),
        }
        self._record.write(json.dumps(line) + "\n")
        self._record.flush()

    # -- receipts and MO ------------------------------------------------------------------------

    def _schedule_receipt(
        self, event: smpp34.SubmitSmEvent, message_id: str, text: str, system_id: str
    ) -> None:
        stat = "UNDELIV" if event.destination_addr in self.fail_numbers else "DELIVRD"
        now = datetime.now(UTC)
        receipt_text = (
            f"id:{message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
            f"submit date:{smpp_time(now)} done date:{smpp_time(now)} stat:{stat} "
            f"err:{'000' if stat == 'DELIVRD' else '001'} text:{text[:20]}"
        )
        coding, body = encode_text(receipt_text)
        tlvs = [
            smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\0"),
            smpp34.Tlv(TLV_MESSAGE_STATE, bytes([MESSAGE_STATE[stat]])),
        ]
        pending = _Pending(
            system_id,
            event.source_addr,
            event.destination_addr,
            body,
            coding,
            ESM_RECEIPT,
            1,
            tlvs,
            event.session_id,
        )
        loop = asyncio.get_running_loop()
        loop.call_later(self.receipt_delay, lambda: loop.create_task(self._deliver(pending)))

    async def _deliver(self, pending: _Pending) -> None:
        """Send a deliver_sm to its bind, or any bind of its system_id; else keep it for the
        next bind. An ESME that refuses it (a temporary error) gets it again a second later,
        as SMSCs retry deliveries."""
        esme = self._sessions.get(pending.session_id) or self._bound(pending.system_id)
        if esme is None:
            self._queued[pending.system_id].append(pending)
        elif not await _send(esme, pending):
            loop = asyncio.get_running_loop()
            loop.call_later(RETRY_SECONDS, lambda: loop.create_task(self._deliver(pending)))

    def _bound(self, system_id: str) -> smpp34.Esme | None:
        for esme in self._sessions.values():
            if esme.system_id == system_id and esme.can_receive:
                return esme
        return None

    async def _flush_queued(self, system_id: str) -> None:
        """A bind came: hand it what waited for its system_id."""
        waiting, self._queued[system_id] = self._queued[system_id], []
        for pending in waiting:
            pending.session_id = ""
            await self._deliver(pending)

    def queued(self) -> int:
        """How many receipts and MO messages wait for a bind."""
        return sum(len(waiting) for waiting in self._queued.values())


async def _send(esme: smpp34.Esme, pending: _Pending) -> bool:
    """One deliver_sm; False when the bind could not take it."""
    try:
        send = esme.deliver_sm(
            pending.destination,
            pending.body,
            source_addr=pending.source,
            source_addr_ton=pending.source_ton,
            source_addr_npi=1,
            esm_class=pending.esm_class,
            data_coding=pending.data_coding,
            tlvs=pending.tlvs,
        )
        response = await asyncio.wait_for(send, timeout=5.0)
    except Exception:  # a bind that went away mid-send: keep the PDU for the next one
        return False
    return response.is_success


def _free_port() -> int:
    """A loopback port nobody listens on (smpp34's server cannot report the one it got)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    """Run the simulator as a process until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(description="SMPP 3.4 SMSC simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2775)
    parser.add_argument("--system-id", default="jalsa")
    parser.add_argument("--password", required=True)
    parser.add_argument("--record", type=Path, help="append one JSON line per submit_sm")
    parser.add_argument("--receipt-delay", type=float, default=0.5)
    parser.add_argument("--fail", nargs="*", default=[], help="numbers whose messages fail")
    args = parser.parse_args(argv)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    smsc = Smsc(
        args.host,
        args.port,
        args.system_id,
        args.password,
        receipt_delay=args.receipt_delay,
        fail_numbers=args.fail,
        record=args.record,
    )
    with smsc:
        print(f"listening on {smsc.host}:{smsc.port}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()


def message_dict(message: ReceivedMessage) -> dict[str, Any]:
    """A received message as plain data (for the demo's views)."""
    return asdict(message)


if __name__ == "__main__":
    main()
