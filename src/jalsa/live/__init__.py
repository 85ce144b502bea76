"""Live tracking: planning and scheduling polls, storing samples, the live aggregate (restored
from the store, updated by the tracker and by the feed that follows the store) and the event bus."""

from jalsa.live.aggregate import LiveAggregate
from jalsa.live.feed import Feeds
from jalsa.live.summary import Summary, summarize
from jalsa.live.tracker import Tracker

__all__ = [
    "Feeds",
    "LiveAggregate",
    "Summary",
    "Tracker",
    "summarize",
]
