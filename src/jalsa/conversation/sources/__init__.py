"""Source formats a post file or raw log can be in: each platform's line formats (from the
platform registry) and any CSV / JSONL / Parquet file through a column mapping (`mapped.py`)."""

from __future__ import annotations

from jalsa.conversation.sources.mapped import MappedSource
from jalsa.platforms.registry import LINE_SOURCES
from jalsa.platforms.sources import LineSource, Source

__all__ = ["LINE_SOURCES", "LineSource", "MappedSource", "Source"]
