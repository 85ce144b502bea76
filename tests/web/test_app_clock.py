"""One clock per page: with the demo's compressed clock, what the app says is "as of now" is on
that clock, not the wall clock (the dashboard read "None found as of 17:26:39" beside 20:03)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from webkit import make_member, seed_event, web_settings

from jalsa.clock import CompressedClock
from jalsa.store import Store
from jalsa.web.app import create_app
from jalsa.web.services import app_services

RALLY = datetime(2023, 12, 17, 15, 3, tzinfo=UTC)  # 20:03 in Karachi


async def test_the_incidents_are_as_of_the_apps_clock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jalsa.db'}"
    store = Store(url)
    try:
        viewer = make_member(store, "viewer")
        seed_event(store, starts=RALLY - timedelta(minutes=30))
        app = create_app(store, web_settings(tmp_path, url), clock=CompressedClock(RALLY, 1.0))
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {viewer.token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answer = await client.get("/api/events/rally/incidents", headers=headers)
        assert answer.status_code == 200, answer.text
        at = datetime.fromisoformat(answer.json()["computed_at"])
        assert timedelta(0) <= at - RALLY < timedelta(minutes=1), at
        await app_services(app).feeds.close()
    finally:
        store.dispose()
