"""Fixtures of the web app's tests: a running site (store, one account per role, an event
on now, the app on a real uvicorn server on loopback) per test or per module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webkit import Site, postgres_database, running_site

from jalsa.store import Store

POSTGRES_URL = os.environ.get("JALSA_TEST_POSTGRES_URL")


@pytest.fixture(autouse=True)
def _no_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No jalsa.toml of the developer's leaks into the app under test."""
    monkeypatch.setenv("JALSA_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture
def site(store: Store, database_url: str, tmp_path: Path) -> Iterator[Site]:
    """A running site on a fresh store (SQLite, and PostgreSQL when the suite has one)."""
    with running_site(store, tmp_path, database_url) as running:
        yield running


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    """A running site on SQLite only, for behaviour that does not depend on the database."""
    url = f"sqlite:///{tmp_path / 'jalsa.db'}"
    store = Store(url)
    try:
        with running_site(store, tmp_path, url) as running:
            yield running
    finally:
        store.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def module_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """One running site shared by a module's tests (for the table-driven ones)."""
    tmp_path = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JALSA_CONFIG", str(tmp_path / "absent.toml"))
        yield from _module_site(request.param, tmp_path)


def _module_site(backend: str, tmp_path: Path) -> Iterator[Site]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'jalsa.db'}"
        store = Store(url)
        try:
            with running_site(store, tmp_path, url) as running:
                yield running
        finally:
            store.dispose()
        return
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must set JALSA_TEST_POSTGRES_URL (see .ci/run)")
        pytest.skip("JALSA_TEST_POSTGRES_URL is not set")
    with postgres_database(POSTGRES_URL) as url:
        store = Store(url)
        try:
            with running_site(store, tmp_path, url) as running:
                yield running
        finally:
            store.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, one per module (test_browser.py has its own,
    beside the `jalsa serve` it starts)."""
    from test_browser import CHROMIUM, CHROMIUM_ARGS, _need_browser

    sync_playwright = _need_browser()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
