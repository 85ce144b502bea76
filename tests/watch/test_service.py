"""The server side: a batch is stored by id and only its new measurements reach the detector;
incident changes are stored and announced; a restart rebuilds the same incidents; silent
vantages are closed by the tick; the control helper refuses private addresses unless told."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from jalsa.config import load_settings
from jalsa.store import Store
from jalsa.store.models import WatchIncident, WatchMeasurement
from jalsa.watch.alerts import SIGNATURE_HEADER, verify
from jalsa.watch.detector import Detector
from jalsa.watch.probe import ProbeConfig
from jalsa.watch.record import DEFAULT_TARGETS, Measurement, Observations, Target, Vantage, Verdict
from jalsa.watch.service import WatchService
from watch.servers import probe_settings, tls_site

T0 = datetime(2023, 12, 17, 14, 0, tzinfo=UTC)
X_HOSTS = [t.host for t in DEFAULT_TARGETS if t.platform == "x"]


def round_of(
    minute: int, method: str = "ok", vantage: str = "lahore-1", hosts: list[str] = X_HOSTS
) -> list[Measurement]:
    at = T0 + timedelta(minutes=minute)
    return [
        Measurement(
            id=uuid.uuid4().hex,
            target=host,
            platform="x",
            vantage=Vantage(name=vantage, city="Lahore", network="PTCL"),
            round_at=at,
            started_at=at,
            finished_at=at + timedelta(seconds=3),
            observations=Observations(),
            verdict=Verdict(method=method, reason="test"),
        )
        for host in hosts
    ]


class CountingDetector(Detector):
    """The real detector, counting what it is fed."""

    def __init__(self) -> None:
        super().__init__()
        self.fed: list[str] = []

    def observe(self, measurements: Any) -> Any:
        measurements = list(measurements)
        self.fed += [m.id for m in measurements]
        return super().observe(measurements)


class Receiver:
    """A webhook receiver behind httpx.MockTransport: fails the first call (retried), then
    records the signed bodies."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls == 1:
            return httpx.Response(503)
        assert verify(request.content, "s3cret", request.headers[SIGNATURE_HEADER])
        self.bodies.append(json.loads(request.content))
        return httpx.Response(204)


def service_on(store: Store, tmp_path: Path, **settings: Any) -> WatchService:
    return WatchService(
        store, load_settings(data_dir=tmp_path / "data", **settings), detector=CountingDetector()
    )


def blocked_rally(service: WatchService) -> list[Any]:
    """Ten clean rounds, then X blocked for five: returns the incident changes."""
    changes: list[Any] = []
    for minute in range(10):
        changes += service.store_batch(round_of(minute)).changes
    for minute in range(10, 15):
        changes += service.store_batch(round_of(minute, "tls.sni_filter")).changes
    return changes


def same(incidents: list[Any]) -> list[dict[str, Any]]:
    """Incidents compared by content (the evidence ids of one round may come in any order)."""
    return [{**i.model_dump(), "evidence": sorted(i.evidence)} for i in incidents]


def incident_rows(store: Store) -> list[dict[str, Any]]:
    with store.session() as session:
        return [
            {"id": r.id, "status": r.status, "record": r.record}
            for r in session.scalars(select(WatchIncident).order_by(WatchIncident.id))
        ]


async def test_a_batch_is_stored_once_and_only_new_measurements_are_detected(
    store: Store, tmp_path: Path
) -> None:
    service = service_on(store, tmp_path)
    first = round_of(0)
    result = await service.submit(first)
    assert (result.stored, result.duplicate) == (4, 0)
    second = round_of(1)
    again = await service.submit([*first, *second])
    assert (again.stored, again.duplicate) == (4, 4)
    detector = service.detector
    assert isinstance(detector, CountingDetector)
    assert sorted(detector.fed) == sorted(m.id for m in [*first, *second])
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(WatchMeasurement)) == 8


