"""Delivering incident changes: to the app (a callback the server hooks into its event bus) and
to webhooks (`jalsa.webhooks`: signed JSON POSTs, retried with backoff; event
`incident.<kind>`, body: the change kind and the whole incident).

Delivery never raises into the detector: a failing sink is logged and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson

from jalsa.watch.incidents import IncidentChange
from jalsa.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Delivery,
    WebhookSink,
    sign,
    verify,
)

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "Alerts",
    "Delivery",
    "InAppSink",
    "WebhookSink",
    "body_of",
    "sign",
    "verify",
]

log = logging.getLogger(__name__)

# The app's sink: called once per change, synchronously (the server puts it on its bus).
InAppSink = Callable[[IncidentChange], None]


def body_of(change: IncidentChange) -> bytes:
    """The JSON a webhook receives: the change kind and the whole incident."""
    return orjson.dumps(
        {"kind": change.kind, "incident": change.incident.model_dump(mode="json")},
        option=orjson.OPT_SORT_KEYS,
    )


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
                    deliveries += await webhook.post(f"incident.{change.kind}", body_of(change))
                except Exception:
                    log.exception("webhook delivery failed on incident %s", change.incident.id)
        return deliveries
