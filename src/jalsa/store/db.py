"""Opening the store: engine, migrations and sessions, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from jalsa.errors import UserError
from jalsa.store.models import Base

CACHE_KIB = 512  # page cache of one SQLite connection


POOL_SIZE = 5  # PostgreSQL connections kept open per process (JALSA_DB_POOL_SIZE)
MAX_OVERFLOW = 5  # and opened beyond those when all are busy (JALSA_DB_MAX_OVERFLOW)


def make_engine(
    url: str, *, pool_size: int = POOL_SIZE, max_overflow: int = MAX_OVERFLOW
) -> Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a busy timeout so the tracker
    and the web app can share one file. On PostgreSQL a process opens at most `pool_size` +
    `max_overflow` connections: several workers and a tracker share the server's limit (100 by
    default), so the default is 10 per process."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1] if "///" in url else ""
            in_memory = path in ("", ":memory:")
            if not in_memory:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Threads of the web app and the tracker's writer share the pool: room for all.
            # (An in-memory database is one connection, with a pool that takes no sizes.)
            # Last in, first out: frequent small reads (the live feed) reuse one warm
            # connection instead of filling the page cache of every pooled one in turn.
            pool: dict[str, Any] = (
                {} if in_memory else {"pool_size": 10, "max_overflow": 50, "pool_use_lifo": True}
            )
            engine = create_engine(url, connect_args={"timeout": 30}, **pool)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(
                url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow
            )
    except (ArgumentError, ImportError) as exc:
        raise UserError(f"cannot use database URL {_redact(url)}: {exc}") from None
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Each connection keeps its own page cache (SQLite's default: 2 MB). With a pool of ten that
    # was up to 20 MB, filling slowly as the file grew: the web server's memory rose for hours.
    # The operating system caches the file anyway.
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cursor.close()


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("jalsa.store") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration; a no-op when it is already there."""
    cfg = alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current != head:
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise UserError(
            f"cannot open the database {_redact(str(engine.url))}: {exc.orig}. "
            "Check JALSA_DATABASE_URL and that the server is running."
        ) from None


class Store:
    """The opened store: an engine whose schema is current, and a session factory."""

    def __init__(
        self,
        url: str,
        *,
        run_migrations: bool = True,
        pool_size: int = POOL_SIZE,
        max_overflow: int = MAX_OVERFLOW,
    ) -> None:
        self.engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        if run_migrations:
            migrate(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def dispose(self) -> None:
        self.engine.dispose()


def upsert(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]] | Iterable[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """Insert rows; on a natural-key conflict update `update` columns, or do nothing when
    `update` is empty. The one place idempotent writes are spelled, for both dialects.

    One statement, compiled once (and cached), executed for every row as an executemany,
    which SQLAlchemy sends in batches of multi-row VALUES within the bind-parameter limits:
    compiling a multi-row statement per call cost more than the writing itself (a supporter
    import ran five times slower)."""
    rows = list(rows)
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert_fn(cast(Table, model.__table__))
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    session.execute(stmt, rows)


__all__ = ["Base", "Store", "make_engine", "migrate", "upsert"]
