"""The audit log as the team functions write it: each change with its entry in one
transaction, an actor without an account named as given, and pages by id, newest first."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from jalsa.errors import UserError
from jalsa.store import Store
from jalsa.store.models import AuditEntry, User
from jalsa.team import audit, audit_entries, change_user, create_user, issue_token, log_in

PASSWORD = "correct horse battery"


def _actions(store: Store) -> list[tuple[str, str, str]]:
    with store.session() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.action, e.actor, e.target) for e in rows]


def test_changes_are_audited_with_their_change(store: Store) -> None:
    with store.session() as session:
        admin = create_user(session, username="boss", password=PASSWORD, role="admin")
        vol = create_user(session, username="vol", password=PASSWORD, role="volunteer")
        admin_id, vol_id = admin.id, vol.id
    with store.session() as session:
        assert log_in(session, "boss", "wrong password!", ip="10.0.0.1") is None
        assert log_in(session, "boss", PASSWORD, ip="10.0.0.1") is not None
    with store.session() as session:
        boss = session.get(User, admin_id)
        assert boss is not None
        issue_token(session, boss, "laptop")
        change_user(session, boss, vol_id, active=False)
    with store.session() as session, pytest.raises(UserError, match="last active admin"):
        boss = session.get(User, admin_id)
        assert boss is not None
        change_user(session, boss, admin_id, role="viewer")
    assert _actions(store) == [
        ("login.failed", "anonymous", "boss"),
        ("login", "boss", ""),
        ("token.create", "boss", "laptop"),
        ("user.update", "boss", "vol"),
    ]


def test_an_actor_without_an_account_and_paging(store: Store) -> None:
    with store.session() as session:
        for n in range(5):
            audit(session, actor="cli:ayesha", action="test.write", target=str(n))
    with store.session() as session:
        first, before = audit_entries(session, None, 2)
        assert [e.target for e in first] == ["4", "3"] and before == first[-1].id
        second, before = audit_entries(session, before, 2)
        assert [e.target for e in second] == ["2", "1"]
        last, before = audit_entries(session, before, 2)
        assert [e.target for e in last] == ["0"] and before is None
        assert {(e.actor, e.user_id) for e in first + second + last} == {("cli:ayesha", None)}
