"""Alert delivery against a real local HTTP server: signature, retries, no retry on 4xx,
never raising, the secret never logged."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest

from jalsa.sim.watch import START, Block, WatchSim
from jalsa.watch.alerts import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Alerts,
    WebhookSink,
    body_of,
    verify,
)
from jalsa.watch.detector import Detector
from jalsa.watch.incidents import IncidentChange
from webhook_receiver import Receiver, receiving

SECRET = "s3cret-hmac-key-do-not-log"


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    with receiving(list(getattr(request, "param", []))) as server:
        yield server


@pytest.fixture(scope="module")
def change() -> IncidentChange:
    block = Block(("x", "youtube"), START + timedelta(minutes=20), START + timedelta(minutes=40))
    detector = Detector()
    changes = []
    for measurements in WatchSim(rounds_count=30, blocks=[block], seed=1).rounds():
        changes += detector.observe(measurements)
    assert changes[0].kind == "opened"
    return changes[0]


async def no_sleep(seconds: float) -> None:
    pass


def sink(*urls: str, **kw: object) -> WebhookSink:
    return WebhookSink(urls, SECRET, backoff=0.01, sleep=no_sleep, **kw)  # type: ignore[arg-type]


async def test_a_change_is_posted_signed(receiver: Receiver, change: IncidentChange) -> None:
    [delivery] = await sink(receiver.url).post(f"incident.{change.kind}", body_of(change))
    assert delivery.ok and delivery.attempts == 1 and delivery.status == 200
    [(headers, body)] = receiver.received
    assert verify(body, SECRET, headers[SIGNATURE_HEADER])
    assert not verify(body, "another secret", headers[SIGNATURE_HEADER])
    assert headers[EVENT_HEADER] == "incident.opened" and len(headers[DELIVERY_HEADER]) == 32
    payload = orjson.loads(body)
    assert payload["kind"] == "opened"
    assert payload["incident"]["id"] == change.incident.id
    assert payload["incident"]["platforms"] == ["x", "youtube"]


@pytest.mark.parametrize("receiver", [[500, 503, 429]], indirect=True)
async def test_server_errors_are_retried_with_backoff(
    receiver: Receiver, change: IncidentChange
) -> None:
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    webhook = WebhookSink([receiver.url], SECRET, backoff=0.5, sleep=record)
    [delivery] = await webhook.post(f"incident.{change.kind}", body_of(change))
    assert delivery.ok and delivery.attempts == 4
    assert delays == [0.5, 1.0, 2.0]
    assert len({body for _, body in receiver.received}) == 1  # the same body each time


@pytest.mark.parametrize("receiver", [[400, 500]], indirect=True)
async def test_a_4xx_is_not_retried(receiver: Receiver, change: IncidentChange) -> None:
    [delivery] = await sink(receiver.url).post(f"incident.{change.kind}", body_of(change))
    assert not delivery.ok and delivery.attempts == 1 and delivery.status == 400
    assert len(receiver.received) == 1


@pytest.mark.parametrize("receiver", [[500] * 10], indirect=True)
async def test_a_receiver_that_keeps_failing_is_given_up(
    receiver: Receiver, change: IncidentChange
) -> None:
    [delivery] = await sink(receiver.url, retries=2).post(
        f"incident.{change.kind}", body_of(change)
    )
    assert not delivery.ok and delivery.attempts == 3 and delivery.status == 500


async def test_an_unreachable_url_never_raises_and_the_secret_is_not_logged(
    receiver: Receiver, change: IncidentChange, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    got: list[IncidentChange] = []

    def broken(change: IncidentChange) -> None:
        raise RuntimeError("the bus is down")

    alerts = Alerts(in_app=[broken, got.append], webhooks=[sink(dead, receiver.url, retries=2)])
    with caplog.at_level(logging.DEBUG):
        deliveries = await alerts.publish([change])
    assert got == [change]
    assert [(d.ok, d.attempts) for d in deliveries] == [(False, 3), (True, 1)]
    assert deliveries[0].error and "ConnectError" in deliveries[0].error
    assert "gave up" in caplog.text and "the bus is down" in caplog.text
    assert SECRET not in caplog.text and SECRET not in repr(alerts)
