"""An in-process event bus. Every message gets a sequence number and is kept in a bounded
history, so a subscriber that reconnects with the last number it saw (SSE `Last-Event-ID`)
gets exactly the messages it missed."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class Message:
    seq: int
    topic: str
    data: dict[str, Any]

    @cached_property
    def sse(self) -> str:
        """The message as one Server-Sent Event, encoded once however many clients get it."""
        data = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))
        return f"id: {self.seq}\nevent: {self.topic}\ndata: {data}\n\n"


class EventBus:
    def __init__(self, history: int = 10_000) -> None:
        self._history: deque[Message] = deque(maxlen=history)
        self._subscribers: set[asyncio.Queue[Message]] = set()
        self._seq = 0
        self._floor = 0  # messages up to here were never in this bus's history
        self._dropped_up_to = 0  # messages up to here fell out of the history

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subscribers)

    @property
    def last_seq(self) -> int:
        return self._seq

    def publish(self, topic: str, data: dict[str, Any], seq: int | None = None) -> Message:
        """Publish with the next number, or with `seq` when the source has its own increasing
        ids (the feed that follows the store uses poll ids, so a client can resume even across
        server restarts)."""
        if seq is not None and seq <= self._seq:
            raise ValueError(f"sequence numbers must increase ({seq} after {self._seq})")
        self._seq = self._seq + 1 if seq is None else seq
        message = Message(self._seq, topic, data)
        if len(self._history) == self._history.maxlen:
            self._dropped_up_to = self._history[0].seq
        self._history.append(message)
        for queue in self._subscribers:
            queue.put_nowait(message)
        return message

    def start_at(self, seq: int) -> None:
        """Continue numbering after `seq` (a feed that starts from stored data)."""
        self._seq = max(self._seq, seq)
        self._floor = self._seq

    def missed(self, after_seq: int) -> list[Message] | None:
        """Messages after `after_seq`, or None when some of them are not in the history any
        more (dropped, or published before this bus existed). Numbers may have gaps."""
        if after_seq < max(self._floor, self._dropped_up_to):
            return None
        return [m for m in self._history if m.seq > after_seq]

    def subscribe(self, after_seq: int | None = None) -> Subscription:
        """Messages from this moment on (the subscription exists as soon as this returns, so
        nothing published afterwards is missed); with `after_seq`, first what came after it."""
        return Subscription(self, after_seq)


class Subscription:
    """An async iterator over a bus's messages; close it (or let it be collected) to stop."""

    def __init__(self, bus: EventBus, after_seq: int | None) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        bus._subscribers.add(self._queue)
        self._last = bus.last_seq
        self._backlog = list(bus.missed(after_seq) or []) if after_seq is not None else []

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        if self._backlog:
            message = self._backlog.pop(0)
            self._last = max(self._last, message.seq)
            return message
        while True:
            message = await self._queue.get()
            if message.seq > self._last:
                self._last = message.seq
                return message

    async def next(self, timeout: float) -> Message | None:
        """The next message, or None when none came within `timeout` seconds (nothing is
        lost: a message that arrives as the wait ends stays queued for the next call)."""
        try:
            async with asyncio.timeout(timeout):
                return await self.__anext__()
        except TimeoutError:
            return None

    def close(self) -> None:
        self._bus._subscribers.discard(self._queue)

    def __del__(self) -> None:
        self.close()
