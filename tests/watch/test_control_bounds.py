"""The control helper's cache is bounded: however many distinct targets callers send within
the cache's lifetime, at most CONTROL_MAX_TARGETS probes are open at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from jalsa.config import load_settings
from jalsa.store import Store
from jalsa.watch import probe
from jalsa.watch.record import Target
from jalsa.watch.service import CONTROL_MAX_TARGETS, WatchService


async def test_distinct_targets_beyond_the_cap_are_refused_not_probed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    release = asyncio.Event()

    async def slow_observe(target: Target, config: Any) -> Any:
        started.append(target.host)
        await release.wait()
        return None

    async def allow(target: Target) -> None:
        return None

    monkeypatch.setattr(probe, "observe", slow_observe)
    store = Store(f"sqlite:///{tmp_path / 'jalsa.db'}")
    service = WatchService(store, load_settings(data_dir=tmp_path))
    monkeypatch.setattr(service, "_refuse", allow)
    targets = [Target(host=f"h{i}.example", platform="other") for i in range(300)]
    waiting = asyncio.ensure_future(service.control(targets))
    await asyncio.sleep(0.2)
    assert len(started) == CONTROL_MAX_TARGETS
    release.set()
    results = await waiting
    refused = [r for r in results if r.error and "already" in r.error]
    assert len(refused) == 300 - CONTROL_MAX_TARGETS
    store.dispose()
