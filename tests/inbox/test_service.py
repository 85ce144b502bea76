"""The inbox pipeline with the real default policy, a stand-in classifier and stand-in platform
actions: items stored once and decided with versions and scores, hides carried out, platform
errors turned into a status per item with retries, bad input never stalling the queue, and the
human side (decisions, undo, appeals, assignment, replies with the code-of-conduct check)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from inboxkit import ABUSIVE, FakeActions, FakeModel, Prediction
from sqlalchemy import func, select

from jalsa.config import load_settings
from jalsa.errors import UserError
from jalsa.inbox import decisions as inbox_decisions
from jalsa.inbox import store as q
from jalsa.inbox.pipeline import MAX_ATTEMPTS
from jalsa.inbox.policy_file import load_policy
from jalsa.inbox.service import InboxService
from jalsa.platforms.inbox_record import ActionResult, InboxItem
from jalsa.store import Store
from jalsa.store.models import AuditEntry, InboxDecisionRow, InboxItemRow, User
from jalsa.store.repo import create_event

T0 = datetime(2023, 12, 17, 15, 0, tzinfo=UTC)


class FakeClock:
    speed = 1.0

    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at

    async def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def item(n: int | str, text: str = "Khan sahab zindabad", **kw: Any) -> InboxItem:
    base: dict[str, Any] = {
        "platform": "youtube",
        "external_id": f"c{n}",
        "kind": "comment",
        "thread_id": "video1",
        "author_id": f"a{n}",
        "author_name": f"Author {n}",
        "text": text,
        "created_at": T0,
    }
    return InboxItem(**{**base, **kw})


@dataclass
class Rig:
    store: Store
    service: InboxService
    actions: FakeActions
    clock: FakeClock
    event_id: int
    mod: User
    coordinator: User

    def row(self, external_id: str) -> InboxItemRow:
        with self.store.session() as s:
            (found,) = q.items_by_key(s, [("youtube", external_id)])
            return found


def _user(store: Store, name: str, role: str) -> User:
    with store.session() as s:
        user = User(username=name, password_hash="x", role=role, created_at=T0)
        s.add(user)
        s.flush()
        s.expunge(user)
        return user


@pytest.fixture
def rig(store: Store, tmp_path: Path) -> Rig:
    with store.session() as s:
        event_id = create_event(
            s, name="PTI jalsa", starts_at=T0, duration=timedelta(hours=2), timezone="UTC"
        ).id
    actions = FakeActions()
    clock = FakeClock()
    service = InboxService(
        store,
        load_settings(data_dir=tmp_path),
        model=FakeModel(),
        policy=load_policy(),
        actions={"youtube": actions},
        clock=clock,
        dry_run=False,
    )
    return Rig(
        store,
        service,
        actions,
        clock,
        event_id,
        _user(store, "mod", "moderator"),
        _user(store, "coord", "coordinator"),
    )


def test_an_abusive_comment_is_hidden_and_every_step_is_audited(rig: Rig) -> None:
    result = asyncio.run(rig.service.ingest(rig.event_id, [item(1, ABUSIVE), item(2)]))
    assert (result.stored, result.decisions, result.results) == (
        2,
        {"hide": 1, "allow": 1},
        {"done": 1},
    )
    hidden, allowed = rig.row("c1"), rig.row("c2")
    assert (hidden.status, hidden.platform_state, hidden.category) == ("hidden", "hidden", "abuse")
    assert hidden.actioned_at == T0 and hidden.pending_action is None
    assert (allowed.status, allowed.platform_state) == ("allowed", "visible")
    assert rig.actions.calls == [("hide", "c1")]
    with rig.store.session() as s:
        (auto,) = q.item_decisions(s, hidden.id)
    assert (auto.actor, auto.action, auto.score, auto.model_version) == (
        "auto",
        "hide",
        0.97,
        "fake-model-1",
    )
    assert auto.policy_version == load_policy().version
    assert auto.result_status == "done"
    # Collected again (a repeated page): nothing is decided or done twice.
    again = asyncio.run(rig.service.ingest(rig.event_id, [item(1, ABUSIVE), item(2)]))
    assert (again.stored, again.duplicate) == (0, 2) and len(rig.actions.calls) == 1


def test_bad_input_gets_a_clear_status_and_never_stalls_the_queue(rig: Rig) -> None:
    items = [
        item("empty", ""),
        item("huge", "zindabad " * 12_000),  # 108 KB
        item("mixed", "Khan sahab زندہ باد 🇵🇰 great jalsa"),
        item("emoji", "🔥🔥🔥🙏"),
        item("boom", "boom goes the model"),
        item("bad-id", external_id="x" * 300),
        item("after", ABUSIVE),
    ]
    result = asyncio.run(rig.service.ingest(rig.event_id, items))
    assert result.stored == 6 and [r.reason[:10] for r in result.rejected] == ["an item id"]
    states = {key: rig.row(f"c{key}") for key in ("empty", "huge", "mixed", "emoji", "boom")}
    assert states["empty"].read_status == "empty"
    assert (states["huge"].status, states["huge"].read_status) == ("review", "too_long")
    assert states["mixed"].status == "allowed" and states["emoji"].status == "allowed"
    # The model failed on this text alone: reviewed by a person, with the reason.
    assert states["boom"].status == "review"
    assert rig.row("cafter").platform_state == "hidden"


@pytest.mark.parametrize(
    ("answer", "state", "detail"),
    [
        (ActionResult(ok=False, status="permission_denied", detail="403"), "error", "permission"),
        (ActionResult(ok=False, status="not_found", detail="gone"), "deleted", "gone"),
        (ActionResult(ok=True, status="already_done"), "hidden", ""),
        (ActionResult(ok=False, status="unsupported", detail="no"), "error", "unsupported"),
    ],
)
def test_platform_refusals_leave_a_clear_state_without_retries(
    rig: Rig, answer: ActionResult, state: str, detail: str
) -> None:
    rig.actions.answers["c1"] = [answer]
    asyncio.run(rig.service.ingest(rig.event_id, [item(1, ABUSIVE), item(2, ABUSIVE)]))
    row = rig.row("c1")
    assert (row.status, row.platform_state, row.pending_action) == ("hidden", state, None)
    assert detail in row.platform_detail
    assert rig.row("c2").platform_state == "hidden"  # the next item is not held up


def test_transient_failures_are_retried_with_backoff_then_given_up(rig: Rig) -> None:
    busy = ActionResult(ok=False, status="rate_limited", detail="429")
    rig.actions.answers["c1"] = [busy, busy, ActionResult(ok=True, status="done")]
    rig.actions.answers["c2"] = [ActionResult(ok=False, status="error", detail="500")]
    asyncio.run(rig.service.ingest(rig.event_id, [item(1, ABUSIVE), item(2, ABUSIVE)]))
    first = rig.row("c1")
    assert (first.platform_state, first.pending_action, first.attempts) == ("error", "hide", 1)
    assert "attempt 1 of 4" in first.platform_detail
    assert asyncio.run(rig.service.retry_due()) == {}  # not due yet
    for _ in range(MAX_ATTEMPTS):
        rig.clock.at += timedelta(minutes=2)
        asyncio.run(rig.service.retry_due())
    done, failed = rig.row("c1"), rig.row("c2")
    assert (done.platform_state, done.pending_action, done.attempts) == ("hidden", None, 3)
    assert (failed.platform_state, failed.pending_action) == ("error", None)
    assert failed.platform_detail.startswith(f"gave up after {MAX_ATTEMPTS} attempts")
    assert rig.actions.calls.count(("hide", "c2")) == MAX_ATTEMPTS


def test_an_action_left_by_a_crash_is_done_by_the_retry(rig: Rig) -> None:
    # Decided and committed, then the process died before calling the platform.
    _, todo = rig.service.store_and_decide(rig.event_id, [item(1, ABUSIVE)])
    assert len(todo) == 1 and rig.row("c1").pending_action == "hide"
    rig.clock.at += timedelta(minutes=1)
    asyncio.run(rig.service.retry_due())
    assert rig.row("c1").platform_state == "hidden"


def test_dry_run_only_describes_the_action(rig: Rig) -> None:
    rig.service.dry_run = True
    asyncio.run(rig.service.ingest(rig.event_id, [item(1, ABUSIVE)]))
    row = rig.row("c1")
    assert (row.status, row.platform_state, row.platform_detail) == (
        "hidden",
        "dry_run",
        "would hide",
    )


def test_people_decide_undo_and_their_decisions_become_labels(rig: Rig) -> None:
    asyncio.run(rig.service.ingest(rig.event_id, [item(1, ABUSIVE), item(2, "bewaqoof log")]))
    hidden, review = rig.row("c1"), rig.row("c2")
    assert review.status == "review"
    allow = asyncio.run(rig.service.decide(hidden.id, "allow", rig.mod, "a quote"))
    assert rig.row("c1").platform_state == "visible" and allow.result_status == "done"
    assert (allow.policy_version, allow.score) == (load_policy().version, 0.97)
    undo = asyncio.run(rig.service.undo(allow.id, rig.mod, "misclicked"))
    assert undo.reverses == allow.id
    assert (rig.row("c1").status, rig.row("c1").platform_state) == ("hidden", "hidden")
    with pytest.raises(UserError, match="cannot be undone"):
        asyncio.run(rig.service.undo(undo.id, rig.mod))
    asyncio.run(rig.service.decide(review.id, "hide", rig.mod, "abuse", category="abuse"))
    assert rig.row("c2").platform_state == "hidden"
    with rig.store.session() as s:
        assert q.labels_since(s, T0) == [("bewaqoof log", "abuse", "roman_urdu")]
    assert rig.actions.calls == [("hide", "c1"), ("unhide", "c1"), ("hide", "c1"), ("hide", "c2")]


def test_only_the_latest_decision_can_be_undone_and_undoing_the_auto_one_asks_a_person(
    rig: Rig,
) -> None:
    asyncio.run(rig.service.ingest(rig.event_id, [item(1, ABUSIVE)]))
    row = rig.row("c1")
    with rig.store.session() as s:
        (auto,) = q.item_decisions(s, row.id)
    review = asyncio.run(rig.service.decide(row.id, "review", rig.mod))
    with pytest.raises(UserError, match="not the item's latest"):
        asyncio.run(rig.service.undo(auto.id, rig.mod))
    asyncio.run(rig.service.undo(review.id, rig.mod))
    asyncio.run(rig.service.undo(auto.id, rig.mod))
    assert (rig.row("c1").status, rig.row("c1").platform_state) == ("review", "visible")


def test_an_appeal_waits_for_a_coordinator_and_upheld_shows_the_item_again(rig: Rig) -> None:
    asyncio.run(rig.service.ingest(rig.event_id, [item(1, ABUSIVE), item(2, ABUSIVE), item(3)]))
    one, two, clean = rig.row("c1"), rig.row("c2"), rig.row("c3")
    with pytest.raises(UserError, match="only a hidden item"):
        asyncio.run(rig.service.appeal(clean.id, "why?", rig.mod))
    asyncio.run(rig.service.appeal(one.id, "I was quoting him", rig.mod))
    asyncio.run(rig.service.appeal(two.id, "unfair", rig.mod))
    assert rig.row("c1").status == "appealed"
    asyncio.run(rig.service.resolve_appeal(one.id, True, rig.coordinator, "a quote"))
    asyncio.run(rig.service.resolve_appeal(two.id, False, rig.coordinator, "abuse"))
    assert (rig.row("c1").status, rig.row("c1").platform_state) == ("allowed", "visible")
    assert (rig.row("c2").status, rig.row("c2").platform_state) == ("hidden", "hidden")
    with pytest.raises(UserError, match="not appealed"):
        asyncio.run(rig.service.resolve_appeal(two.id, True, rig.coordinator))


def test_a_ban_and_an_assignment_are_recorded(rig: Rig) -> None:
    asyncio.run(rig.service.ingest(rig.event_id, [item(1, ABUSIVE)]))
    row = rig.row("c1")
    ban = asyncio.run(rig.service.decide(row.id, "ban", rig.mod, "repeat offender"))
    assert ban.result_status == "done" and rig.row("c1").platform_state == "banned"
    volunteer = _user(rig.store, "vol", "volunteer")
    rig.service.assign(row.id, volunteer, rig.mod)
    assert rig.row("c1").assigned_to == volunteer.id
    with pytest.raises(UserError, match="cannot 'delete'"):
        asyncio.run(rig.service.decide(row.id, "delete", rig.mod))


def _audited(store: Store) -> list[AuditEntry]:
    with store.session() as s:
        query = select(AuditEntry).where(AuditEntry.action.startswith("inbox."))
        rows = list(s.scalars(query.order_by(AuditEntry.id)))
        s.expunge_all()
        return rows


def _decisions(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(InboxDecisionRow)) or 0


def test_a_decision_and_its_audit_entry_are_committed_together(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(rig.service.ingest(rig.event_id, [item(1, ABUSIVE)]))
    row = rig.row("c1")
    with rig.store.session() as s:
        (auto,) = q.item_decisions(s, row.id)
    allow = asyncio.run(rig.service.decide(row.id, "allow", rig.mod, "a quote", ip="10.0.0.7"))
    (entry,) = _audited(rig.store)
    assert (entry.action, entry.actor, entry.user_id, entry.target, entry.ip) == (
        "inbox.allow",
        "mod",
        rig.mod.id,
        f"inbox item {row.id}",
        "10.0.0.7",
    )
    assert entry.details == {"decision": allow.id, "reason": "a quote", "platform": "unhide"}

    # a refused decision changes nothing and writes no entry
    with pytest.raises(UserError, match="not the item's latest"):
        asyncio.run(rig.service.undo(auto.id, rig.mod))
    assert len(_audited(rig.store)) == 1

    # the entry cannot be written: the decision is not stored either, nor carried out
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the audit log is full")

    before, calls = _decisions(rig.store), list(rig.actions.calls)
    monkeypatch.setattr(inbox_decisions, "audit", broken)
    with pytest.raises(RuntimeError, match="audit log is full"):
        asyncio.run(rig.service.decide(row.id, "hide", rig.mod, "abuse"))
    with pytest.raises(RuntimeError, match="audit log is full"):
        rig.service.draft_reply(row.id, rig.mod, text="Thank you!")
    assert _decisions(rig.store) == before and rig.actions.calls == calls
    assert rig.row("c1").status == "allowed"
    with rig.store.session() as s:
        assert q.item_replies(s, row.id) == []


def test_replies_are_audited_by_the_service(rig: Rig) -> None:
    asyncio.run(rig.service.ingest(rig.event_id, [item(1, "great speech")]))
    row = rig.row("c1")
    flagged = rig.service.draft_reply(row.id, rig.mod, text=f"and {ABUSIVE}", ip="10.0.0.8")
    rig.service.approve_reply(flagged.id, rig.coordinator, ip="10.0.0.9")
    asyncio.run(rig.service.send_reply(flagged.id, rig.mod, ip="10.0.0.8"))
    other = rig.service.draft_reply(row.id, None, text="Thanks")
    rig.service.reject_reply(other.id, rig.coordinator)
    assert [(e.action, e.actor, e.ip, e.details) for e in _audited(rig.store)] == [
        ("inbox.reply.draft", "mod", "10.0.0.8", {"item": row.id, "status": "needs_approval"}),
        ("inbox.reply.approve", "coord", "10.0.0.9", {"item": row.id, "status": "approved"}),
        ("inbox.reply.send", "mod", "10.0.0.8", {"item": row.id, "status": "sent"}),
        (
            "inbox.reply.draft",
            "anonymous",
            "",
            {"item": row.id, "status": "approved", "via": "cli"},
        ),
        ("inbox.reply.reject", "coord", "", {"item": row.id, "status": "rejected"}),
    ]


def test_replies_are_checked_and_flagged_ones_need_approval(rig: Rig) -> None:
    asyncio.run(rig.service.ingest(rig.event_id, [item(1, "great speech")]))
    row = rig.row("c1")
    fine = rig.service.draft_reply(row.id, rig.mod, text="Thank you for joining!")
    assert fine.status == "approved" and fine.check_decision["action"] == "allow"
    sent = asyncio.run(rig.service.send_reply(fine.id, rig.mod))
    assert (sent.status, sent.platform_reply_id) == ("sent", "r-c1")

    flagged = rig.service.draft_reply(row.id, rig.mod, text=f"and {ABUSIVE}")
    assert flagged.status == "needs_approval"
    with pytest.raises(UserError, match="coordinator must approve"):
        asyncio.run(rig.service.send_reply(flagged.id, rig.mod))
    rig.service.approve_reply(flagged.id, rig.coordinator)
    assert asyncio.run(rig.service.send_reply(flagged.id, rig.mod)).status == "sent"
    with pytest.raises(UserError, match="cannot be sent"):
        asyncio.run(rig.service.send_reply(flagged.id, rig.mod))

    templated = rig.service.draft_reply(row.id, rig.mod, template="thanks")
    assert "Author 1" in templated.text and templated.template == "thanks"
    with pytest.raises(UserError, match="empty"):
        rig.service.draft_reply(row.id, rig.mod, text="   ")


def test_a_failed_or_dry_run_reply_says_so(rig: Rig) -> None:
    asyncio.run(rig.service.ingest(rig.event_id, [item(1)]))
    row = rig.row("c1")
    rig.actions.answers["c1"] = [ActionResult(ok=False, status="permission_denied", detail="403")]
    reply = rig.service.draft_reply(row.id, rig.mod, text="Thanks!")
    failed = asyncio.run(rig.service.send_reply(reply.id, rig.mod))
    assert failed.status == "failed" and "permission_denied" in failed.error
    rig.service.dry_run = True
    again = asyncio.run(rig.service.send_reply(reply.id, rig.mod))
    assert again.status == "failed" and again.error.startswith("dry run")


def test_the_loop_survives_a_failed_collection(rig: Rig) -> None:
    calls = {"n": 0}

    async def collect() -> list[InboxItem]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("network down")
        return [item(calls["n"], ABUSIVE)]

    seen: list[int] = []
    total = asyncio.run(
        rig.service.run(
            rig.event_id, collect, every=5, rounds=3, on_round=lambda r: seen.append(r.stored)
        )
    )
    assert seen == [0, 1, 1] and total.results == {"done": 2}
    assert rig.clock.at == T0 + timedelta(seconds=10)


class EverythingAbusive:
    version = "all-abusive"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return [Prediction({"abuse": 0.99}) for _ in texts]


@pytest.mark.integration
def test_the_simulated_platform_refuses_and_each_item_says_why(
    store: Store, tmp_path: Path
) -> None:
    """Real YouTube actions against the simulator: a token without the moderation permission,
    a comment its author deleted before the hide, and the simulator's garbled answers."""
    import httpx

    from jalsa.platforms.youtube.actions import YouTubeActions
    from jalsa.platforms.youtube.inbox import thread_items
    from jalsa.sim import load_scenario
    from jalsa.sim.runner import SimServer, make_clock

    scenario = load_scenario(None)
    # Before the scenario's nationwide restriction (20:10), which answers with block pages.
    clock = make_clock(scenario, 1, start=scenario.start_utc + timedelta(minutes=6))
    with store.session() as s:
        event_id = create_event(
            s,
            name="Jalsa",
            starts_at=scenario.start_utc,
            duration=timedelta(hours=2),
            timezone="UTC",
        ).id

    async def moderate(base: str, sim_url: str, token: str, delete: bool) -> list[InboxItemRow]:
        async with httpx.AsyncClient() as client:
            page = await client.get(
                f"{base}/commentThreads",
                params={"part": "snippet,replies", "videoId": "jalsaSIM001", "key": "k"},
            )
            items, _ = thread_items(page.json(), "jalsaSIM001")
            items = items[:3]
            if delete:
                await client.post(
                    f"{sim_url}/_sim/moderation/delete",
                    json={"platform": "youtube", "id": items[0].external_id},
                )
            actions = YouTubeActions.build(client, base, token, "youtube_oauth_token")
            service = InboxService(
                store,
                load_settings(data_dir=tmp_path),
                model=EverythingAbusive(),
                policy=load_policy(),
                actions={"youtube": actions},
                dry_run=False,
            )
            result = await service.ingest(event_id, items)
            assert result.decisions == {"hide": len(items)}
            # The simulator garbles some answers (a block page, a cut body): those are
            # retried after a backoff; later is now + 5 minutes.
            for _ in range(3):
                await service.retry_due(datetime.now(UTC) + timedelta(minutes=5))
        with store.session() as s:
            return q.items_by_key(s, [("youtube", i.external_id) for i in items])

    with SimServer(scenario, clock) as sim:
        base = sim.base_urls["youtube_base_url"]
        refused = asyncio.run(moderate(base, sim.url, "readonly-token", delete=False))
        assert {r.platform_state for r in refused} == {"error"}
        assert all(r.platform_detail.startswith("permission missing") for r in refused), [
            r.platform_detail for r in refused
        ]
        assert {r.pending_action for r in refused} == {None}  # not retried: a person must act
    with SimServer(scenario, clock) as sim:
        with store.session() as s:
            s.query(InboxItemRow).delete()
        rows = asyncio.run(
            moderate(sim.base_urls["youtube_base_url"], sim.url, "token", delete=True)
        )
        states = sorted(r.platform_state for r in rows)
        assert states == ["deleted", "hidden", "hidden"], [r.platform_detail for r in rows]
