"""YouTube: the live broadcast's audience (Data API `videos.list`), its live chat and comments
for the conversation and the inbox, and the moderation actions on them.

    metrics.py    what each of its numbers means and where it is read
    connector.py  audience: liveStreamingDetails.concurrentViewers, statistics
    chat.py       liveChatMessages.list collector (conversation raw log)
    source.py     the live chat's line format (`youtube-chat`)
    inbox.py      live chat and commentThreads as inbox items
    actions.py    hide, unhide, ban, reply (comments.setModerationStatus, liveChatBans, ...)
    sim/          the simulated API (a test double: jalsa.sim.server loads sim/api.py)
"""

from __future__ import annotations

from jalsa.platforms.plugin import Platform, hookimpl
from jalsa.platforms.youtube.actions import YouTubeActions
from jalsa.platforms.youtube.connector import YouTubeConnector
from jalsa.platforms.youtube.inbox import YouTubeInbox
from jalsa.platforms.youtube.metrics import METRICS
from jalsa.platforms.youtube.source import YouTubeChat

PLATFORM = Platform(
    name="youtube",
    title="YouTube",
    metrics=METRICS,
    connectors=(YouTubeConnector,),
    line_sources=(YouTubeChat,),
    actions=YouTubeActions,
    inbox=YouTubeInbox,
    simulator="jalsa.platforms.youtube.sim.api",
)


@hookimpl
def jalsa_platforms() -> list[Platform]:
    return [PLATFORM]
