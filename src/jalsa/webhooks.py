"""Signed webhooks: JSON POSTs that a receiver can check, retried with backoff.

Every area that announces something to the outside (watch incidents, conversation trend
alerts) sends through `WebhookSink`. A body is signed with HMAC-SHA256 of the exact bytes sent
(`X-Jalsa-Signature: sha256=<hex>`), names what it is (`X-Jalsa-Event`) and carries a delivery
id derived from the body, so the same announcement sent again has the same id and a receiver
can drop repeats. The secret is never logged nor shown in a repr. Sending never raises for a
failing receiver: the outcome is a `Delivery`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Jalsa-Signature"
EVENT_HEADER = "X-Jalsa-Event"
DELIVERY_HEADER = "X-Jalsa-Delivery"


def sign(body: bytes, secret: str) -> str:
    """The signature header's value: `sha256=` and the hex HMAC of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str) -> bool:
    """For receivers (and tests): does the signature match the body?"""
    return hmac.compare_digest(sign(body, secret), signature)


@dataclass(frozen=True)
class Delivery:
    """What happened to one body at one URL."""

    url: str
    ok: bool
    attempts: int
    status: int | None = None  # the last HTTP status, None if no answer
    error: str | None = None


@dataclass
class WebhookSink:
    """POSTs each body to every URL. Network errors, timeouts, 429 and 5xx are retried
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

    async def post(self, event: str, body: bytes) -> list[Delivery]:
        """Send `body` (JSON bytes) as the announcement `event` (e.g. "incident.opened")."""
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self.secret),
            EVENT_HEADER: event,
            DELIVERY_HEADER: hashlib.sha256(body).hexdigest()[:32],
        }
        async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
            return list(
                await asyncio.gather(
                    *(self._post(client, url, event, body, headers) for url in self.urls)
                )
            )

    async def _post(
        self,
        client: httpx.AsyncClient,
        url: str,
        event: str,
        body: bytes,
        headers: dict[str, str],
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
                    log.warning("webhook %s refused %s: HTTP %s", url, event, status)
                    return Delivery(url, False, attempt, status)
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            if attempt <= self.retries:
                delay = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
                log.info("webhook %s failed (%s), retrying in %.1f s", url, error or status, delay)
                await self.sleep(delay)
        log.warning("webhook %s gave up on %s after %d attempts (%s)", url, event, attempt,
                    error or status)  # fmt: skip
        return Delivery(url, False, attempt, status, error)
