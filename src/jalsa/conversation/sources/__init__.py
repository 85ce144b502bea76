"""Source formats a post file or raw log can be in, one module each."""

from __future__ import annotations

from jalsa.conversation.sources.base import LineSource, Source
from jalsa.conversation.sources.facebook import FacebookComments
from jalsa.conversation.sources.mapped import MappedSource
from jalsa.conversation.sources.x import XApiV2
from jalsa.conversation.sources.x_v1 import XApiV1
from jalsa.conversation.sources.youtube import YouTubeChat

LINE_SOURCES: dict[str, type[LineSource]] = {
    s.name: s for s in (XApiV2, XApiV1, YouTubeChat, FacebookComments)
}

__all__ = ["LINE_SOURCES", "LineSource", "MappedSource", "Source"]
