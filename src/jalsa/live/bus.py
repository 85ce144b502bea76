"""An in-process event bus. Every message gets a sequence number and is kept in a bounded
history, so a subscriber that reconnects with the last number it saw (SSE `Last-Event-ID`)
gets exactly the messages it missed."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    seq: int
    topic: str
    data: dict[str, Any]


class EventBus:
    def __init__(self, history: int = 10_000) -> None:
        self._history: deque[Message] = deque(maxlen=history)
        self._subscribers: set[asyncio.Queue[Message]] = set()
        self._seq = 0

    @property
    def last_seq(self) -> int:
        return self._seq

    def publish(self, topic: str, data: dict[str, Any]) -> Message:
        self._seq += 1
        message = Message(self._seq, topic, data)
        self._history.append(message)
        for queue in self._subscribers:
            queue.put_nowait(message)
        return message

    def missed(self, after_seq: int) -> list[Message] | None:
        """Messages after `after_seq`, or None when some were already dropped from history."""
        if self._history and self._history[0].seq > after_seq + 1:
            return None
        return [m for m in self._history if m.seq > after_seq]

    async def subscribe(self, after_seq: int | None = None) -> AsyncIterator[Message]:
        """Yield messages from now on; with `after_seq`, first replay what came after it."""
        queue: asyncio.Queue[Message] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            last = self._seq
            if after_seq is not None:
                for message in self.missed(after_seq) or []:
                    yield message
                    last = message.seq
            while True:
                message = await queue.get()
                if message.seq > last:
                    last = message.seq
                    yield message
        finally:
            self._subscribers.discard(queue)
