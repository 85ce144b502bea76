"""Delivering incident changes: to the app (a callback the server hooks into its event bus) and
to webhooks (signed JSON POSTs, retried with backoff).

Delivery never raises into the detector: a failing sink is logged and skipped. A webhook body
is signed with HMAC-SHA256 of the exact bytes sent, so a receiver can check where it came from;
the secret is never logged nor shown in a repr.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import httpx
import orjson

from jalsa.watch.incidents import IncidentChange

log = logging.getLogger(__name__)

# The app's sink: called once per change, synchronously (the server puts it on its bus).
InAppSink = Callable[[IncidentChange], None]

SIGNATURE_HEADER = "X-Jalsa-Signature"
EVENT_HEADER = "X-Jalsa-Event"
DELIVERY_HEADER = "X-Jalsa-Delivery"


def body_of(change: IncidentChange) -> bytes:
    """The JSON a webhook receives: the change kind and the whole incident."""
    return orjson.dumps(
        {"kind": change.kind, "incident": change.incident.model_dump(mode="json")},
        option=orjson.OPT_SORT_KEYS,
    )


def sign(body: bytes, secret: str) -> str:
    """The signature header's value: `sha256=` and the hex HMAC of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str) -> bool:
    """For receivers (and tests): does the signature match the body?"""
    return hmac.compare_digest(sign(body, secret), signature)


@dataclass(frozen=True)
class Delivery:
    """What happened to one change at one URL."""

    url: str
    ok: bool
    attempts: int
    status: int | None = None  # the last HTTP status, None if no answer
    error: str | None = None


@dataclass
class WebhookSink:
    """POSTs each change to every URL. Network errors, timeouts, 429 and 5xx are retried
    `retries` times with exponential backoff (backoff, 2 x backoff, ... up to backoff_max);
    any other 4xx is the receiver refusing this body, which a retry would not change."""

    urls: Sequence[str]
    secret: str = field(repr=False)
    retries: int = 4
    backoff: float = 0.5
    backoff_max: float = 30.0
    timeout: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None  # tests may replace the network
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def send(self, change: IncidentChange) -> list[Delivery]:
        body = body_of(change)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self.secret),
            EVENT_HEADER: f"incident.{change.kind}",
            # The same change sent again has the same delivery id: receivers can drop repeats.
            DELIVERY_HEADER: hashlib.sha256(body).hexdigest()[:32],
        }
        async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
            return list(
                await asyncio.gather(*(self._post(client, url, body, headers) for url in self.urls))
            )

    async def _post(
        self, client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
    ) -> Delivery:
        status: int | None = None
        error: str | None = None
        for attempt in range(1, self.retries + 2):
            try:
                response = await client.post(url, content=body, headers=headers)
                status, error = response.status_code, None
                if response.is_success:
                    return Delivery(url, True, attempt, status)
                if status < 500 and status != 429:
                    log.warning("webhook %s refused the incident change: HTTP %s", url, status)
                    return Delivery(url, False, attempt, status)
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            if attempt <= self.retries:
                delay = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
                log.info("webhook %s failed (%s), retrying in %.1f s", url, error or status, delay)
                await self.sleep(delay)
        log.warning("webhook %s gave up after %d attempts (%s)", url, attempt, error or status)
        return Delivery(url, False, attempt, status, error)


@dataclass
class Alerts:
    """Fans incident changes out to the app's sinks and the webhooks."""

    in_app: list[InAppSink] = field(default_factory=list)
    webhooks: list[WebhookSink] = field(default_factory=list)

    async def publish(self, changes: Iterable[IncidentChange]) -> list[Delivery]:
        """Deliver each change everywhere; never raises (a failing sink is logged)."""
        deliveries: list[Delivery] = []
        for change in changes:
            for sink in self.in_app:
                try:
                    sink(change)
                except Exception:
                    log.exception("in-app alert sink failed on incident %s", change.incident.id)
            for webhook in self.webhooks:
                try:
                    deliveries += await webhook.send(change)
                except Exception:
                    log.exception("webhook delivery failed on incident %s", change.incident.id)
        return deliveries
