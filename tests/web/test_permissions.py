"""The permission matrix, table-driven: every route the app serves x every role (and no one).

The routes are discovered from the app, not listed here: a route without a `Requires`
dependency must be one of the few public ones, and every guarded route is called by every
role with its path filled with real objects and a valid body. Anonymous callers are sent to
the login form (pages) or get 401 (API); a role without the permission gets 403; a role with
it gets through, and its writes leave an audit entry."""

from __future__ import annotations

import html.parser
import json
import secrets
import tempfile
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from inboxkit import JSON_BODIES as INBOX_BODIES
from inboxkit import inbox_path_value
from pydantic import BaseModel
from sqlalchemy import func, select
from webkit import (
    ROLES,
    RouteInfo,
    Site,
    WebClient,
    asgi_call,
    csrf_in_page,
    discover_routes,
    make_member,
    other_routes,
)

from jalsa.config import load_settings
from jalsa.credentials import credential_names, set_credential
from jalsa.mobilize.campaigns import CampaignSpec, create_campaign
from jalsa.store import Store
from jalsa.store.models import AuditEntry
from jalsa.team import (
    MATRIX,
    Perm,
    Role,
    create_api_token,
    create_invitation,
    token_allows,
)
from jalsa.timeutil import utc_now
from jalsa.vault import Vault
from jalsa.web.app import create_app
from jalsa.web.deps import SESSION_COOKIE
from jalsa.web.routes import PUBLIC_PATHS
from jalsa.web.services import app_services


def _routes() -> list[RouteInfo]:
    """The routes of an app built only to be looked at (at collection time)."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/routes.db")
        try:
            return discover_routes(_app_for_inspection(store, Path(folder)))
        finally:
            store.dispose()


def _app_for_inspection(store: Store, folder: Path) -> Any:
    return create_app(store, load_settings(data_dir=folder / "data"))


ROUTES = _routes()
GUARDED = [r for r in ROUTES if r.perms]
WRITES = [r for r in GUARDED if not r.safe]
STREAMING = {"/api/events/{slug}/stream"}  # answers with a stream that never ends
CALLERS = ["anonymous", *ROLES]

# -- valid bodies: each call gets fresh values, so repeating a write never collides -------------


def _uid() -> str:
    return secrets.token_hex(4)


JSON_BODIES: dict[str, Callable[[], dict[str, Any]]] = {
    "EventCreate": lambda: {
        "name": f"Event {_uid()}",
        "starts": "2030-03-01 18:00",
        "duration": "2h",
        "timezone": "Asia/Karachi",
        "hashtags": ["#jalsa"],
    },
    "EventUpdate": lambda: {"name": f"Virtual jalsa {_uid()}"},
    "StreamCreate": lambda: {"kind": "youtube", "external_id": f"vid{_uid()}", "label": "Main"},
    "CredentialValue": lambda: {"value": f"credential-value-{_uid()}"},
    "InvitationCreate": lambda: {"role": "volunteer", "note": "Lahore", "hours": 24},
    "UserUpdate": lambda: {"role": "viewer"},
    "TokenCreate": lambda: {"name": f"probe {_uid()}"},
    "MeasurementBatch": lambda: {"measurements": [_measurement()]},
    # A name that does not resolve: the server answers at once, without probing.
    "ControlRequest": lambda: {"targets": [{"host": "nowhere.invalid", "platform": "x"}]},
    "CampaignCreate": lambda: {
        "name": f"Reminder {_uid()}",
        "text_en": "The jalsa starts at {event_time}",
        "event": "rally",
        "schedule": "event-1h",
    },
    **INBOX_BODIES,
}


def _measurement() -> dict[str, Any]:
    at = utc_now().isoformat()
    return {
        "id": f"perm-{_uid()}",
        "target": "x.com",
        "platform": "x",
        "vantage": {"name": "lahore-1", "city": "Lahore", "network": "PTCL"},
        "round_at": at,
        "started_at": at,
        "finished_at": at,
        "observations": {},
        "verdict": {"method": "ok", "reason": "every step succeeded"},
    }


FORM_BODIES: dict[str, Callable[[], dict[str, str]]] = {
    "/events/new": lambda: {
        "name": f"Event {_uid()}",
        "starts": "2030-03-01 18:00",
        "duration": "2h",
        "timezone": "Asia/Karachi",
        "hashtags": "#jalsa",
        "slug": "",
    },
    "/events/{slug}/edit": lambda: {
        "name": f"Virtual jalsa {_uid()}",
        "starts": _local_now(minutes=-30),
        "duration": "3h",
        "hashtags": "#jalsa",
    },
    "/events/{slug}/streams": lambda: {"kind": "youtube", "external_id": f"vid{_uid()}"},
    "/credentials/{name}": lambda: {"value": f"credential-value-{_uid()}"},
    "/users/invite": lambda: {"role": "volunteer", "note": "Lahore", "hours": "24"},
    "/users/{user_id}": lambda: {"role": "viewer"},
    "/tokens": lambda: {"name": f"probe {_uid()}"},
    "/inbox/items/{item_id}/decision": lambda: {"action": "hide", "category": "abuse"},
    "/inbox/decisions/{decision_id}/undo": lambda: {"reason": "a mistake"},
    "/inbox/items/{item_id}/appeal": lambda: {"note": "I was quoting him"},
    "/inbox/items/{item_id}/appeal/decision": lambda: {"upheld": "true", "reason": "a quote"},
    "/inbox/items/{item_id}/assign": lambda: {"user_id": "me"},
    "/inbox/items/{item_id}/replies": lambda: {"text": "Thank you for joining!"},
    "/sms/new": lambda: {
        "name": f"Reminder {_uid()}",
        "text_ur": "Jalsa {event_time} par shuru hoga",
        "schedule": "2030-03-01 18:00",
        "purpose": "general",
        "city": "Lahore, Karachi",
    },
}


def _local_now(minutes: float = 0) -> str:
    """A start time in the seeded event's zone, as the form shows it."""
    at = utc_now() + timedelta(minutes=minutes)
    return at.astimezone(ZoneInfo("Asia/Karachi")).strftime("%Y-%m-%d %H:%M")


