"""X: a Space's listeners and the posts per minute of the rally's query (API v2), posts for
the conversation, mentions and replies for the inbox, and the moderation actions.

    metrics.py    what each of its numbers means and where it is read
    connector.py  audience: GET /2/spaces (x_space), GET /2/tweets/counts/recent (x_counts)
    collect.py    recent search and counts collectors (conversation raw log)
    stream.py     the filtered stream collector and its rules (conversation raw log)
    source.py     API v2 line format (`x`); source_v1.py: v1.1 (`x-v1`)
    inbox.py      mentions of the team's account and replies in its conversations
    actions.py    hide replies, reply (PUT /2/tweets/:id/hidden, POST /2/tweets)
    sim/          the simulated API (a test double: jalsa.sim.server loads sim/api.py)
"""

from __future__ import annotations

from jalsa.platforms.plugin import Platform, hookimpl
from jalsa.platforms.x.actions import XActions
from jalsa.platforms.x.connector import XCountsConnector, XSpaceConnector
from jalsa.platforms.x.inbox import XInbox
from jalsa.platforms.x.metrics import METRICS
from jalsa.platforms.x.source import XApiV2
from jalsa.platforms.x.source_v1 import XApiV1

PLATFORM = Platform(
    name="x",
    title="X",
    metrics=METRICS,
    connectors=(XSpaceConnector, XCountsConnector),
    line_sources=(XApiV2, XApiV1),
    actions=XActions,
    inbox=XInbox,
    simulator="jalsa.platforms.x.sim.api",
)


@hookimpl
def jalsa_platforms() -> list[Platform]:
    return [PLATFORM]
