"""The inbox pages on a real server: who may open the queue and an item (a viewer may not, a
volunteer sees only what is assigned to them), the filters and paging, a moderator's decision
carried out and logged with the policy and model versions, undo, appeals, assignment, a reply
the code of conduct flagged that a volunteer cannot send and a coordinator approves, and CSRF
on every form."""

from __future__ import annotations

import html
import re

import pytest
from inboxkit import ABUSIVE, FakeActions, FakeModel, make_item
from sqlalchemy import select
from webkit import Site, WebClient

from jalsa.inbox import store as q
from jalsa.inbox.policy_file import load_policy
from jalsa.store.models import AuditEntry, InboxDecisionRow
from jalsa.web.routes import inbox_pages
from jalsa.web.services import app_services

URDU = "یہ جلسہ بہت اچھا تھا، شکریہ"


@pytest.fixture
def site(sqlite_site: Site) -> Site:
    """The app's inbox with the stand-in classifier and platform, not in dry-run."""
    service = app_services(sqlite_site.app).inbox
    service._model = FakeModel()
    service._policy = load_policy()
    service._actions = {"youtube": FakeActions(), "facebook": FakeActions()}
    service.dry_run = False
    return sqlite_site


def item(site: Site, **fields: object) -> int:
    """An item (allowed by the policy unless `action` says otherwise) with `fields` set."""
    action = str(fields.pop("action", "allow"))
    text = str(fields.pop("text", "Khan sahab zindabad"))
    platform = str(fields.pop("platform", "youtube"))
    item_id, _ = make_item(site.store, site.event.slug, action=action, text=text, platform=platform)
    with site.store.session() as session:
        row = q.get_item(session, item_id)
        for name, value in fields.items():
            setattr(row, name, value)
    return item_id


def state(site: Site, item_id: int) -> tuple[str, str]:
    with site.store.session() as session:
        row = q.get_item(session, item_id)
        return row.status, row.platform_state


def decisions(site: Site, item_id: int) -> list[InboxDecisionRow]:
    with site.store.session() as session:
        return q.item_decisions(session, item_id)


def audited(site: Site, action: str) -> list[AuditEntry]:
    with site.store.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def shown_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="inbox-item[^"]*" id="item-(\d+)"', page)]


def actions(site: Site) -> FakeActions:
    found: FakeActions = app_services(site.app).inbox._actions["youtube"]
    return found


def queue(site: Site) -> str:
    return f"/events/{site.event.slug}/inbox"


def test_who_may_open_the_inbox(site: Site) -> None:
    volunteer_id = site.team["volunteer"].user_id
    theirs = item(site, assigned_to=volunteer_id)
    other = item(site, action="hide")
    with site.client(None) as anonymous:
        away = anonymous.get(queue(site))
        assert away.status_code == 303 and away.headers["location"].startswith("/login")
    with site.client("viewer") as viewer:
        assert viewer.get(queue(site)).status_code == 403
        assert viewer.get(f"/inbox/items/{theirs}").status_code == 403
        assert viewer.get("/inbox").status_code == 403
        assert 'id="nav-inbox"' not in viewer.get("/").text
    with site.client("volunteer") as volunteer:
        page = volunteer.get(queue(site))
        assert page.status_code == 200
        assert shown_ids(page.text) == [theirs]
        assert "You see the items assigned to you" in page.text
        assert "/decision" not in page.text and 'id="filter-mine"' not in page.text
        assert volunteer.get(f"/inbox/items/{other}").status_code == 404
        mine = volunteer.get(f"/inbox/items/{theirs}")
        assert mine.status_code == 200 and 'id="reply-form"' in mine.text
        assert 'id="decision-form"' not in mine.text and "/undo" not in mine.text
        assert "1 assigned to you" in volunteer.get("/inbox").text
    with site.client("moderator") as moderator:
        page = moderator.get(queue(site))
        assert shown_ids(page.text) == [other, theirs]  # newest first
        assert f'action="/inbox/items/{other}/decision"' in page.text
        assert 'id="nav-inbox"' in page.text
        detail = moderator.get(f"/inbox/items/{other}").text
        assert 'id="decision-form"' in detail and 'id="appeal-form"' in detail