def _placeholder_json(model: type[BaseModel]) -> dict[str, Any]:
    """A guess for a body model nobody taught this test: required fields only."""
    guesses: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if info.is_required():
            annotation = info.annotation
            guesses[name] = 1 if annotation in (int, float) else "x"
    return guesses


def body_for(route: RouteInfo) -> tuple[dict[str, Any] | None, dict[str, str] | None, bool]:
    """(JSON body, form body, whether the body is known to be valid)."""
    if route.json_model is not None:
        builder = JSON_BODIES.get(route.json_model.__name__)
        if builder is not None:
            return builder(), None, True
        warnings.warn(f"{route}: no valid body known; add one to JSON_BODIES", stacklevel=1)
        return _placeholder_json(route.json_model), None, False
    if route.form_fields:
        form_builder = FORM_BODIES.get(route.path)
        if form_builder is not None:
            return None, form_builder(), True
        warnings.warn(f"{route}: no valid form known; add one to FORM_BODIES", stacklevel=1)
        return None, dict.fromkeys(route.form_fields, "x"), False
    return None, ({} if not route.api and not route.safe else None), True


# -- path parameters: real objects, fresh where the call changes or removes them ----------------


def _fresh_user(site: Site) -> str:
    return str(make_member(site.store, "volunteer").user_id)


def _own_token(site: Site, owner_id: int) -> str:
    from jalsa.store.models import User

    with site.store.session() as session:
        user = session.get(User, owner_id)
        assert user is not None
        row, _ = create_api_token(session, user, f"to revoke {_uid()}")
        return str(row.id)


def _stored_credential(site: Site) -> str:
    name = credential_names()[0]
    with site.store.session() as session:
        set_credential(
            session, Vault.from_settings(site.settings), name, f"stored-{_uid()}-value", None
        )
    return name


