"""Accounts and secrets through the real app: the login rate limit, one-time expiring
invitations, argon2 password hashes, the session cookie's flags, platform credentials that
never come back out, the audit log, and writes committed before they are confirmed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from sqlalchemy import func, select
from webkit import (
    PASSWORD,
    Site,
    csrf_in_page,
    discover_routes,
    login,
    make_member,
)

from jalsa.credentials import with_stored_credentials
from jalsa.store import Store
from jalsa.store.models import ApiToken, AuditEntry, Base, Credential, Invitation, User, WebSession
from jalsa.team import create_invitation, digest
from jalsa.vault import Vault
from jalsa.web.app import create_app
from jalsa.web.deps import SESSION_COOKIE

STREAMING = {"/api/events/{slug}/stream"}


def _user(store: Store, username: str) -> User | None:
    with store.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None:
            session.expunge(user)
        return user


def _audit(store: Store, action: str) -> list[AuditEntry]:
    with store.session() as session:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        for row in rows:
            session.expunge(row)
        return rows


def database_text(store: Store) -> str:
    """Every row of every table, as text (works on SQLite and PostgreSQL alike)."""
    parts: list[str] = []
    with store.session() as session:
        for table in Base.metadata.sorted_tables:
            parts.extend(repr(tuple(row)) for row in session.execute(select(table)))
    return "\n".join(parts)


def database_files(url: str) -> bytes:
    """The raw bytes of a SQLite database and its WAL (empty for another database)."""
    if not url.startswith("sqlite:///"):
        return b""
    path = Path(url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


# -- login rate limit -------------------------------------------------------------------------


def test_sixth_failed_login_is_refused_with_retry_after(sqlite_site: Site) -> None:
    with sqlite_site.client() as client:
        for attempt in range(5):
            response = client.try_login("admin", f"guess {attempt}")
            assert response.status_code == 401, (attempt, response.status_code)
            assert "Wrong username or password" in response.text
        sixth = client.try_login("admin", "guess")
        assert sixth.status_code == 429
        retry_after = int(sixth.headers["retry-after"])
        assert 0 < retry_after <= 15 * 60
        # locked means locked: even the right password waits
        right = client.try_login("admin", PASSWORD)
        assert right.status_code == 429
        assert SESSION_COOKIE not in client.http.cookies
    failed = _audit(sqlite_site.store, "login.failed")
    assert len(failed) == 5 and {e.actor for e in failed} == {"anonymous"}


def test_a_successful_login_clears_the_failures(sqlite_site: Site) -> None:
    with sqlite_site.client() as client:
        for _ in range(4):
            client.try_login("viewer", "nope")
        login(client.http, "viewer")
        client.http.cookies.clear()
        for _ in range(4):
            response = client.try_login("viewer", "x")
            assert response.status_code == 401


def test_login_never_redirects_to_another_site(sqlite_site: Site) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/events/rally"):
        with sqlite_site.client() as client:
            response = client.try_login("viewer", PASSWORD, target)
            assert response.status_code == 303
            expected = target if target.startswith("/") and not target.startswith("//") else "/"
            assert response.headers["location"] == expected


# -- invitations ------------------------------------------------------------------------------


def test_an_invitation_link_works_once(sqlite_site: Site) -> None:
    with sqlite_site.store.session() as session:
        token = create_invitation(session, role="moderator", created_by=None)
    with sqlite_site.client() as client:
        form = client.get(f"/invite/{token}")
        assert form.status_code == 200 and "moderator" in form.text
        joined = client.send(
            "POST",
            f"/invite/{token}",
            form={"username": "ayesha", "password": "a long passphrase", "display_name": "عائشہ"},
        )
        assert joined.status_code == 303
        assert client.http.cookies.get(SESSION_COOKIE), "joining logs the new member in"
        assert client.get("/users").status_code == 200  # a moderator may see the team
    user = _user(sqlite_site.store, "ayesha")
    assert user is not None and user.role == "moderator" and user.display_name == "عائشہ"
    with sqlite_site.client() as again:
        assert again.get(f"/invite/{token}").status_code == 410
        second = again.send(
            "POST",
            f"/invite/{token}",
            form={"username": "someone-else", "password": "a long passphrase"},
        )
        assert second.status_code in (400, 410)
        assert SESSION_COOKIE not in again.http.cookies
    assert _user(sqlite_site.store, "someone-else") is None
    with sqlite_site.store.session() as session:
        row = session.get(Invitation, digest(token))
        assert row is not None and row.used_by == user.id
    assert token.encode() not in database_files(sqlite_site.settings.effective_database_url)


def test_an_expired_invitation_is_refused(sqlite_site: Site) -> None:
    with sqlite_site.store.session() as session:
        token = create_invitation(session, role="admin", created_by=None, hours=-0.01)
    with sqlite_site.client() as client:
        page = client.get(f"/invite/{token}")
        assert page.status_code == 410 and "expired" in page.text
        tried = client.send(
            "POST", f"/invite/{token}", form={"username": "late", "password": "a long passphrase"}
        )
        assert tried.status_code in (400, 410)
    assert _user(sqlite_site.store, "late") is None


def test_invitations_through_the_api_respect_who_may_invite_whom(sqlite_site: Site) -> None:
    with sqlite_site.client("coordinator", "token") as coordinator:
        made = coordinator.send("POST", "/api/invitations", json_body={"role": "volunteer"})
        assert made.status_code == 201
        path = made.json()["path"]
        refused = coordinator.send("POST", "/api/invitations", json_body={"role": "admin"})
        assert refused.status_code == 403
    with sqlite_site.client("admin", "token") as admin:
        assert (
            admin.send("POST", "/api/invitations", json_body={"role": "admin"}).status_code == 201
        )
    with sqlite_site.client() as newcomer:
        joined = newcomer.send(
            "POST", path, form={"username": "bilal", "password": "a long passphrase"}
        )
        assert joined.status_code == 303
    user = _user(sqlite_site.store, "bilal")
    assert user is not None and user.role == "volunteer"


# -- passwords, sessions, tokens --------------------------------------------------------------


def test_passwords_are_stored_as_argon2_hashes(sqlite_site: Site) -> None:
    member = make_member(sqlite_site.store, "viewer")
    user = _user(sqlite_site.store, member.username)
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(user.password_hash, PASSWORD)
    assert PASSWORD not in database_text(sqlite_site.store)
    assert PASSWORD.encode() not in database_files(sqlite_site.settings.effective_database_url)


def test_user_create_reads_the_password_from_stdin_and_it_logs_in(
    sqlite_site: Site, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "JALSA_DATABASE_URL": sqlite_site.settings.effective_database_url,
        "JALSA_DATA_DIR": str(tmp_path / "cli"),
        "JALSA_CONFIG": str(tmp_path / "absent.toml"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "jalsa.cli", "user", "create", "zara", "--role", "viewer"],
        input="a piped passphrase\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    user = _user(sqlite_site.store, "zara")
    assert user is not None and user.password_hash.startswith("$argon2id$")
    with sqlite_site.client() as client:
        login(client.http, "zara", "a piped passphrase")


def test_the_session_cookie_is_httponly_and_samesite(sqlite_site: Site) -> None:
    with sqlite_site.client() as client:
        response = client.try_login("viewer", PASSWORD)
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "httponly" in flags
        assert re.search(r"samesite=(lax|strict)", cookie, re.IGNORECASE)
        assert "secure" not in flags  # plain HTTP on loopback, cookie_secure=False
        value = client.http.cookies[SESSION_COOKIE]
    # only a hash of the cookie is stored
    assert _session_exists(sqlite_site.store, value)
    assert value not in database_text(sqlite_site.store)


def _session_exists(store: Store, cookie: str) -> bool:
    with store.session() as session:
        return session.get(WebSession, digest(cookie)) is not None


async def test_the_session_cookie_is_secure_over_https(sqlite_site: Site) -> None:
    settings = sqlite_site.settings.model_copy(update={"cookie_secure": None})
    app = create_app(sqlite_site.store, settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://jalsa.test") as client:
        token = csrf_in_page((await client.get("/login")).text)
        data = {"username": "viewer", "password": PASSWORD, "csrf_token": token or ""}
        response = await client.post("/login", data=data)
    assert response.status_code == 303
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
    flags = {p.strip().split("=")[0].lower() for p in cookie.split(";")}
    assert {"secure", "httponly"} <= flags


def test_logout_ends_the_session(sqlite_site: Site) -> None:
    with sqlite_site.client("viewer", "cookie") as client:
        cookie = client.cookie
        assert cookie is not None
        assert client.get("/").status_code == 200
        assert client.send("POST", "/logout", form={}).status_code == 303
        assert not _session_exists(sqlite_site.store, cookie)
        client.http.cookies.set(SESSION_COOKIE, cookie)  # a stolen copy of the cookie
        assert client.get("/").status_code == 303


def test_api_tokens_are_shown_once_and_stored_as_hashes(sqlite_site: Site) -> None:
    with sqlite_site.client("volunteer", "cookie") as browser:
        made = browser.send("POST", "/api/tokens", json_body={"name": "probe in Karachi"})
        assert made.status_code == 201
        token = made.json()["token"]
        listed = browser.get("/api/tokens")
        assert listed.status_code == 200 and token not in listed.text
        with httpx.Client(base_url=sqlite_site.url) as fresh:
            fresh.headers["Authorization"] = f"Bearer {token}"
            assert fresh.get("/api/events").status_code == 200
            assert token not in database_text(sqlite_site.store)
            with sqlite_site.store.session() as session:
                row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
                assert row is not None
                token_id = row.id
            # a token manages no tokens, not even itself: revoking is for the owner's browser
            assert fresh.delete(f"/api/tokens/{token_id}").status_code == 403
            assert browser.send("DELETE", f"/api/tokens/{token_id}").status_code == 200
            assert fresh.get("/api/events").status_code == 401


def test_a_deactivated_account_is_locked_out_at_once(sqlite_site: Site) -> None:
    member = make_member(sqlite_site.store, "volunteer")
    with httpx.Client(base_url=sqlite_site.url, follow_redirects=False) as browser:
        cookie = login(browser, member.username)
        assert browser.get("/").status_code == 200
        with sqlite_site.client("admin", "token") as admin:
            changed = admin.send(
                "PATCH", f"/api/users/{member.user_id}", json_body={"active": False}
            )
            assert changed.status_code == 200 and changed.json()["active"] is False
        assert browser.get("/").status_code == 303
    with httpx.Client(base_url=sqlite_site.url) as script:
        script.headers["Authorization"] = f"Bearer {member.token}"
        assert script.get("/api/events").status_code == 401
        # reactivated, the account starts afresh: its old sessions and tokens stay dead
        with sqlite_site.client("admin", "token") as admin:
            path = f"/api/users/{member.user_id}"
            assert admin.send("PATCH", path, json_body={"active": True}).status_code == 200
        assert not _session_exists(sqlite_site.store, cookie)
        assert script.get("/api/events").status_code == 401
    [entry] = [e for e in _audit(sqlite_site.store, "user.update") if e.details.get("ended")]
    assert entry.details["ended"] == {"sessions": 1, "tokens": 1}


def test_the_last_admin_cannot_be_demoted(sqlite_site: Site) -> None:
    admin = sqlite_site.team["admin"]
    with sqlite_site.client("admin", "token") as client:
        response = client.send("PATCH", f"/api/users/{admin.user_id}", json_body={"role": "viewer"})
        assert response.status_code == 400
    user = _user(sqlite_site.store, "admin")
    assert user is not None and user.role == "admin"


# -- platform credentials -----------------------------------------------------------------------

SECRET = "AIzaSyD-team-secret-value-0123456789zQ7x"
FORM_SECRET = "AAAAAAAAAAAAAAAAAAAAAbearer-form-secret-9876wXyZ"


def _fill_for_reading(route: Any, site: Site) -> str | None:
    path = route.path
    values = {
        "slug": site.event.slug,
        "user_id": str(site.team["admin"].user_id),
        "token_id": str(site.team["admin"].token_id),
        "name": "youtube_api_key",
        "stream_id": str(site.event.stream_ids[0]),
    }
    for param in route.params:
        if param not in values:
            return None
        path = path.replace(f"{{{param}}}", values[param])
    return path


def test_credentials_are_encrypted_and_never_shown_back(sqlite_site: Site) -> None:
    site = sqlite_site
    with site.client("admin", "cookie") as admin:
        put = admin.send("PUT", "/api/credentials/youtube_api_key", json_body={"value": SECRET})
        assert put.status_code == 200, put.text
        assert SECRET not in put.text and put.json()["hint"] == "…" + SECRET[-4:]
        form = admin.send("POST", "/credentials/x_bearer_token", form={"value": FORM_SECRET})
        assert form.status_code == 303
        assert len(_audit(site.store, "credential.set")) == 2

        # at rest: only ciphertext, which the server's key opens
        with site.store.session() as session:
            rows = {c.name: (c.ciphertext, c.hint) for c in session.scalars(select(Credential))}
        vault = Vault.from_settings(site.settings)
        assert vault.decrypt(rows["youtube_api_key"][0]) == SECRET
        assert vault.decrypt(rows["x_bearer_token"][0]) == FORM_SECRET
        text = database_text(site.store)
        raw = database_files(site.settings.effective_database_url)
        for secret in (SECRET, FORM_SECRET):
            assert secret not in text
            assert secret.encode() not in raw
            assert secret[:-4] not in text  # nor most of it

        # the tracker gets them back
        filled = with_stored_credentials(site.settings, site.store)
        assert filled.youtube_api_key is not None
        assert filled.youtube_api_key.get_secret_value() == SECRET

        # no page and no API answer shows them; the credentials page shows the hints
        checked = 0
        for route in discover_routes(site.app):
            if not route.safe or route.path in STREAMING or not route.perms:
                continue
            path = _fill_for_reading(route, site)
            if path is None:
                continue
            response = admin.get(path)
            assert response.status_code == 200, (str(route), response.status_code)
            for secret in (SECRET, FORM_SECRET):
                assert secret not in response.text, f"{route} shows a credential"
                assert secret[:-4] not in response.text, f"{route} shows most of a credential"
            checked += 1
        assert checked >= 5
        page = admin.get("/credentials").text
        assert "…" + SECRET[-4:] in page and "…" + FORM_SECRET[-4:] in page


# -- audit ------------------------------------------------------------------------------------


def test_writes_are_audited_with_who_what_and_where(sqlite_site: Site) -> None:
    with sqlite_site.client("coordinator", "token") as client:
        made = client.send(
            "POST",
            "/api/events",
            json_body={"name": "جلسہ لاہور", "starts": "2030-01-05 19:00", "duration": "3h"},
        )
        assert made.status_code == 201
        slug = made.json()["slug"]
        entries = [
            e for e in client.get("/api/audit").json()["entries"] if e["action"] == "event.create"
        ]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["actor"] == "coordinator"
    assert entry["target"] == slug
    assert entry["ip"] == "127.0.0.1"
    with sqlite_site.store.session() as session:
        count = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "login")
        )
    assert count == 0  # a token call is not a login


def test_login_and_logout_need_their_csrf_tokens(sqlite_site: Site) -> None:
    """A page elsewhere can neither log a volunteer in as the attacker nor log them out."""
    with httpx.Client(base_url=sqlite_site.url, follow_redirects=False) as browser:
        data = {"username": "viewer", "password": PASSWORD}
        refused = browser.post("/login", data=data)
        assert refused.status_code == 403 and SESSION_COOKIE not in browser.cookies
        browser.get("/login")  # the cookie half, but a forged form half
        forged = browser.post("/login", data={**data, "csrf_token": "guess"})
        assert forged.status_code == 403 and SESSION_COOKIE not in browser.cookies
        cookie = login(browser, "viewer")
        assert browser.post("/logout", data={}).status_code == 403
        assert browser.post("/logout", data={"csrf_token": "guess"}).status_code == 403
        assert _session_exists(sqlite_site.store, cookie)
        token = csrf_in_page(browser.get("/").text)
        assert browser.post("/logout", data={"csrf_token": token or ""}).status_code == 303
        assert not _session_exists(sqlite_site.store, cookie)
