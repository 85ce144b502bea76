"""schemathesis against every route the app serves: the operations of the OpenAPI schema it
publishes (`/api/openapi.json`) and the pages, forms and gateway callbacks it leaves out of
it, described here by FastAPI from the same routes. Every one, called with generated valid
and invalid input by an admin's API token on a store with a seeded event, inbox and
campaign, never answers 5xx; the published operations also answer what their schema says.
Only the Server-Sent Events stream is left out: it never ends (its id parsing has its own
tests in test_ids_routes.py). Bounded: a few dozen examples per operation, derandomized
so CI runs are repeatable."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from inboxkit import make_item, make_reply
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy import update
from webkit import (
    Seeded,
    _route_contexts,
    discover_routes,
    make_team,
    poll_record,
    seed_event,
    store_polls,
    web_settings,
)

from jalsa.mobilize.campaigns import CampaignSpec, create_campaign
from jalsa.store import Store
from jalsa.store.models import ApiToken, User
from jalsa.timeutil import utc_now
from jalsa.web.app import create_app
from jalsa.web.routes import PUBLIC_PATHS

UNFUZZABLE = {("GET", "/api/events/{slug}/stream")}  # answers a stream that never ends
# Path values that str.isdigit() or int() accept and a row id must not: '¹' made
# /api/events/¹/timeline a 500; NUL is refused by PostgreSQL's text type.
HOSTILE = ["¹", "01", "١", "+1", "9" * 30, "rally\x00", "x" * 500]


def _shown(context: Any) -> Any:
    """The route with `include_in_schema` on, without touching the app's own route."""
    inner = getattr(context, "_route_context", None)
    if inner is None:  # a route of the app itself (or an older FastAPI: all routes are flat)
        route = copy.copy(getattr(context, "original_route", context))
        route.include_in_schema = True
        return route
    from fastapi.routing import RouteContext

    starlette = inner.starlette_route
    if starlette is not None:
        starlette = copy.copy(starlette)
        starlette.include_in_schema = True
    return RouteContext(
        context.route,
        dataclasses.replace(inner, include_in_schema=True, starlette_route=starlette),
    )


def every_route_schema(app: Any) -> dict[str, Any]:
    """An OpenAPI document of every APIRoute of the app but the unfuzzable ones: what FastAPI
    would publish if none were hidden (pages and forms included, as form bodies)."""
    from fastapi.openapi.utils import get_openapi
    from fastapi.routing import APIRoute

    routes = [
        _shown(effective)
        for original, effective in _route_contexts(app)
        if isinstance(original, APIRoute)
        and not {(m, effective.path) for m in effective.methods or ()} <= UNFUZZABLE
    ]
    return get_openapi(
        title=app.title, version=app.version, openapi_version=app.openapi_version, routes=routes
    )


STREAM = "/api/events/{slug}/stream"  # documented (checked below), never fuzzed: UNFUZZABLE


class Target:
    """What the generated calls run against, and how to keep the caller's access intact:
    schemathesis may well revoke token 1 or demote user 1, which would turn every later call
    into a 401 and silently test nothing."""

    def __init__(
        self,
        store: Store,
        app: Any,
        event: Seeded,
        admin_id: int,
        token: str,
        real: dict[str, str],
    ) -> None:
        self.store = store
        self.app = app
        self.event = event
        self.admin_id = admin_id
        self.token = token
        self.real = real  # path parameter -> a value that names a real row
        self.published = {
            (method.upper(), path)
            for path, operations in app.openapi()["paths"].items()
            for method in operations
        }
        self.calls = 0

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
    item_id, decision_id = make_item(store, event.slug)
    with store.session() as session:
        spec = CampaignSpec(name="Reminder", texts={"en": "Jalsa tonight"}, schedule="2030-03-01")
        campaign = create_campaign(session, spec, None).slug
    real = {
        "slug": event.slug,
        "item_id": str(item_id),
        "decision_id": str(decision_id),
        "reply_id": str(make_reply(store, event.slug, "needs_approval")),
        "campaign": campaign,
    }
    app = create_app(store, settings_)
    yield Target(store, app, event, team["admin"].user_id, team["admin"].token, real)
    # the feeds the app started run in schemathesis's event loop: end them with the app
    asgi.shutdown_lifespans()


@pytest.fixture
def api_schema(target: Target) -> Any:
    loaded = schemathesis.openapi.from_dict(every_route_schema(target.app))
    loaded.app = target.app
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, target: Target) -> None:
    target.keep_access()
    turn, params = target.calls % 3, case.path_parameters or {}
    for name in params.keys() & target.real.keys():
        if turn != 2:  # mostly real rows (to reach deeper), sometimes what was generated
            params[name] = target.real[name]
    if turn == 2 and params and target.calls % 2:  # and now and then a hostile spelling
        name = sorted(params)[target.calls % len(params)]
        params[name] = HOSTILE[target.calls % len(HOSTILE)]
    target.calls += 1
    published = (case.operation.method.upper(), case.operation.path) in target.published
    # The pages' and forms' answers (HTML, redirects) are not a documented contract: for
    # them the check is that nothing fails on the server.
    checks = [not_a_server_error]
    if published:
        checks += [response_schema_conformance, content_type_conformance]
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {target.token}"}, checks=checks
    )
    public = case.operation.path in PUBLIC_PATHS
    assert public or response.status_code != 401, "the caller lost access: the run tests nothing"


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


def test_the_run_covers_every_route_but_the_stream(target: Target) -> None:
    served = {(r.method, r.path) for r in discover_routes(target.app)}
    documented = every_route_schema(target.app)["paths"]
    fuzzed = {(m.upper(), path) for path, ops in documented.items() for m in ops}
    assert fuzzed == served - UNFUZZABLE
    assert target.published - UNFUZZABLE < fuzzed  # the pages come on top of the published API


def test_call_sequences_never_fail_on_the_server(target: Target) -> None:
    """schemathesis's stateful mode on the published API: operations chained through the links
    it infers from the schema (an event created, then read, edited, given streams; a campaign
    written, then previewed and sent...), with real values from earlier answers. No step
    answers 5xx, and every answer keeps to its schema."""
    published = schemathesis.openapi.from_asgi("/api/openapi.json", target.app)
    machine = published.as_state_machine()
    assert machine.bundles, "schemathesis found no links between the operations"
    steps: list[int] = []

    class Sequences(machine):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            target.keep_access()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Bearer {target.token}"}}

        def after_call(self, response: Any, case: Any) -> None:
            steps.append(response.status_code)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(
                response,
                checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
            )

    Sequences.run(
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert len(steps) >= 15 and all(status < 500 for status in steps)