def test_the_queue_shows_each_item_and_filters_and_pages(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    moderator_id = site.team["moderator"].user_id
    urdu = item(site, text=URDU, language="urdu", platform="facebook")
    roman = item(site, action="hide", text=ABUSIVE, platform_state="error")
    with site.store.session() as session:
        q.get_item(session, roman).platform_detail = "permission missing: moderate comments"
    english = item(site, text="<b>Great</b> rally " + "word " * 100, language="english")
    mine = item(site, action="hide", assigned_to=moderator_id)
    with site.client("moderator") as moderator:
        page = moderator.get(queue(site)).text
        assert shown_ids(page) == [mine, english, roman, urdu]
        assert f'dir="auto" lang="ur">{URDU}</p>' in page
        assert "&lt;b&gt;Great&lt;/b&gt;" in page and "<b>Great" not in page
        assert "<summary>more</summary>" in page  # the long English item is clipped
        assert "permission missing: moderate comments" in page
        assert 'abuse</abbr> <span class="score">0.95</span>' in page
        assert "Asia/Karachi" in page

        def ids(**params: str) -> list[int]:
            response = moderator.get(queue(site), params=params)
            assert response.status_code == 200, response.text[:300]
            return shown_ids(response.text)

        assert ids(platform="facebook") == [urdu]
        assert ids(language="urdu") == [urdu]
        assert ids(status="hidden") == [mine, roman]
        assert ids(category="abuse", status="hidden") == [mine, roman]
        assert ids(mine="1") == [mine]
        assert ids(language="english", status="hidden") == []
        bad = moderator.get(queue(site), params={"status": "deleted"})
        assert bad.status_code == 400 and "unknown status" in html.unescape(bad.text)
        monkeypatch.setattr(inbox_pages, "PAGE_SIZE", 3)
        first = moderator.get(queue(site), params={"status": ""}).text
        assert shown_ids(first) == [mine, english, roman] and 'id="older"' in first
        second = moderator.get(queue(site), params={"page": "2"}).text
        assert shown_ids(second) == [urdu] and 'id="newer"' in second
        assert "Items 4–4 of 4." in second


def post(client: WebClient, path: str, **form: str) -> tuple[int, str, str]:
    """(status, redirect target, page) of a form post."""
    response = client.send("POST", path, form=form)
    return response.status_code, response.headers.get("location", ""), response.text


def test_a_decision_changes_the_item_and_is_logged_and_can_be_undone(site: Site) -> None:
    item_id = item(site, text=ABUSIVE)
    with site.client("moderator") as moderator:
        status, target, _ = post(
            moderator,
            f"/inbox/items/{item_id}/decision",
            action="hide",
            category="abuse",
            reason="gaali",
            next=queue(site) + "?status=allowed",
        )
        assert (status, target) == (303, queue(site) + "?status=allowed")
        assert state(site, item_id) == ("hidden", "hidden")
        hide = decisions(site, item_id)[-1]
        assert (hide.actor, hide.action, hide.category, hide.result_status) == (
            "moderator",
            "hide",
            "abuse",
            "done",
        )
        assert (hide.policy_version, hide.model_version) == ("test-policy", "test-model")
        assert [e.target for e in audited(site, "inbox.hide")] == [f"inbox item {item_id}"]
        page = moderator.get(f"/inbox/items/{item_id}").text
        assert f'data-decision-id="{hide.id}" data-action="hide" data-actor="moderator"' in page
        assert "test-policy" in page and "test-model" in page and "gaali" in page
        assert page.count('class="inline undo"') == 1  # only the latest can be undone
        assert f'action="/inbox/decisions/{hide.id}/undo"' in page
        # The automatic decision is not the latest: the service refuses, the page says why.
        auto = decisions(site, item_id)[0]
        status, _, refused = post(moderator, f"/inbox/decisions/{auto.id}/undo")
        assert status == 400 and "not the item&#39;s latest" in refused
        status, target, _ = post(moderator, f"/inbox/decisions/{hide.id}/undo", reason="oops")
        assert (status, target) == (303, f"/inbox/items/{item_id}")
        assert state(site, item_id) == ("allowed", "visible")
        after = moderator.get(target).text
        assert "Decision" in after and f"undo of #{hide.id}" in after
        assert (
            f'data-decision-id="{hide.id}" data-action="hide" data-actor="moderator" class="undone"'
            in after
        )
        # A bad action is refused with the reason, the item unchanged.
        status, _, bad = post(moderator, f"/inbox/items/{item_id}/decision", action="delete")
        assert status == 400 and "action" in bad and state(site, item_id)[0] == "allowed"
        # A form's `next` only ever sends the browser to a page of the app.
        _, target, _ = post(
            moderator, f"/inbox/items/{item_id}/decision", action="review", next="//evil.example/"
        )
        assert target == f"/inbox/items/{item_id}"
    assert [c[0] for c in actions(site).calls] == ["hide", "unhide"]
    assert len(audited(site, "inbox.undo")) == 1


def test_an_appeal_is_recorded_by_a_moderator_and_decided_by_a_coordinator(site: Site) -> None:
    item_id = item(site, action="hide", platform_state="hidden")
    with site.client("moderator") as moderator:
        status, _, _ = post(moderator, f"/inbox/items/{item_id}/appeal", note="I was quoting him")
        assert status == 303 and state(site, item_id)[0] == "appealed"
        page = moderator.get(f"/inbox/items/{item_id}").text
        assert "I was quoting him" in page and "A coordinator decides the appeal." in page
        assert "/appeal/decision" not in page
        refused = post(moderator, f"/inbox/items/{item_id}/appeal/decision", upheld="true")
        assert refused[0] == 403
    with site.client("coordinator") as coordinator:
        assert 'id="appeal-decision-form"' in coordinator.get(f"/inbox/items/{item_id}").text
        status, _, _ = post(
            coordinator, f"/inbox/items/{item_id}/appeal/decision", upheld="true", reason="quote"
        )
        assert status == 303 and state(site, item_id) == ("allowed", "visible")
    assert [d.action for d in decisions(site, item_id)][-2:] == ["appeal", "appeal_upheld"]


def test_assignment_gives_a_volunteer_the_item(site: Site) -> None:
    item_id = item(site)
    volunteer_id = site.team["volunteer"].user_id
    with site.client("moderator") as moderator:
        page = moderator.get(queue(site)).text
        assert f'<option value="{volunteer_id}">volunteer (volunteer)</option>' in page
        viewer_id = str(site.team["viewer"].user_id)
        status, _, refused = post(moderator, f"/inbox/items/{item_id}/assign", user_id=viewer_id)
        assert status == 400 and "may not reply" in refused
        status, target, _ = post(
            moderator, f"/inbox/items/{item_id}/assign", user_id=str(volunteer_id), next=queue(site)
        )
        assert (status, target) == (303, queue(site))
        assert "assigned to volunteer" in moderator.get(queue(site)).text
        post(moderator, f"/inbox/items/{item_id}/assign", user_id="me")
        assert shown_ids(moderator.get(queue(site), params={"mine": "1"}).text) == [item_id]
        post(moderator, f"/inbox/items/{item_id}/assign", user_id=str(volunteer_id))
    with site.client("volunteer") as volunteer:
        assert shown_ids(volunteer.get(queue(site)).text) == [item_id]
    assert [d.reason for d in decisions(site, item_id) if d.action == "assign"] == [
        "assigned to volunteer",
        "assigned to moderator",
        "assigned to volunteer",
    ]


def test_a_flagged_reply_waits_for_a_coordinator(site: Site) -> None:
    item_id = item(site, assigned_to=site.team["volunteer"].user_id)
    with site.client("volunteer") as volunteer:
        page = volunteer.get(f"/inbox/items/{item_id}").text
        assert '<option value="thanks">thanks</option>' in page  # the policy's templates
        status, target, _ = post(volunteer, f"/inbox/items/{item_id}/replies", template="thanks")
        assert status == 303 and target.startswith(f"/inbox/items/{item_id}#reply-")
        status, _, _ = post(volunteer, f"/inbox/items/{item_id}/replies", text=ABUSIVE)
        assert status == 303
        with site.store.session() as session:
            fine, flagged = q.item_replies(session, item_id)
        assert (fine.status, flagged.status) == ("approved", "needs_approval")
        assert (
            "Shukriya Author One" in fine.text
        )  # the template in the item's language (Roman Urdu)
        page = volunteer.get(f"/inbox/items/{item_id}").text
        assert "was flagged by the code of conduct" in page  # the notice after the redirect
        assert "a coordinator must approve it" in page  # the check's reason
        assert "it is sent only after a coordinator approves it" in page
        assert f'action="/inbox/replies/{flagged.id}/send"' not in page
        assert f'action="/inbox/replies/{flagged.id}/approve"' not in page
        assert f'action="/inbox/replies/{fine.id}/send"' in page
        status, _, refused = post(volunteer, f"/inbox/replies/{flagged.id}/send")
        assert status == 400 and "a coordinator must approve it" in refused
        assert post(volunteer, f"/inbox/replies/{flagged.id}/approve")[0] == 403
        status, _, _ = post(volunteer, f"/inbox/replies/{fine.id}/send")
        assert status == 303
        empty = post(volunteer, f"/inbox/items/{item_id}/replies", text="  ")
        assert empty[0] == 400 and "the reply is empty" in empty[2]
    assert [c[0] for c in actions(site).calls] == ["reply"]
    with site.client("coordinator") as coordinator:
        page = coordinator.get(f"/inbox/items/{item_id}").text
        assert f'action="/inbox/replies/{flagged.id}/approve"' in page
        assert "Approve &amp; send" in page
        status, _, _ = post(coordinator, f"/inbox/replies/{flagged.id}/approve")
        assert status == 303
        page = coordinator.get(f"/inbox/items/{item_id}").text
    with site.store.session() as session:
        replies = q.item_replies(session, item_id)
    assert [r.status for r in replies] == ["sent", "sent"]
    assert replies[1].approved_by == site.team["coordinator"].user_id
    assert page.count('data-status="sent"') == 2
    assert len(audited(site, "inbox.reply.approve")) == 1
    assert len(audited(site, "inbox.reply.send")) == 2


def test_a_failed_reply_shows_the_reason(site: Site) -> None:
    from jalsa.platforms.inbox_record import ActionResult

    item_id = item(site)
    with site.store.session() as session:
        external = q.get_item(session, item_id).external_id
    actions(site).answers[external] = [
        ActionResult(ok=False, status="permission_denied", detail="comments are turned off")
    ]
    with site.client("moderator") as moderator:
        post(moderator, f"/inbox/items/{item_id}/replies", text="Thank you!")
        with site.store.session() as session:
            (reply,) = q.item_replies(session, item_id)
        post(moderator, f"/inbox/replies/{reply.id}/send")
        page = moderator.get(f"/inbox/items/{item_id}").text
    assert 'data-status="failed"' in page and "comments are turned off" in page
    assert "Send again" in page


def test_every_form_needs_the_csrf_token(site: Site) -> None:
    item_id = item(site)
    with site.client("admin") as admin:
        for csrf in (False, "wrong"):
            response = admin.send(
                "POST", f"/inbox/items/{item_id}/decision", form={"action": "hide"}, csrf=csrf
            )
            assert response.status_code == 403 and "CSRF" in response.text
        assert state(site, item_id)[0] == "allowed"
        page = admin.get(f"/inbox/items/{item_id}").text
        forms = page.count('method="post"')  # the log-out form's included
        assert page.count(f'name="csrf_token" value="{admin.csrf}"') == forms >= 4


def test_an_item_shows_the_item_it_answers_and_its_thread(site: Site) -> None:
    parent = item(site, text="Jalsa kab shuru hoga?")
    with site.store.session() as session:
        parent_row = q.get_item(session, parent)
        external, thread = parent_row.external_id, parent_row.thread_id
    child = item(site, text="8 baje", parent_id=external, kind="reply")
    item(site, text="Zindabad", thread_id="video2")  # another thread: not shown with it
    with site.client("moderator") as moderator:
        page = moderator.get(f"/inbox/items/{child}").text
        assert 'id="parent"' in page and "Jalsa kab shuru hoga?" in page
        assert f'href="/inbox/items/{parent}"' in page
        assert shown_ids(moderator.get(queue(site), params={"thread": thread}).text) == [
            child,
            parent,
        ]
        events = moderator.get("/inbox").text
        assert f'href="/events/{site.event.slug}/inbox?status=allowed">allowed 3</a>' in events
    with site.client("volunteer") as volunteer:
        with site.store.session() as session:
            q.get_item(session, child).assigned_to = site.team["volunteer"].user_id
        page = volunteer.get(f"/inbox/items/{child}").text
        assert "Jalsa kab shuru hoga?" not in page  # the parent is not assigned to them


def test_the_policy_page_shows_each_route_operating_point(site: Site) -> None:
    """Everyone in the inbox reads the code of conduct in force; per language, the model's hide
    and review scores with the precision, recall and review share measured for them."""
    figures = {
        "hide_precision": {"value": 0.981, "interval": [0.962, 0.995]},
        "hide_recall": {"value": 0.41, "interval": [0.35, 0.47]},
        "flag_recall": {"value": 0.7, "interval": [0.64, 0.75]},
        "review_share": {"value": 0.12, "interval": [0.1, 0.14]},
        "n": 801,
    }
    model = app_services(site.app).inbox._model
    model.info = {  # type: ignore[union-attr]
        "operating_points": {
            "roman_urdu": {"hide": 0.93, "review": 0.41, "target_precision": 0.97},
            "urdu": {"hide": None, "review": 0.5, "target_precision": 0.97},
        },
        "operating_figures": {"ruhsold_validation": {"roman_urdu": {"figures": figures}}},
        "calibrated_on": {"urdu": {"chosen_on": "urdu dev", "figures": {"n": 40}}},
    }
    with site.client("viewer") as viewer:
        assert viewer.get("/inbox/policy").status_code == 403
    with site.client("volunteer") as volunteer:
        assert 'href="/inbox/policy"' in volunteer.get("/inbox").text
        page = volunteer.get("/inbox/policy")
    assert page.status_code == 200
    text = html.unescape(page.text)
    row = re.search(r'<tr data-route="roman_urdu">(.*?)</tr>', text, re.S)
    assert row is not None
    assert "0.93" in row[1] and "0.41" in row[1] and "98.1%" in row[1] and "12.0%" in row[1]
    assert "held out: ruhsold_validation (801 items)" in row[1]
    urdu = re.search(r'<tr data-route="urdu">(.*?)</tr>', text, re.S)
    assert urdu is not None and "never alone" in urdu[1]
    assert load_policy().version in text and "at least 97%" in text


def test_label_next_lists_the_least_sure_undecided_items(site: Site) -> None:
    """Active learning: the items the model is least sure about, undecided ones only; a
    moderator's decision labels an item and takes it off the list."""
    sure = item(site, text=ABUSIVE)  # the stand-in model: 0.97, Roman Urdu
    unsure = item(site, text="tum bewaqoof ho")  # 0.7, Roman Urdu: nearer 0.5
    with site.client("volunteer") as volunteer:
        assert volunteer.get(f"/events/{site.event.slug}/inbox/ask").status_code == 403
    with site.client("moderator") as moderator:
        assert 'id="ask-link"' in moderator.get(queue(site)).text
        listed = re.findall(r'<li data-item="(\d+)">', moderator.get(ask_url(site)).text)
        assert listed == [str(unsure), str(sure)]
        post(moderator, f"/inbox/items/{unsure}/decision", action="allow")
        listed = re.findall(r'<li data-item="(\d+)">', moderator.get(ask_url(site)).text)
        assert listed == [str(sure)]


def ask_url(site: Site) -> str:
    return f"/events/{site.event.slug}/inbox/ask"
