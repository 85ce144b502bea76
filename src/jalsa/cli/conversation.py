"""Commands for the conversation: ingest posts, trends, analysis, generated posts."""

from __future__ import annotations
