"""Which message each part of a long SMS belongs to, so that a delivery receipt for any part is
reported once, under the message's id (its first part's), and only when the message is settled."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from jalsa.mobilize.gateways.base import FINAL_RECEIPT_STATES, Receipt


class PartMap:
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
