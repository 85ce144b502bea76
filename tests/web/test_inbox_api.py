"""The inbox's JSON API on a real server: the queue and its filters, what a volunteer sees,
decisions carried out on the platform and audited, undo, appeals, assignment, and replies that
the code of conduct flagged waiting for a coordinator."""

from __future__ import annotations

from typing import Any

import pytest
from inboxkit import ABUSIVE, FakeActions, FakeModel, make_item
from sqlalchemy import select
from webkit import Site

from jalsa.inbox.policy_file import load_policy
from jalsa.store.models import AuditEntry


@pytest.fixture
def site(sqlite_site: Site) -> Site:
    """The app's inbox with the stand-in classifier and platform, not in dry-run."""
    service = sqlite_site.app.state.inbox
    service._model = FakeModel()
    service._policy = load_policy()
    service._actions = {"youtube": FakeActions()}
    service.dry_run = False
    return sqlite_site


def actions(site: Site) -> FakeActions:
    found: FakeActions = site.app.state.inbox._actions["youtube"]
    return found


def audited(site: Site, action: str) -> list[AuditEntry]:
    with site.store.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_the_queue_filters_and_pages_and_a_volunteer_sees_only_their_items(site: Site) -> None:
    slug = site.event.slug
    volunteer_id = site.team["volunteer"].user_id
    hidden = [make_item(site.store, slug, action="hide")[0] for _ in range(3)]
    allowed, _ = make_item(site.store, slug, assigned_to=volunteer_id)
    with site.client("moderator", "token") as moderator:
        page = moderator.get(f"/api/events/{slug}/inbox", params={"limit": 2}).json()
        assert page["total"] == 4 and len(page["items"]) == 2
        assert page["counts"] == {"hidden": 3, "allowed": 1}
        only = moderator.get(f"/api/events/{slug}/inbox", params={"status": "hidden"}).json()
        assert sorted(i["id"] for i in only["items"]) == sorted(hidden)
        bad = moderator.get(f"/api/events/{slug}/inbox", params={"status": "deleted"})
        assert bad.status_code == 422
        detail = moderator.get(f"/api/inbox/items/{hidden[0]}").json()
        assert [d["actor"] for d in detail["decisions"]] == ["auto"]
        assert detail["decisions"][0]["policy_version"] == "test-policy"
    with site.client("volunteer", "token") as volunteer:
        mine = volunteer.get(f"/api/events/{slug}/inbox").json()
        assert [i["id"] for i in mine["items"]] == [allowed] and mine["counts"] == {}
        assert volunteer.get(f"/api/inbox/items/{hidden[0]}").status_code == 404
        assert volunteer.get(f"/api/inbox/items/{allowed}").status_code == 200
    with site.client("viewer", "token") as viewer:
        assert viewer.get(f"/api/events/{slug}/inbox").status_code == 403


def test_a_moderator_hides_undoes_and_the_platform_follows(site: Site) -> None:
    item_id, _ = make_item(site.store, site.event.slug, text=ABUSIVE)
    with site.client("moderator", "token") as moderator:
        hide = moderator.send(
            "POST",
            f"/api/inbox/items/{item_id}/decision",
            json_body={"action": "hide", "reason": "abuse", "category": "abuse"},
        )
        assert hide.status_code == 200, hide.text
        assert (hide.json()["result_status"], hide.json()["actor"]) == ("done", "moderator")
        undo = moderator.send(
            "POST", f"/api/inbox/decisions/{hide.json()['id']}/undo", json_body={"reason": "oops"}
        )
        assert undo.status_code == 200 and undo.json()["reverses"] == hide.json()["id"]
        again = moderator.send(
            "POST", f"/api/inbox/decisions/{hide.json()['id']}/undo", json_body={}
        )
        assert again.status_code == 400 and "cannot be undone" in again.json()["detail"]
        item = moderator.get(f"/api/inbox/items/{item_id}").json()["item"]
        assert (item["status"], item["platform_state"]) == ("allowed", "visible")
        unknown = moderator.send(
            "POST", f"/api/inbox/items/{item_id}/decision", json_body={"action": "delete"}
        )
        assert unknown.status_code == 422
    assert [c[0] for c in actions(site).calls] == ["hide", "unhide"]
    assert [e.target for e in audited(site, "inbox.hide")] == [f"inbox item {item_id}"]
    assert len(audited(site, "inbox.undo")) == 1


def test_an_appeal_is_decided_by_a_coordinator(site: Site) -> None:
    item_id, _ = make_item(site.store, site.event.slug, action="hide")
    path = f"/api/inbox/items/{item_id}/appeal"
    with site.client("moderator", "token") as moderator:
        assert moderator.send("POST", path, json_body={"note": "a quote"}).status_code == 200
        refused = moderator.send("POST", path + "/decision", json_body={"upheld": True})
        assert refused.status_code == 403
    with site.client("coordinator", "token") as coordinator:
        upheld = coordinator.send("POST", path + "/decision", json_body={"upheld": True})
        assert upheld.status_code == 200 and upheld.json()["action"] == "appeal_upheld"
        item = coordinator.get(f"/api/inbox/items/{item_id}").json()["item"]
    assert (item["status"], item["platform_state"]) == ("allowed", "visible")


def test_replies_flagged_by_the_code_wait_for_a_coordinator(site: Site) -> None:
    volunteer_id = site.team["volunteer"].user_id
    item_id, _ = make_item(site.store, site.event.slug)
    with site.client("moderator", "token") as moderator:
        viewer_id = site.team["viewer"].user_id
        refused = moderator.send(
            "POST", f"/api/inbox/items/{item_id}/assign", json_body={"user_id": viewer_id}
        )
        assert refused.status_code == 400 and "may not reply" in refused.json()["detail"]
        assigned = moderator.send(
            "POST", f"/api/inbox/items/{item_id}/assign", json_body={"user_id": volunteer_id}
        )
        assert assigned.status_code == 200
    with site.client("volunteer", "token") as volunteer:
        fine = volunteer.send(
            "POST", f"/api/inbox/items/{item_id}/replies", json_body={"text": "Thank you!"}
        ).json()
        assert fine["status"] == "approved"
        sent = volunteer.send("POST", f"/api/inbox/replies/{fine['id']}/send").json()
        assert (sent["status"], sent["platform_reply_id"]) == ("sent", sent["platform_reply_id"])
        flagged = volunteer.send(
            "POST", f"/api/inbox/items/{item_id}/replies", json_body={"text": ABUSIVE}
        ).json()
        assert flagged["status"] == "needs_approval"
        early = volunteer.send("POST", f"/api/inbox/replies/{flagged['id']}/send")
        assert early.status_code == 400 and "coordinator" in early.json()["detail"]
        assert (
            volunteer.send("POST", f"/api/inbox/replies/{flagged['id']}/approve").status_code == 403
        )
        empty = volunteer.send("POST", f"/api/inbox/items/{item_id}/replies", json_body={})
        assert empty.status_code == 400
    with site.client("coordinator", "token") as coordinator:
        approved = coordinator.send("POST", f"/api/inbox/replies/{flagged['id']}/approve")
        assert approved.json()["status"] == "approved"
    with site.client("volunteer", "token") as volunteer:
        final: dict[str, Any] = volunteer.send(
            "POST", f"/api/inbox/replies/{flagged['id']}/send"
        ).json()
        assert final["status"] == "sent"
    assert [e.action for e in audited(site, "inbox.reply.send")] == ["inbox.reply.send"] * 2