def _campaign(site: Site) -> str:
    """A fresh draft campaign (every action route is called with `cancel`, which a draft
    allows)."""
    with site.store.session() as session:
        spec = CampaignSpec(
            name=f"Reminder {_uid()}", texts={"en": "Jalsa tonight"}, schedule="2030-03-01 18:00"
        )
        return create_campaign(session, spec, None).slug


def path_value(site: Site, route: RouteInfo, param: str, caller_id: int) -> str:
    path = route.path
    if param in ("slug", "event"):
        return site.event.slug
    if param == "user_id" or (param == "id" and "/users/" in path):
        return _fresh_user(site)
    if param == "token_id" or (param == "id" and "/tokens/" in path):
        return _own_token(site, caller_id)
    if param == "name" and "/credentials/" in path:
        return _stored_credential(site)
    if param == "stream_id":
        return str(site.event.stream_ids[0])
    if param in ("item_id", "reply_id", "decision_id"):
        return inbox_path_value(site.store, site.event.slug, path, param, caller_id)
    if param == "campaign":
        return _campaign(site)
    if param == "action" and "/sms/" in path:
        return "cancel"
    if param == "token" and path.startswith("/invite/"):
        with site.store.session() as session:
            return create_invitation(session, role="viewer", created_by=None)
    pytest.fail(f"{route}: no real value for the path parameter {{{param}}}; teach path_value")


def fill(site: Site, route: RouteInfo, caller_id: int) -> str:
    path = route.path
    for param in route.params:
        path = path.replace(f"{{{param}}}", path_value(site, route, param, caller_id))
    return path


def audit_count(site: Site, user_id: int) -> int:
    with site.store.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.user_id == user_id)
            )
            or 0
        )


def call(client: WebClient, route: RouteInfo, path: str) -> tuple[int, dict[str, str], bool]:
    """(status, headers, whether the body sent is known to be valid)."""
    if route.path in STREAMING:
        with client.http.stream(route.method, path) as response:
            return response.status_code, dict(response.headers), True
    if route.safe:
        response = client.get(path)
        return response.status_code, dict(response.headers), True
    json_body, form, valid = body_for(route)
    response = client.send(route.method, path, json_body=json_body, form=form)
    return response.status_code, dict(response.headers), valid


def modes_for(route: RouteInfo) -> list[str]:
    """API routes are called with an API token, an agent token (for the vantage the test
    measurement names) and a browser session (the dashboard's scripts use the cookie); pages
    with a browser session."""
    return ["token", "agent", "cookie"] if route.api else ["cookie"]


SCOPE_OF_MODE = {"token": "api", "agent": "agent"}


def _token_may(route: RouteInfo) -> bool:
    """Whether an API ("api" scope) token may call the route at all (not token management)."""
    return all(token_allows("api", p) for p in route.perms)


def expected_allowed(role: str, mode: str, route: RouteInfo) -> bool:
    """What the role's permissions and the token's scope allow, and the one rule a route
    checks itself: uploads without an agent token need watch:submit-any (check_vantages)."""
    perms = MATRIX[Role(role)]
    ok = all(p in perms for p in route.perms)
    if mode in SCOPE_OF_MODE:
        ok = ok and all(token_allows(SCOPE_OF_MODE[mode], p) for p in route.perms)
    if (route.method, route.path) == ("POST", "/api/watch/measurements") and mode != "agent":
        ok = ok and Perm.SUBMIT_ANY_VANTAGE in perms
    return ok


@pytest.fixture(scope="module")
def clients(module_site: Site) -> Any:
    made: dict[tuple[str, str], WebClient] = {}
    for role in ROLES:
        for mode in ("token", "cookie"):
            made[(role, mode)] = module_site.client(role, mode)
        made[(role, "agent")] = module_site.agent(role, vantage="lahore-1")
    made[("anonymous", "anonymous")] = module_site.client(None)
    yield made
    for client in made.values():
        client.close()


# -- the tests ----------------------------------------------------------------------------------


def test_routes_were_discovered() -> None:
    paths = {r.path for r in ROUTES}
    assert {
        "/login",
        "/api/events/{slug}/live",
        "/api/events/{slug}/stream",
        "/api/events/{slug}/conversation",
    } <= paths
    assert len(GUARDED) >= 5


