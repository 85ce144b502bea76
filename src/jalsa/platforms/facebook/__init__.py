"""Facebook: a live video's audience (Graph API `live_views`, insights), its comments for the
conversation and the inbox, and the moderation actions on them.

    metrics.py    what each of its numbers means and where it is read
    connector.py  audience: GET /{live-video-id}?fields=live_views,status,...
    comments.py   GET /{id}/comments collector (conversation raw log)
    source.py     the comments' line format (`facebook-comments`)
    inbox.py      comments and replies as inbox items
    actions.py    hide, unhide, reply (POST /{comment-id}, /{comment-id}/comments)
    sim/          the simulated API (a test double: jalsa.sim.server loads sim/api.py)
"""

from __future__ import annotations

from jalsa.platforms.facebook.actions import FacebookActions
from jalsa.platforms.facebook.connector import FacebookConnector
from jalsa.platforms.facebook.inbox import FacebookInbox
from jalsa.platforms.facebook.metrics import METRICS
from jalsa.platforms.facebook.source import FacebookComments
from jalsa.platforms.plugin import Platform, hookimpl

PLATFORM = Platform(
    name="facebook",
    title="Facebook",
    metrics=METRICS,
    connectors=(FacebookConnector,),
    line_sources=(FacebookComments,),
    actions=FacebookActions,
    inbox=FacebookInbox,
    simulator="jalsa.platforms.facebook.sim.api",
)


@hookimpl
def jalsa_platforms() -> list[Platform]:
    return [PLATFORM]
