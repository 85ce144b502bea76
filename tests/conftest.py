"""Shared fixtures. The `store` fixture runs every store-backed test on SQLite and, when
JALSA_TEST_POSTGRES_URL points at a server (CI starts one), on PostgreSQL too."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Wide, plain terminal output for CLI tests (set before jalsa.terminal creates its consoles).
os.environ["COLUMNS"] = "200"
os.environ.setdefault("NO_COLOR", "1")

POSTGRES_URL = os.environ.get("JALSA_TEST_POSTGRES_URL")

# Property tests explore new examples on every local run; CI replays a fixed set, so a run
# there is repeatable (a new crash found locally is added as an @example).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _postgres_database() -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards."""
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must set JALSA_TEST_POSTGRES_URL (see .ci/run)")
        pytest.skip("JALSA_TEST_POSTGRES_URL is not set")
    import psycopg

    name = f"jalsa_test_{uuid.uuid4().hex[:12]}"
    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jalsa.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def store(database_url: str) -> Iterator[Any]:
    from jalsa.store import Store

    opened = Store(database_url)
    yield opened
    opened.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jalsa.db'}"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`jalsa demo --minutes 0.3` run once for the session, in its own data directory: the
    demo test and the report tests read what it left."""
    import subprocess
    import sys

    from testkit import DemoRun

    data_dir = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JALSA_")} | {
        "JALSA_DATA_DIR": str(data_dir),
        "COLUMNS": "160",
    }
    done = subprocess.run(
        [sys.executable, "-m", "jalsa.cli", "demo", "--minutes", "0.3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=data_dir,
    )
    return DemoRun(data_dir, done)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With pytest-xdist (`scripts/test` runs two workers, `--dist loadgroup`), keep each test
    file on one worker, so a module's fixtures (a running site, a lab) are built once, and the
    files that read the one demo run together, so the demo runs once."""
    for item in items:
        path = item.path.as_posix()
        group = "demo" if "demo_run" in getattr(item, "fixturenames", ()) else path
        item.add_marker(pytest.mark.xdist_group(group))
