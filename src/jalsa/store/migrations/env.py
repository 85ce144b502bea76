"""Alembic environment: runs on the engine handed over by jalsa.store.db.migrate."""

from alembic import context

from jalsa.store.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
