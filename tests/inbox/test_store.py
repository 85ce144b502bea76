"""The inbox's store: items stored once per platform id, bad input cleaned or refused, the queue's
filters and paging, the append-only decisions and the labels they give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jalsa.inbox.store import (
    CLEAN_LABEL,
    MAX_TEXT,
    QueueFilter,
    add_decision,
    counts,
    decision_counts,
    decision_from_policy,
    due_retries,
    get_item,
    item_decisions,
    labels_since,
    queue,
    save_items,
)
from jalsa.platforms.inbox_record import Decision, Finding, InboxItem
from jalsa.store.models import User
from jalsa.store.repo import create_event

T0 = datetime(2023, 12, 17, 15, 0, tzinfo=UTC)


def item(n: int, text: str = "Khan sahab zindabad", **kw: Any) -> InboxItem:
    base: dict[str, Any] = {
        "platform": "youtube",
        "external_id": f"c{n}",
        "kind": "live_chat",
        "thread_id": "video1",
        "author_id": f"a{n}",
        "author_name": f"Author {n}",
        "text": text,
        "created_at": T0 + timedelta(seconds=n),
    }
    return InboxItem(**{**base, **kw})


def make_event(store: Any) -> int:
    with store.session() as s:
        return int(
            create_event(
                s, name="Jalsa", starts_at=T0, duration=timedelta(hours=2), timezone="UTC"
            ).id
        )


def make_user(store: Any, name: str = "mod", role: str = "moderator") -> User:
    with store.session() as s:
        user = User(username=name, password_hash="x", role=role, created_at=T0)
        s.add(user)
        s.flush()
        s.expunge(user)
        return user


def test_an_item_collected_twice_is_stored_once(store: Any) -> None:
    event_id = make_event(store)
    with store.session() as s:
        new, rejected = save_items(s, event_id, [item(1), item(2), item(1)])
        assert [r.external_id for r in new] == ["c1", "c2"] and rejected == []
    with store.session() as s:
        new, _ = save_items(s, event_id, [item(2), item(3)])
        assert [r.external_id for r in new] == ["c3"]
        # The same id on another platform is another item.
        new, _ = save_items(s, event_id, [item(1, platform="facebook")])
        assert len(new) == 1
    with store.session() as s:
        assert counts(s, event_id) == {"new": 4}


def test_bad_input_is_cleaned_or_refused_with_a_reason(store: Any) -> None:
    event_id = make_event(store)
    huge = "گالی " * 30_000  # 150,000 characters
    items = [
        item(1, ""),
        item(2, huge),
        item(3, "Khan sahab 🙏 زندہ باد ok"),
        item(4, "🔥🔥🔥"),
        item(5, "nul\x00byte and a lone \ud800 surrogate"),
        item(6, created_at=datetime(2023, 12, 17, 15, 0)),  # naive: read as UTC
        item(7, external_id="x" * 500),
        item(8, external_id="   "),
    ]
    with store.session() as s:
        new, rejected = save_items(s, event_id, items)
        assert [r.external_id for r in new] == ["c1", "c2", "c3", "c4", "c5", "c6"]
        assert [r.reason for r in rejected] == [
            "an item id of 500 characters is not a platform's id",
            "no platform or no item id",
        ]
    with store.session() as s:
        rows = {r.external_id: r for r in queue(s, event_id, limit=10)[0]}
        assert len(rows["c2"].text) == MAX_TEXT and rows["c2"].extra["text_length"] == 150_000
        assert rows["c5"].text == "nulbyte and a lone ? surrogate"
        assert rows["c6"].created_at == T0
        assert rows["c4"].text == "🔥🔥🔥"


def test_the_queue_filters_pages_and_counts(store: Any) -> None:
    event_id = make_event(store)
    with store.session() as s:
        rows, _ = save_items(
            s,
            event_id,
            [item(n, platform="facebook" if n % 2 else "youtube") for n in range(10)],
            collected_at=T0,
        )
        for n, row in enumerate(rows):
            row.collected_at = T0 + timedelta(seconds=n)
            row.language = "urdu" if n < 3 else "english"
            row.status = "hidden" if n in (1, 2) else "allowed"
    with store.session() as s:
        page, total = queue(s, event_id, QueueFilter(platform="youtube"), limit=2)
        assert total == 5 and [r.external_id for r in page] == ["c8", "c6"]
        page, total = queue(s, event_id, QueueFilter(platform="youtube"), limit=2, offset=4)
        assert total == 5 and [r.external_id for r in page] == ["c0"]
        page, total = queue(s, event_id, QueueFilter(status="hidden", language="urdu"))
        assert total == 2 and [r.external_id for r in page] == ["c2", "c1"]
        assert queue(s, event_id, QueueFilter(category="spam"))[1] == 0
        assert counts(s, event_id, "language") == {"urdu": 3, "english": 7}


def decision(action: str = "hide", category: str | None = "abuse") -> Decision:
    return Decision(
        action=action,  # type: ignore[arg-type]
        category=category,
        score=0.93 if category else None,
        findings=[Finding(category=category, score=0.93, source="model:m1")] if category else [],
        language="roman_urdu",
        policy_version="p1",
        model_version="m1",
        reason="abusive language (0.93 ≥ 0.80)",
    )


def test_policy_decisions_are_copied_onto_the_item_and_kept_in_order(store: Any) -> None:
    event_id = make_event(store)
    mod = make_user(store)
    with store.session() as s:
        (row,), _ = save_items(s, event_id, [item(1, "tu ghadaar hai")])
        auto = decision_from_policy(s, row, decision())
        assert (row.status, row.category, row.language, row.policy_version) == (
            "hidden",
            "abuse",
            "roman_urdu",
            "p1",
        )
        assert auto.actor == "auto" and auto.findings[0]["source"] == "model:m1"
        add_decision(s, row, action="allow", actor=mod, reason="a quote, not abuse")
        item_id = row.id
    with store.session() as s:
        history = item_decisions(s, item_id)
        assert [(d.actor, d.action) for d in history] == [("auto", "hide"), ("mod", "allow")]
        assert history[0].model_version == "m1" and history[0].score == 0.93
        assert decision_counts(s, event_id) == {"auto:hide": 1, "human:allow": 1}


def test_labels_come_from_the_latest_human_decision_not_undone(store: Any) -> None:
    event_id = make_event(store)
    mod = make_user(store)
    with store.session() as s:
        rows, _ = save_items(s, event_id, [item(1, "bad"), item(2, "fine"), item(3, "spammy")])
        a, b, c = rows
        for row in rows:
            decision_from_policy(s, row, decision())  # automatic: never a label
        add_decision(s, a, action="hide", actor=mod, category="hate")
        add_decision(s, b, action="hide", actor=mod, category="abuse")
        add_decision(s, b, action="allow", actor=mod)
        mistaken = add_decision(s, c, action="allow", actor=mod)
        add_decision(s, c, action="undo", actor=mod, reverses=mistaken.id)
    with store.session() as s:
        labels = sorted(labels_since(s, T0))
        assert labels == [("bad", "hate", "roman_urdu"), ("fine", CLEAN_LABEL, "roman_urdu")]
        assert labels_since(s, datetime.now(UTC) + timedelta(hours=1)) == []


def test_due_retries_are_the_failed_actions_whose_time_has_come(store: Any) -> None:
    event_id = make_event(store)
    with store.session() as s:
        rows, _ = save_items(s, event_id, [item(1), item(2), item(3)])
        rows[0].pending_action, rows[0].retry_at = "hide", T0
        rows[1].pending_action, rows[1].retry_at = "hide", T0 + timedelta(minutes=5)
    with store.session() as s:
        assert [r.external_id for r in due_retries(s, T0 + timedelta(seconds=1))] == ["c1"]
        assert get_item(s, rows[2].id).pending_action is None
