"""Instagram: a professional account's live media (Graph API for Instagram), their comments in
the inbox, and the moderation actions on them.

    metrics.py    what each of its numbers means and where it is read
    connector.py  audience of the account's live media
    inbox.py      comments and replies of live media as inbox items
    actions.py    hide, unhide, reply (Graph API comment endpoints)
    sim/          the simulated API (a test double: jalsa.sim.server loads sim/api.py)
"""

from __future__ import annotations

from jalsa.platforms.instagram.actions import InstagramActions
from jalsa.platforms.instagram.connector import InstagramConnector
from jalsa.platforms.instagram.inbox import InstagramInbox
from jalsa.platforms.instagram.metrics import METRICS
from jalsa.platforms.plugin import Platform, hookimpl

PLATFORM = Platform(
    name="instagram",
    title="Instagram",
    metrics=METRICS,
    connectors=(InstagramConnector,),
    actions=InstagramActions,
    inbox=InstagramInbox,
    simulator="jalsa.platforms.instagram.sim.api",
)


@hookimpl
def jalsa_platforms() -> list[Platform]:
    return [PLATFORM]
