"""Shared fixtures. The `store` fixture runs every store-backed test on SQLite and, when
JALSA_TEST_POSTGRES_URL points at a server (CI starts one), on PostgreSQL too."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Wide, plain terminal output for CLI tests (set before jalsa.cli creates its consoles).
os.environ["COLUMNS"] = "200"
os.environ.setdefault("NO_COLOR", "1")

FIXTURES = Path(__file__).parent / "fixtures"
POSTGRES_URL = os.environ.get("JALSA_TEST_POSTGRES_URL")


def load_fixture(platform: str, name: str) -> Any:
    return json.loads((FIXTURES / platform / name).read_text(encoding="utf-8"))


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


# --- platform connectors: serve fixtures through httpx.MockTransport -------------------------

BASE_URLS = {
    "youtube": "https://www.googleapis.com/youtube/v3",
    "facebook": "https://graph.facebook.com/v21.0",
    "instagram": "https://graph.facebook.com/v21.0",
    "x": "https://api.x.com/2",
}


def fixture_response(
    platform: str, name: str, status: int = 200, headers: dict[str, str] | None = None
) -> Any:
    """An httpx.Response whose body is the fixture file byte for byte."""
    import httpx

    body = (FIXTURES / platform / name).read_bytes()
    return httpx.Response(
        status, content=body, headers={"content-type": "application/json", **(headers or {})}
    )


class MockApi:
    """Answers requests in order from a queue (a Response, an exception to raise, or a function
    of the request) and records every request, so tests can check what the connector sent."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[Any] = []

    def _handle(self, request: Any) -> Any:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request: {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer(request) if callable(answer) else answer

    def client(self) -> Any:
        import httpx

        return httpx.AsyncClient(transport=httpx.MockTransport(self._handle))

    def connector(self, cls: Any, credential: str | None = "test-token", **options: Any) -> Any:
        platform = cls.platform if cls.platform in BASE_URLS else cls.kind
        return cls(self.client(), BASE_URLS[platform], credential, **options)

    @property
    def last(self) -> Any:
        return self.requests[-1]
