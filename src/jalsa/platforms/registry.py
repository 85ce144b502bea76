"""Every connector by stream kind. Adding a platform: write its module, add it here."""

from __future__ import annotations

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
