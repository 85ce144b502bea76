from __future__ import annotations

import asyncio

from jalsa.live.bus import EventBus


async def _take(bus: EventBus, n: int, after: int | None = None) -> list[int]:
    out: list[int] = []
    async for message in bus.subscribe(after):
        out.append(message.seq)
        if len(out) == n:
            break
    return out


async def test_subscriber_gets_new_messages_in_order() -> None:
    bus = EventBus()
    task = asyncio.create_task(_take(bus, 3))
    await asyncio.sleep(0)
    for i in range(3):
        bus.publish("poll", {"i": i})
    assert await asyncio.wait_for(task, 1) == [1, 2, 3]


async def test_resume_after_last_event_id_replays_exactly_the_missed() -> None:
    bus = EventBus()
    for i in range(5):
        bus.publish("poll", {"i": i})
    task = asyncio.create_task(_take(bus, 4, after=3))
    await asyncio.sleep(0)
    bus.publish("poll", {"i": 5})
    bus.publish("poll", {"i": 6})
    assert await asyncio.wait_for(task, 1) == [4, 5, 6, 7]


def test_missed_says_when_history_was_dropped() -> None:
    bus = EventBus(history=3)
    for i in range(10):
        bus.publish("poll", {"i": i})
    assert bus.missed(2) is None
    missed = bus.missed(8)
    assert missed is not None and [m.seq for m in missed] == [9, 10]
