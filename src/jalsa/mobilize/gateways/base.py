"""What every SMS gateway offers the outbox, and the records that cross that line.

A gateway submits messages and reports, for each, whether the gateway took it (with the
gateway's own message id), whether to try again later, or whether it was refused for good. Delivery
receipts and inbound messages (a supporter texting STOP) arrive later and on their own: over the
SMPP bind, or as HTTP callbacks to the web app for Kannel and the REST gateway. Either way they
reach the same two callbacks, so the outbox has one place that records them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# What a submission came to. "accepted": the gateway took the message (not yet delivered);
# "retry": the gateway said no for now (throttled, queue full) or the message never left us -
# safe to send again later; "rejected": refused for good (invalid number, barred, bad text);
# "unknown": the message went out but no answer came back (the connection dropped, the answer
# timed out), so the gateway may have taken it - sending it again could send it twice.
Outcome = Literal["accepted", "retry", "rejected", "unknown"]

# A delivery receipt's state, mapped from SMPP's message states, Kannel's DLR types and the REST
# API's statuses. "accepted": taken by the carrier, not final; the others are final.
ReceiptState = Literal["accepted", "delivered", "failed", "expired", "rejected", "unknown"]
FINAL_RECEIPT_STATES: frozenset[str] = frozenset({"delivered", "failed", "expired", "rejected"})


@dataclass(frozen=True)
class OutgoingSms:
    """One message to submit. `key` is the outbox's id for it (unique, stable across restarts);
    gateways that can carry it (Kannel's dlr-url, the REST API's status callback) do, so a
    receipt names the message even when the gateway's id never reached us."""

    key: str
    to: str  # E.164, with the leading +
    text: str
    sender: str  # the source address: a short code, an alphanumeric name or a SIM's number


@dataclass(frozen=True)
class SubmitResult:
    key: str
    outcome: Outcome
    gateway_id: str | None = None
    detail: str = ""  # the gateway's words, for the message's status line


@dataclass(frozen=True)
class Receipt:
    """A delivery receipt. It names the message by the gateway's id, by our key, or (when the
    gateway's answer to the submission was lost) only by the recipient and the text's start."""

    state: ReceiptState
    gateway_id: str | None = None
    key: str | None = None
    recipient: str | None = None  # E.164
    text_start: str = ""  # SMPP receipts carry the first 20 characters of the message
    error: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class Inbound:
    """A message a supporter sent to one of our numbers."""

    sender: str  # E.164
    to: str
    text: str
    gateway_id: str  # the gateway's id of the inbound message: stored once however often sent
    received_at: datetime | None = None


@dataclass
class Handlers:
    """Where a gateway hands what arrives on its own."""

    on_receipt: Callable[[Receipt], None] = field(default=lambda _r: None)
    on_inbound: Callable[[Inbound], None] = field(default=lambda _m: None)


class Gateway(ABC):
    """A connection to one SMS gateway. `submit` blocks until every message of the batch has an
    outcome; it keeps at most `window` submissions unanswered at once where the protocol
    allows it. It never raises for one message's trouble: that is the message's outcome.
    Connection trouble that outlasts the gateway's own reconnecting makes the unanswered
    messages "retry"."""

    name: str = ""
    window: int = 1

    @abstractmethod
    def open(self, handlers: Handlers) -> None:
        """Connect (bind) and start handing receipts and inbound messages to `handlers`."""

    @abstractmethod
    def submit(self, messages: Sequence[OutgoingSms]) -> list[SubmitResult]:
        """Submit the batch; one result per message, in the batch's order."""

    def lookup(self, message: OutgoingSms, since: datetime) -> str | None:
        """The gateway's id of `message` if the gateway has it (submitted at or after `since`),
        for messages whose submission came to "unknown". None: the gateway cannot tell (SMPP has
        no such query; a receipt matched by recipient and text settles those)."""
        return None

    def trouble(self) -> str | None:
        """What keeps the gateway from sending right now (one sentence), or None. Only a
        gateway with a lasting connection (SMPP) knows; HTTP gateways say it per message."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Disconnect cleanly (unbind), waiting briefly for answers still due."""

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