def test_the_conversation_needs_what_the_live_figures_need() -> None:
    """Whoever may see an event's live figures may see the conversation about it, and no
    one else."""
    perms = {r.path: r.perms for r in ROUTES if r.method == "GET"}
    live = perms["/api/events/{slug}/live"]
    assert live == {Perm.VIEW_EVENTS}
    assert perms["/api/events/{slug}/conversation"] == live


def test_every_route_without_a_permission_is_public() -> None:
    """A route that forgot its `Requires` would be open to anyone: it must be listed."""
    unguarded = sorted(str(r) for r in ROUTES if not r.perms and r.path not in PUBLIC_PATHS)
    assert not unguarded, f"routes without Requires(...) and not in PUBLIC_PATHS: {unguarded}"


def test_public_paths_exist_and_need_no_permission() -> None:
    served = {r.path for r in ROUTES}
    assert set(PUBLIC_PATHS) <= served, f"stale PUBLIC_PATHS: {set(PUBLIC_PATHS) - served}"
    assert not [str(r) for r in ROUTES if r.path in PUBLIC_PATHS and r.perms]


def test_nothing_else_is_served_around_the_checks(tmp_path: Path) -> None:
    """Only the schema and the static files are served outside FastAPI's routes."""
    store = Store(f"sqlite:///{tmp_path / 'routes.db'}")
    try:
        served = set(other_routes(_app_for_inspection(store, tmp_path)))
    finally:
        store.dispose()
    assert served <= {"/api/openapi.json", "/static"}


@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_route_x_role(module_site: Site, clients: Any, route: RouteInfo) -> None:
    site = module_site
    problems: list[str] = []
    for caller in CALLERS:
        modes = ["anonymous"] if caller == "anonymous" else modes_for(route)
        for mode in modes:
            client = clients[(caller, mode)]
            member = site.team.get(caller)
            owner = member.user_id if member else site.team["admin"].user_id
            path = fill(site, route, owner)
            before = audit_count(site, member.user_id) if member else 0
            status, headers, valid = call(client, route, path)
            who = f"{caller} ({mode}) {route.method} {path}: {status}"
            if caller == "anonymous":
                if route.api:
                    if status != 401:
                        problems.append(f"{who}, expected 401")
                elif status != 303 or not headers.get("location", "").startswith("/login"):
                    problems.append(f"{who} -> {headers.get('location')}, expected 303 to /login")
                continue
            assert member is not None
            allowed = expected_allowed(caller, mode, route)
            if not allowed:
                if status != 403:
                    problems.append(f"{who}, expected 403 ({sorted(route.perms)})")
                elif audit_count(site, member.user_id) != before:
                    problems.append(f"{who}: a refused call wrote to the audit log")
                continue
            if status in (401, 403) or status >= 500:
                problems.append(f"{who}, expected to be let through")
            elif valid and status >= 400:
                problems.append(f"{who}, expected success with a valid body")
            elif not route.safe and status < 400 and audit_count(site, member.user_id) <= before:
                problems.append(f"{who}: a write left no audit entry")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("route", WRITES, ids=str)
def test_cookie_writes_need_the_csrf_token(
    module_site: Site, clients: Any, route: RouteInfo
) -> None:
    """With the session cookie alone (no token, or a wrong one) a write is refused and
    changes nothing; with an API token no CSRF token is needed."""
    site = module_site
    admin = site.team["admin"]
    client = clients[("admin", "cookie")]
    for csrf in (False, "wrong-" + (client.csrf or "")):
        path = fill(site, route, admin.user_id)
        json_body, form, _ = body_for(route)
        before = audit_count(site, admin.user_id)
        response = client.send(route.method, path, json_body=json_body, form=form, csrf=csrf)
        label = "no CSRF token" if csrf is False else "a wrong CSRF token"
        assert response.status_code == 403, f"{route} with {label}: {response.status_code}"
        assert audit_count(site, admin.user_id) == before
    if route.api and _token_may(route):
        path = fill(site, route, admin.user_id)
        json_body, _, valid = body_for(route)
        before = audit_count(site, admin.user_id)
        response = clients[("admin", "token")].send(
            route.method, path, json_body=json_body, csrf=False
        )
        assert response.status_code not in (401, 403), (str(route), response.status_code)
        if valid:
            assert response.status_code < 400, (str(route), response.text[:300])
            assert audit_count(site, admin.user_id) > before


