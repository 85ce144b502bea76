"""The operational store (SQLAlchemy 2 + Alembic) on SQLite or PostgreSQL."""

from jalsa.store.db import Store, upsert
from jalsa.store.models import Event, Poll, Sample, Stream

__all__ = ["Event", "Poll", "Sample", "Store", "Stream", "upsert"]
