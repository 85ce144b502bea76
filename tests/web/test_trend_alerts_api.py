"""Trend alerts end to end on a real server: posts whose hashtag spikes in the minute that
just ended are in the event's dataset; the server's own check announces the spike to a signed
webhook and on `/api/events/{slug}/trend-alerts` within seconds of the minute's end, once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from postkit import T0, rally, write
from webkit import running_site

from jalsa.conversation.dataset import PostDataset
from jalsa.store import Store
from jalsa.team import MATRIX, Perm, Role
from jalsa.webhooks import SIGNATURE_HEADER, verify
from webhook_receiver import receiving

SECRET = "trend-hook-secret"


def shifted(rows: list[dict[str, Any]], by: timedelta) -> list[dict[str, Any]]:
    return [{**row, "created_at": row["created_at"] + by} for row in rows]


def test_a_spike_reaches_the_webhook_and_the_api_once(tmp_path: Path, monkeypatch: Any) -> None:
    url = f"sqlite:///{tmp_path / 'jalsa.db'}"
    store = Store(url)
    with receiving() as receiver:
        hooks = {
            "trend_webhook_urls": [receiver.url],
            "trend_webhook_secret": SECRET,
            "trend_alert_seconds": 0.5,
        }
        with running_site(store, tmp_path, url, **hooks) as site:
            # the rally's #shutdown spikes in its minute 20: make that the minute just ended
            now = datetime.now(UTC).replace(second=0, microsecond=0)
            spike_minute = now - timedelta(minutes=1)
            rows = shifted(rally(), spike_minute - (T0 + timedelta(minutes=20)))
            write(rows, PostDataset.of_event(site.settings, site.event.slug).posts, parts=1)
            path = f"/api/events/{site.event.slug}/trend-alerts"
            with site.client("viewer", "token") as client:
                alerts: list[dict[str, Any]] = []
                deadline = datetime.now(UTC) + timedelta(seconds=45)
                while not alerts and datetime.now(UTC) < deadline:
                    response = client.get(path)
                    assert response.status_code == 200, response.text
                    alerts = response.json()
            assert [a["tag"] for a in alerts] == ["shutdown"], alerts
            [alert] = alerts
            assert datetime.fromisoformat(alert["at"]) == spike_minute
            assert 5 <= alert["delay_seconds"] <= 60  # after the grace, within the minute
            assert alert["top_posts"] and alert["top_accounts"]
            for _ in range(20):  # the webhook is sent right after detection
                if receiver.received:
                    break
                time.sleep(0.1)
            [(headers, body)] = receiver.received
            assert verify(body, SECRET, headers[SIGNATURE_HEADER])
            assert orjson.loads(body)["alert"]["tag"] == "shutdown"
            time.sleep(1.5)  # three more checks: nothing announced again
            assert len(receiver.received) == 1
            with site.client() as anonymous:
                assert anonymous.get(path).status_code == 401
            monkeypatch.setitem(MATRIX, Role.VIEWER, MATRIX[Role.VIEWER] - {Perm.VIEW_EVENTS})
            with site.client("viewer", "token") as client:
                assert client.get(path).status_code == 403
    store.dispose()
