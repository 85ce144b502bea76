"""Every connector by stream kind. Adding a platform: write its module, add it here."""

from __future__ import annotations

from jalsa import metrics
from jalsa.errors import UserError
from jalsa.platforms.base import Connector
from jalsa.platforms.facebook import FacebookConnector
from jalsa.platforms.instagram import InstagramConnector
from jalsa.platforms.x import XCountsConnector, XSpaceConnector
from jalsa.platforms.youtube import YouTubeConnector

CONNECTORS: dict[str, type[Connector]] = {
    cls.kind: cls
    for cls in (
        YouTubeConnector,
        FacebookConnector,
        XSpaceConnector,
        XCountsConnector,
        InstagramConnector,
    )
}


def connector_for(kind: str) -> type[Connector]:
    """The connector class for a stream kind; an unknown kind is the user's to fix."""
    try:
        return CONNECTORS[kind]
    except KeyError:
        known = ", ".join(sorted(CONNECTORS))
        raise UserError(f"unknown stream kind {kind!r}: use one of {known}") from None


def audience_metric(cls: type[Connector]) -> str | None:
    """The connector's concurrent-audience metric (the first it declares), or None: the one
    figure per stream that the dashboard draws and the disruption watch compares."""
    found = [m for m in cls.metrics if metrics.get(m).is_audience]
    return found[0] if found else None
