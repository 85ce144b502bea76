"""What the command modules share: the store for one command, a progress bar over bytes, and
the name the audit trail gives whoever runs a command.

The command modules import this, never the package root (`jalsa.cli`), which imports them."""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from jalsa.config import Settings, get_settings
from jalsa.store import Store
from jalsa.terminal import err


def open_store(settings: Settings | None = None) -> Store:
    settings = settings or get_settings()
    return Store(
        settings.effective_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )


@contextlib.contextmanager
def opened(settings: Settings | None = None) -> Iterator[tuple[Store, Settings]]:
    """The store and the settings for one command; the store is closed after it."""
    settings = settings or get_settings()
    store = open_store(settings)
    try:
        yield store, settings
    finally:
        store.dispose()


def byte_progress(label: str) -> Progress:
    """A progress bar over bytes read, on stderr, only on a terminal."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def operator() -> str:
    """Who decides from the command line, as the audit trail names them."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli:unknown"
