"""The first-admin link of `jalsa serve`: one, however many workers start together on an empty
database, and void as soon as an admin exists. SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from jalsa.errors import UserError
from jalsa.store import Store
from jalsa.store.models import Invitation
from jalsa.team import (
    FIRST_ADMIN_NOTE,
    FirstAdminLink,
    accept_invitation,
    create_user,
    first_admin_link,
    open_invitation,
)

PASSWORD = "correct horse battery"


def _link(store: Store) -> FirstAdminLink | None:
    with store.session() as session:
        return first_admin_link(session)


def test_workers_starting_together_make_one_link(store: Store) -> None:
    links: list[FirstAdminLink | None] = []
    start = threading.Barrier(6)

    def worker() -> None:
        start.wait()
        links.append(_link(store))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(links) == 6 and all(link is not None for link in links)
    made = [link for link in links if link is not None and link.token is not None]
    assert len(made) == 1, links
    assert {link.expires_at for link in links if link is not None} == {made[0].expires_at}
    with store.session() as session:
        count = session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.note == FIRST_ADMIN_NOTE)
        )
    assert count == 1
    # a later start says so too, and makes no second link
    later = _link(store)
    assert later is not None and later.token is None


def test_the_link_is_void_once_an_admin_exists(store: Store) -> None:
    link = _link(store)
    assert link is not None and link.token is not None
    with store.session() as session:
        assert open_invitation(session, link.token).role == "admin"
        # an admin made another way (jalsa user create) voids the link
        create_user(session, username="first", password=PASSWORD, role="admin")
    with store.session() as session, pytest.raises(UserError, match="void: an admin account"):
        open_invitation(session, link.token)
    assert _link(store) is None  # accounts exist: no link at all


def test_a_coordinator_does_not_void_it_and_accepting_uses_it(store: Store) -> None:
    link = _link(store)
    assert link is not None and link.token is not None
    with store.session() as session:
        create_user(session, username="coord", password=PASSWORD, role="coordinator")
    with store.session() as session:
        user = accept_invitation(session, link.token, username="boss", password=PASSWORD)
        assert user.role == "admin"
    with store.session() as session, pytest.raises(UserError, match="already used"):
        open_invitation(session, link.token)