class _Forms(html.parser.HTMLParser):
    """The POST forms of a page: their action and the names of their fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and values.get("method", "get").lower() == "post":
            self._current = {"action": values.get("action", ""), "fields": {}}
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "button", "select", "textarea"):
            name = values.get("name")
            if name:
                self._current["fields"][name] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


PAGES = [r for r in GUARDED if r.safe and not r.api]


@pytest.mark.parametrize("route", PAGES, ids=str)
def test_every_form_on_every_page_carries_the_csrf_token(
    module_site: Site, clients: Any, route: RouteInfo
) -> None:
    """A page form without the token would be refused when submitted; the token handed out
    is the one of the session (so the browser tests can submit forms)."""
    client = clients[("admin", "cookie")]
    response = client.get(fill(module_site, route, module_site.team["admin"].user_id))
    assert response.status_code == 200, response.text[:300]
    parser = _Forms()
    parser.feed(response.text)
    for form in parser.forms:
        if form["action"] in ("/logout", "/login") or form["action"].startswith("/invite/"):
            continue
        assert form["fields"].get("csrf_token") == client.csrf, (
            f"{route}: the form posting to {form['action']!r} lacks the session's CSRF token"
        )
    found = csrf_in_page(response.text)
    if found is not None:
        assert found == client.csrf


def test_a_page_exposes_the_session_csrf_token(module_site: Site, clients: Any) -> None:
    client = clients[("admin", "cookie")]
    response = client.get("/events/new")
    assert response.status_code == 200
    assert csrf_in_page(response.text) == client.csrf


def test_public_routes_answer_anyone(module_site: Site, clients: Any) -> None:
    anonymous = clients[("anonymous", "anonymous")]
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    assert anonymous.get("/login").status_code == 200
    with module_site.store.session() as session:
        token = create_invitation(session, role="viewer", created_by=None)
    assert anonymous.get(f"/invite/{token}").status_code == 200


@pytest.mark.parametrize("route", WRITES, ids=str)
async def test_a_write_is_stored_before_its_response_starts(
    module_site: Site, clients: Any, route: RouteInfo
) -> None:
    """When the client sees the first byte of a success, the write (and its audit entry) is
    committed: a browser that follows the redirect at once must see it, and a commit that
    fails must not have been reported as a success."""
    site = module_site
    admin = site.team["admin"]
    app = create_app(site.store, site.settings)  # its own feeds, in this test's event loop
    path = fill(site, route, admin.user_id)
    json_body, form, valid = body_for(route)
    if route.api and _token_may(route):
        headers = [("authorization", f"Bearer {admin.token}")]
    else:
        cookie = clients[("admin", "cookie")]
        headers = [("cookie", f"{SESSION_COOKIE}={cookie.cookie}")]
        if route.api:
            headers.append(("x-csrf-token", cookie.csrf or ""))
    if form is not None:
        body = urlencode({**form, "csrf_token": clients[("admin", "cookie")].csrf}).encode()
        headers.append(("content-type", "application/x-www-form-urlencoded"))
    elif json_body is not None:
        body = json.dumps(json_body).encode()
        headers.append(("content-type", "application/json"))
    else:
        body = b""
    before = audit_count(site, admin.user_id)
    seen: dict[str, int] = {}

    def at_start(message: dict[str, Any]) -> bool:
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]
            seen["audit"] = audit_count(site, admin.user_id)
            return True
        return False

    try:
        await asgi_call(app, route.method, path, headers=headers, body=body, on_send=at_start)
    finally:
        await app_services(app).feeds.close()
    assert valid and seen["status"] < 400, seen
    assert seen["audit"] > before, f"{route}: success sent before the write was committed"