async def test_incidents_are_stored_announced_and_alerted(store: Store, tmp_path: Path) -> None:
    service = service_on(
        store,
        tmp_path,
        watch_webhook_urls=["https://hooks.example/jalsa"],
        watch_webhook_secret="s3cret",
    )
    receiver = Receiver()
    [webhook] = service.alerts.webhooks
    webhook.transport = httpx.MockTransport(receiver)
    webhook.backoff = 0.01
    subscription = service.bus.subscribe()
    for minute in range(10):
        await service.submit(round_of(minute))
    opened = []
    for minute in range(10, 15):
        opened += (await service.submit(round_of(minute, "tls.sni_filter"))).changes
    assert opened and opened[0].kind == "opened"
    rows = incident_rows(store)
    assert [r["id"] for r in rows] == [opened[0].incident.id]
    assert rows[0]["status"] == "open" and rows[0]["record"]["method"] == "tls.sni_filter"
    message = await subscription.next(1)
    assert message is not None and message.topic == "incident"
    assert message.data["change"] == "opened" and message.data["id"] == rows[0]["id"]
    assert service.recent[-1]["id"] == rows[0]["id"]
    await service.stop()  # waits for the alerts in flight
    assert [(b["kind"], b["incident"]["id"]) for b in receiver.bodies] == [
        (c.kind, c.incident.id) for c in opened
    ]


async def test_a_restart_rebuilds_the_same_incidents(store: Store, tmp_path: Path) -> None:
    service = service_on(store, tmp_path)
    assert blocked_rally(service)
    before = incident_rows(store)
    now = T0 + timedelta(minutes=15)
    restarted = service_on(store, tmp_path)
    assert restarted.replay(now) == 60
    assert same(restarted.detector.incidents()) == same(service.detector.incidents())
    after = incident_rows(store)
    assert [(r["id"], r["status"]) for r in after] == [(r["id"], r["status"]) for r in before]
    # The next round continues the same incident instead of opening a new one.
    changes = restarted.store_batch(round_of(15, "tls.sni_filter")).changes
    assert {c.incident.id for c in changes} <= {r["id"] for r in before}
    assert len(incident_rows(store)) == 1


async def test_the_tick_closes_incidents_of_silent_vantages(store: Store, tmp_path: Path) -> None:
    service = service_on(store, tmp_path)
    blocked_rally(service)
    assert service.tick_now(T0 + timedelta(minutes=16)) == []
    closed = await service.tick(T0 + timedelta(minutes=60))
    assert [c.kind for c in closed] == ["closed"]
    assert incident_rows(store)[0]["status"] == "closed"
    assert service.recent[0]["change"] == "closed"


async def test_the_server_follows_what_another_process_stored(store: Store, tmp_path: Path) -> None:
    """`jalsa watch run` beside `jalsa serve`: the server's detector (and so its alerts) sees
    the other process's measurements at its next tick, and never its own twice."""
    server = service_on(store, tmp_path)
    await server.submit(round_of(0, vantage="karachi-1"))  # its own: already fed
    other = service_on(store, tmp_path)
    blocked_rally(other)
    changes = server.tick_now(T0 + timedelta(minutes=15))
    assert [c.kind for c in changes] == ["opened"]
    assert [i.id for i in server.detector.incidents()] == [i.id for i in other.detector.incidents()]
    detector = server.detector
    assert isinstance(detector, CountingDetector)
    assert len(detector.fed) == len(set(detector.fed)) == 4 + 60
    assert server.tick_now(T0 + timedelta(minutes=15)) == []  # nothing new: nothing fed
    assert len(detector.fed) == 64


async def test_the_control_helper_refuses_private_addresses(store: Store, tmp_path: Path) -> None:
    service = service_on(store, tmp_path)
    [result] = await service.control([Target(host="localhost", platform="x")])
    assert result.observations is None and "non-public" in str(result.error)
    [odd] = await service.control([Target(host="x.com", platform="x", port=22)])
    assert odd.observations is None and "port 22" in str(odd.error)


@pytest.mark.integration
async def test_the_control_helper_observes_and_caches(store: Store, tmp_path: Path) -> None:
    service = service_on(store, tmp_path, watch_control_private=True)
    with tls_site(tmp_path / "tls") as (port, ca):
        service.probe_config = ProbeConfig.model_validate(probe_settings(ca))
        target = Target(host="localhost", platform="x", port=port)
        first, second = await service.control([target, target])
        again = (await service.control([target]))[0]
    assert first.observations is not None and first.error is None
    assert first.observations.tls and first.observations.tls[0].ok
    assert first.observations.tls[0].cert_valid is True
    assert second.cached and again.cached
    assert again.observations == first.observations
    await service.stop()
