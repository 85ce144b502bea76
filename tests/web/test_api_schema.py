"""schemathesis against the OpenAPI schema the app publishes (`/api/openapi.json`): every
operation, called with generated valid and invalid input by an admin's API token on a store
with a seeded event, never answers 5xx and always answers what its schema says. Bounded:
a few dozen examples per operation, derandomized so CI runs are repeatable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy import update
from webkit import Seeded, make_team, poll_record, seed_event, store_polls, web_settings

from jalsa.store import Store
from jalsa.store.models import ApiToken, User
from jalsa.timeutil import utc_now
from jalsa.web.app import create_app

STREAM = "/api/events/{slug}/stream"


class Target:
    """What the generated calls run against, and how to keep the caller's access intact:
    schemathesis may well revoke token 1 or demote user 1, which would turn every later call
    into a 401 and silently test nothing."""

    def __init__(self, store: Store, app: Any, event: Seeded, admin_id: int, token: str) -> None:
        self.store = store
        self.app = app
        self.event = event
        self.admin_id = admin_id
        self.token = token
        self.calls = 0
        self.statuses: dict[int, int] = {}

    def keep_access(self) -> None:
        with self.store.session() as session:
            session.execute(
                update(User).where(User.id == self.admin_id).values(role="admin", active=True)
            )
            session.execute(
                update(ApiToken).where(ApiToken.user_id == self.admin_id).values(revoked_at=None)
            )


@pytest.fixture
def target(store: Store, database_url: str, tmp_path: Path) -> Iterator[Target]:
    from schemathesis.python import asgi

    settings_ = web_settings(tmp_path, database_url)
    team = make_team(store)
    event = seed_event(store)
    now = utc_now()
    store_polls(
        store,
        [poll_record(sid, now, [(metric, now, 1_000)]) for sid, metric in event.audience.items()],
    )
    app = create_app(store, settings_)
    yield Target(store, app, event, team["admin"].user_id, team["admin"].token)
    # the feeds the app started run in schemathesis's event loop: end them with the app
    asgi.shutdown_lifespans()


@pytest.fixture
def api_schema(target: Target) -> Any:
    return schemathesis.openapi.from_asgi("/api/openapi.json", target.app)


# The live stream never ends: it is documented (checked below) but not called with made-up input.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path=STREAM)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, target: Target) -> None:
    target.keep_access()
    if "slug" in (case.path_parameters or {}) and target.calls % 3 != 2:
        case.path_parameters["slug"] = target.event.slug  # mostly a real event, sometimes not
    target.calls += 1
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {target.token}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
    assert response.status_code != 401, "the caller lost access: the run tests nothing"


def test_the_schema_documents_the_api_and_nothing_else(target: Target) -> None:
    loaded = schemathesis.openapi.from_asgi("/api/openapi.json", target.app)
    paths = set(loaded.raw_schema["paths"])
    assert paths, "no operations in the schema"
    assert all(p.startswith("/api/") for p in paths), paths
    assert {"/api/events", "/api/events/{slug}/live", "/api/events/{slug}/timeline"} <= paths
    # the live stream is there, as Server-Sent Events with their resume header
    stream = loaded.raw_schema["paths"][STREAM]["get"]
    assert list(stream["responses"]["200"]["content"]) == ["text/event-stream"]
    event = stream["responses"]["200"]["content"]["text/event-stream"]["schema"]
    assert event["properties"]["event"]["enum"] == ["snapshot", "poll"]
    headers = {p["name"].lower() for p in stream["parameters"] if p["in"] == "header"}
    assert "last-event-id" in headers
