"""Ids and slug-or-ids in addresses and queries, through the running app: every spelling
other than the canonical one is a clear 404 (slug-or-id) or 422 (a typed row id), never a
500, and an event reached by its id and by its slug is one event with one dashboard feed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from webkit import Site, WebClient

from jalsa.web.services import app_services

# '¹' passes str.isdigit() and int() refuses it (the 500 schemathesis found); the others are
# numbers to int() and pydantic, so they were second names for the same row.
HOSTILE = [
    *["¹", "١", "１", "0{id}", "00{id}", "+{id}", " {id}", "{id}_0", "{id}.0"],
    pytest.param("9" * 400, id="400-nines"),
]


@pytest.fixture
def admin(module_site: Site) -> Iterator[WebClient]:
    with module_site.client("admin", mode="token") as client:
        yield client


def _event_id(site: Site) -> int:
    from jalsa.store.repo import get_event

    with site.store.session() as session:
        return get_event(session, site.event.slug).id


def _alias(template: str, value: int) -> str:
    return quote(template.format(id=value), safe="")


@pytest.mark.parametrize("template", HOSTILE)
@pytest.mark.parametrize("route", ["timeline", "live", "conversation", "streams", "report", ""])
def test_an_event_address_reads_only_a_slug_or_a_canonical_id(
    admin: WebClient, module_site: Site, template: str, route: str
) -> None:
    path = f"/api/events/{_alias(template, _event_id(module_site))}" + (f"/{route}" * bool(route))
    answer = admin.get(path)
    assert answer.status_code == 404, (path, answer.status_code, answer.text[:300])
    assert "jalsa event list" in answer.json()["detail"]


def test_the_same_event_by_id_and_by_slug_shares_one_feed(
    admin: WebClient, module_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feeds are keyed by the event's own slug: `/1/live` and `/rally/live` must not start
    two pollers of the same event (issue 17), and `/01/...` none at all."""
    feeds = app_services(module_site.app).feeds
    keys: list[str] = []
    original = feeds.get

    async def recording(key: str) -> Any:
        keys.append(key)
        return await original(key)

    monkeypatch.setattr(feeds, "get", recording)
    event_id = _event_id(module_site)
    by_id = admin.get(f"/api/events/{event_id}/live")
    by_slug = admin.get(f"/api/events/{module_site.event.slug}/live")
    assert by_id.status_code == by_slug.status_code == 200
    assert admin.get(f"/api/events/0{event_id}/live").status_code == 404
    assert admin.get(f"/api/events/0{event_id}/stream").status_code == 404
    with admin.http.stream("GET", f"/api/events/{event_id}/stream") as stream:
        assert stream.status_code == 200
    assert keys == [module_site.event.slug] * 3


@pytest.mark.parametrize("value", ["¹", "01", "1_0", "-1", "2147483648", "1.0", " 1"])
def test_the_stream_resumes_only_after_a_canonical_message_id(
    admin: WebClient, module_site: Site, value: str
) -> None:
    path = f"/api/events/{module_site.event.slug}/stream"
    assert admin.get(path, params={"after": value}).status_code == 422
    # A Last-Event-ID that is no message id is ignored: the stream starts with a snapshot.
    with admin.http.stream("GET", path, headers={"Last-Event-ID": quote(value)}) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        head = [next(lines), next(lines)]
    assert head[1] == "event: snapshot", head


@pytest.mark.parametrize(
    "path",
    [
        "/api/inbox/items/{alias}",
        "/api/tokens/{alias}",
        "/inbox/items/{alias}",
    ],
)
@pytest.mark.parametrize("template", ["¹", "01", "+1", "1_0", "1.0", " 1", "2147483648"])
def test_a_row_id_in_an_address_has_one_spelling(
    module_site: Site, admin: WebClient, path: str, template: str
) -> None:
    address = path.format(alias=_alias(template, 1))
    if path.startswith("/api/tokens"):  # tokens are managed from a browser session only
        with module_site.client("admin", "cookie") as browser:
            answer = browser.send("DELETE", address)
    else:
        answer = admin.http.request("GET", address)
    assert answer.status_code == 422, answer.text[:300]


@pytest.mark.parametrize("value", ["¹", "01", "+1", "1_0", " 1", "0", "2147483648"])
def test_a_row_id_in_a_query_has_one_spelling(admin: WebClient, value: str) -> None:
    assert admin.get("/api/audit", params={"before_id": value}).status_code == 422
    answer = admin.get("/api/events/rally/inbox", params={"assigned_to": value})
    assert answer.status_code in (404, 422), answer.text[:300]
    assert admin.get("/api/audit", params={"before_id": "1"}).status_code == 200


@pytest.mark.parametrize("template", ["¹", "0{id}", "+{id}", pytest.param("x" * 300, id="long")])
def test_a_campaign_address_reads_only_a_slug_or_a_canonical_id(
    admin: WebClient, template: str
) -> None:
    answer = admin.get(f"/api/sms/campaigns/{_alias(template, 1)}")
    assert answer.status_code == 404, answer.text[:300]
    assert admin.get(f"/sms/{_alias(template, 1)}").status_code == 404


@pytest.mark.parametrize("value", ["¹", "01", "-3", "99999999999999999999"])
def test_an_odd_inbox_page_number_is_the_first_page(
    module_site: Site, admin: WebClient, value: str
) -> None:
    answer = admin.get(f"/events/{module_site.event.slug}/inbox", params={"page": value})
    assert answer.status_code == 200, answer.text[:300]


def test_an_unknown_event_is_a_clear_404_not_a_database_error(admin: WebClient) -> None:
    for ref in ["rally\x00", "%00", "a" * 81, "Rally"]:
        answer = admin.get(f"/api/events/{quote(ref, safe='%')}/timeline")
        assert answer.status_code == 404, (ref, answer.text[:300])
