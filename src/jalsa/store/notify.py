"""Waking the readers of the store when polls are stored. On PostgreSQL the transaction that
writes polls NOTIFYs a channel with the ids of their streams (PostgreSQL delivers it when the
transaction commits, so a reader never looks before the rows are visible), and a process that
follows the store LISTENs on one connection of its own, open only while something waits.
SQLite has nothing like it: its readers look at the store at intervals."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "jalsa_polls"
PAYLOAD_MAX = 7_000  # PostgreSQL refuses a payload of 8,000 bytes or more
EVERYTHING = "*"  # the payload when the stream ids would not fit: every waiter wakes
RECONNECT_FIRST = 0.5  # seconds before listening again after the connection was lost
RECONNECT_MAX = 30.0


def notify_polls(session: Session, stream_ids: Iterable[int]) -> None:
    """Tell listeners, when this transaction commits, that these streams got polls (nothing
    on SQLite). Notifications with the same payload in one transaction are sent once."""
    if session.get_bind().dialect.name != "postgresql":
        return
    payload = ",".join(str(i) for i in sorted(set(stream_ids)))
    if len(payload) > PAYLOAD_MAX:
        payload = EVERYTHING
    session.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
    )


def streams_in(payload: str) -> set[int] | None:
    """The stream ids a notification names, or None for "any stream" (the payload was too
    long, or is not what `notify_polls` sends)."""
    if payload == EVERYTHING or len(payload) > PAYLOAD_MAX:
        return None
    ids = set()
    for part in payload.split(","):
        if not part.isdigit():
            return None
        ids.add(int(part))
    return ids


class Waiter:
    """One reader's wake-up call: set when polls of its streams were stored, or when the
    listener (re)connected (something may have been stored while nobody listened)."""

    def __init__(self, listener: PollListener, stream_ids: Iterable[int]) -> None:
        self.listener = listener
        self.stream_ids = set(stream_ids)
        self.woken = asyncio.Event()
        self.notifications = 0

    def clear(self) -> None:
        self.woken.clear()

    async def wait(self, timeout: float) -> bool:
        """Until woken or `timeout` seconds passed; True when woken."""
        try:
            async with asyncio.timeout(timeout):
                await self.woken.wait()
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.listener.remove(self)


class PollListener:
    """One LISTEN connection for a process's readers: opened when the first waiter comes,
    closed when the last one goes, opened again (with backoff) after the server went away."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url.set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._waiters: set[Waiter] = set()
        self._task: asyncio.Task[None] | None = None
        self.connected = False

    def add(self, stream_ids: Iterable[int]) -> Waiter:
        """A waiter for these streams; listening starts with the first one."""
        waiter = Waiter(self, stream_ids)
        self._waiters.add(waiter)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="jalsa-listen")
        return waiter

    def remove(self, waiter: Waiter) -> None:
        """Forget a waiter; the connection closes with the last one."""
        self._waiters.discard(waiter)
        if not self._waiters and self._task is not None:
            self._task.cancel()
            self._task = None
            self.connected = False

    async def close(self) -> None:
        self._waiters.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self.connected = False

    def _wake(self, streams: set[int] | None) -> None:
        for waiter in self._waiters:
            if streams is None or not streams.isdisjoint(waiter.stream_ids):
                waiter.notifications += 1
                waiter.woken.set()

    async def _listen(self) -> None:
        import psycopg

        pause = RECONNECT_FIRST
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, application_name="jalsa-listen"
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.connected = True
                    pause = RECONNECT_FIRST
                    self._wake(None)  # catch up on what was stored before listening
                    async for notice in conn.notifies():
                        self._wake(streams_in(notice.payload))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server restarts or the network drops: listen again
                log.warning("listening for new polls failed (%s); again in %.0f s", exc, pause)
            finally:
                self.connected = False
            self._wake(None)  # the readers look at the store themselves meanwhile
            await asyncio.sleep(pause)
            pause = min(pause * 2, RECONNECT_MAX)
