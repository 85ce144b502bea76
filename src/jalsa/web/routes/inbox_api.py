"""The inbox's JSON API: an event's queue, one item with its history, and the team's actions on
it (decisions, undo, appeals, assignment, replies). Every write goes through the InboxService,
which records the decision with the policy and model versions, and its audit entry with it.

Who sees what: with inbox:view the whole queue; with only inbox:reply (volunteers) the items
assigned to oneself, and any other item is "not found"."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jalsa.errors import NotFound, UserError
from jalsa.inbox import store as q
from jalsa.inbox.service import InboxService
from jalsa.platforms.inbox_record import CATEGORIES, PLATFORMS
from jalsa.store.models import InboxItemRow, User
from jalsa.store.repo import get_event
from jalsa.team import Perm, allowed, find_user
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.routes.common import API_ERRORS, MAX_ID, IdText, RowId, ip
from jalsa.web.services import services

router = APIRouter(responses=API_ERRORS, tags=["inbox"])

Status = Literal["new", "allowed", "review", "hidden", "appealed"]
PlatformState = Literal["visible", "hidden", "banned", "deleted", "error", "dry_run"]
Category = Literal["abuse", "harassment", "hate", "sexism", "spam", "personal_data", "off_topic"]
Language = Literal["urdu", "roman_urdu", "english", "mixed", "unknown"]
Platform = Literal["youtube", "facebook", "instagram", "x"]
assert set(Category.__args__) == set(CATEGORIES)  # type: ignore[attr-defined]
assert set(Platform.__args__) == set(PLATFORMS)  # type: ignore[attr-defined]


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    platform: str
    external_id: str = Field(description="The platform's id of the item.")
    kind: str
    thread_id: str = Field(description="The video, live video, post or conversation.")
    parent_id: str | None = Field(description="The item it answers, if any.")
    author_id: str
    author_name: str
    text: str
    permalink: str | None
    created_at: datetime
    collected_at: datetime
    language: str
    status: str = Field(description="new, allowed, review, hidden or appealed.")
    category: str | None
    score: float | None
    reason: str = Field(description="Why the policy decided so, in words.")
    read_status: str = Field(description="ok, empty, too_long or error: how it could be read.")
    policy_version: str | None
    model_version: str | None
    platform_state: str = Field(
        description="What the platform shows: visible, hidden, banned, deleted, error, dry_run."
    )
    platform_detail: str
    pending_action: str | None = Field(description="A platform action still to be retried.")
    assigned_to: int | None


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    item_id: int
    at: datetime
    actor: str = Field(description='A username, or "auto" for the policy.')
    action: str
    category: str | None
    score: float | None
    language: str | None
    policy_version: str | None
    model_version: str | None
    reason: str
    findings: list[dict[str, Any]]
    result_status: str | None = Field(description="What the platform answered, if it acted.")
    result_detail: str
    reverses: int | None = Field(description="The decision an undo reverses.")


class ReplyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    item_id: int
    drafted_by: int | None
    text: str
    template: str | None
    language: str
    check_decision: dict[str, Any] = Field(description="The code of conduct's check.")
    status: str = Field(description="draft, needs_approval, approved, sent, failed, rejected.")
    approved_by: int | None
    platform_reply_id: str | None
    error: str
    created_at: datetime
    sent_at: datetime | None


class QueueOut(BaseModel):
    items: list[ItemOut]
    total: int = Field(description="Items matching the filters.")
    limit: int
    offset: int
    counts: dict[str, int] = Field(description="The event's items per status.")


class ItemDetailOut(BaseModel):
    item: ItemOut
    decisions: list[DecisionOut] = Field(description="Oldest first.")
    replies: list[ReplyOut]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["allow", "hide", "review", "unhide", "ban"]
    reason: str = Field(default="", max_length=1000)
    category: Category | None = Field(default=None, description="What it is, if not the item's.")


class UndoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=1000)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: int | None = Field(ge=1, le=2**31 - 1, description="null: assigned to nobody.")


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, max_length=5000)
    template: str | None = Field(default=None, max_length=64, description="A policy template.")


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000, description="What the author said.")


class AppealDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upheld: bool = Field(description="true: the author was right and the item is shown again.")
    reason: str = Field(default="", max_length=1000)


def inbox_service(request: Request) -> InboxService:
    return services(request).inbox


def sees_all(who: Caller) -> bool:
    return allowed(who.role, Perm.VIEW_INBOX)


def visible_item(session: Session, who: Caller, item_id: int) -> InboxItemRow:
    """The item, if the caller may see it; a volunteer's unassigned item is not found."""
    row = q.get_item(session, item_id)
    if not sees_all(who) and row.assigned_to != who.user.id:
        raise NotFound(f"no inbox item {item_id} assigned to you")
    return row


def check_visible(request: Request, who: Caller, item_id: int) -> None:
    with services(request).store.session() as session:
        visible_item(session, who, item_id)


def check_reply_visible(request: Request, who: Caller, reply_id: int) -> int:
    """The id of the reply's item, if the caller may see it."""
    with services(request).store.session() as session:
        item_id = q.get_reply(session, reply_id).item_id
        visible_item(session, who, item_id)
        return item_id


def assignee_of(request: Request, user_id: int) -> User | None:
    """The account with this id, if any (blocking: short)."""
    with services(request).store.session() as session:
        return find_user(session, user_id)


@router.get("/api/events/{slug}/inbox")
def inbox_queue(
    slug: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.REPLY_INBOX)),
    status: Annotated[Status | None, Query()] = None,
    platform: Annotated[Platform | None, Query()] = None,
    language: Annotated[Language | None, Query()] = None,
    category: Annotated[Category | None, Query()] = None,
    platform_state: Annotated[PlatformState | None, Query()] = None,
    assigned_to: Annotated[int | None, IdText, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> QueueOut:
    """The event's inbox, newest first, filtered. Without inbox:view, only the items assigned
    to the caller."""
    event = get_event(session, slug)
    if not sees_all(who):
        assigned_to = who.user.id
    where = q.QueueFilter(
        status=status,
        platform=platform,
        language=language,
        category=category,
        platform_state=platform_state,
        assigned_to=assigned_to,
    )
    rows, total = q.queue(session, event.id, where, limit=limit, offset=offset)
    counts = q.counts(session, event.id) if sees_all(who) else {}
    return QueueOut(
        items=[ItemOut.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
        counts=counts,
    )


@router.get("/api/inbox/items/{item_id}")
def inbox_item(
    item_id: RowId,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.REPLY_INBOX)),
) -> ItemDetailOut:
    """One item with every decision about it (the audit trail) and its replies."""
    row = visible_item(session, who, item_id)
    return ItemDetailOut(
        item=ItemOut.model_validate(row),
        decisions=[DecisionOut.model_validate(d) for d in q.item_decisions(session, row.id)],
        replies=[ReplyOut.model_validate(r) for r in q.item_replies(session, row.id)],
    )


@router.post("/api/inbox/items/{item_id}/decision")
async def inbox_decide(
    request: Request,
    item_id: RowId,
    data: DecisionIn,
    who: Caller = Depends(Requires(Perm.MODERATE_INBOX)),
) -> DecisionOut:
    """A moderator's decision, carried out on the platform (hide, unhide, ban) at once; the
    answer holds what the platform said."""
    decision = await inbox_service(request).decide(
        item_id, data.action, who.user, data.reason, category=data.category, ip=ip(request)
    )
    return DecisionOut.model_validate(decision)


@router.post("/api/inbox/decisions/{decision_id}/undo")
async def inbox_undo(
    request: Request,
    decision_id: RowId,
    data: UndoIn,
    who: Caller = Depends(Requires(Perm.MODERATE_INBOX)),
) -> DecisionOut:
    """Undo an item's latest decision: the item and the platform go back to what the decision
    before it left."""
    decision = await inbox_service(request).undo(decision_id, who.user, data.reason, ip=ip(request))
    return DecisionOut.model_validate(decision)


@router.post("/api/inbox/items/{item_id}/appeal")
async def inbox_appeal(
    request: Request,
    item_id: RowId,
    data: AppealIn,
    who: Caller = Depends(Requires(Perm.MODERATE_INBOX)),
) -> DecisionOut:
    """Record an author's appeal of a hidden item; a coordinator decides it."""
    decision = await inbox_service(request).appeal(item_id, data.note, who.user, ip=ip(request))
    return DecisionOut.model_validate(decision)


@router.post("/api/inbox/items/{item_id}/appeal/decision")
async def inbox_appeal_decision(
    request: Request,
    item_id: RowId,
    data: AppealDecisionIn,
    who: Caller = Depends(Requires(Perm.APPROVE_INBOX)),
) -> DecisionOut:
    """Decide an appeal: upheld shows the item again, rejected keeps it hidden."""
    decision = await inbox_service(request).resolve_appeal(
        item_id, data.upheld, who.user, data.reason, ip=ip(request)
    )
    return DecisionOut.model_validate(decision)


@router.post("/api/inbox/items/{item_id}/assign")
def inbox_assign(
    request: Request,
    item_id: RowId,
    data: AssignIn,
    who: Caller = Depends(Requires(Perm.MODERATE_INBOX)),
) -> DecisionOut:
    """Give the item to a team member who may reply (null: to nobody)."""
    assignee: User | None = None
    if data.user_id is not None:
        assignee = assignee_of(request, data.user_id)
        if assignee is None:
            raise NotFound(f"no user {data.user_id}")
        if not allowed(assignee.role, Perm.REPLY_INBOX):
            raise UserError(f"{assignee.username} ({assignee.role}) may not reply to items")
    decision = inbox_service(request).assign(item_id, assignee, who.user, ip=ip(request))
    return DecisionOut.model_validate(decision)


@router.post("/api/inbox/items/{item_id}/replies")
def inbox_draft_reply(
    request: Request,
    item_id: RowId,
    data: ReplyIn,
    who: Caller = Depends(Requires(Perm.REPLY_INBOX)),
) -> ReplyOut:
    """Draft a reply (a text, or a policy template in the item's language). It is checked
    against the code of conduct at once: "approved" may be sent, "needs_approval" waits for a
    coordinator."""
    check_visible(request, who, item_id)
    reply = inbox_service(request).draft_reply(
        item_id, who.user, text=data.text, template=data.template, ip=ip(request)
    )
    return ReplyOut.model_validate(reply)


@router.post("/api/inbox/replies/{reply_id}/approve")
def inbox_approve_reply(
    request: Request,
    reply_id: RowId,
    who: Caller = Depends(Requires(Perm.APPROVE_INBOX)),
) -> ReplyOut:
    """Approve a reply the code of conduct flagged, so that it can be sent."""
    reply = inbox_service(request).approve_reply(reply_id, who.user, ip=ip(request))
    return ReplyOut.model_validate(reply)


@router.post("/api/inbox/replies/{reply_id}/send")
async def inbox_send_reply(
    request: Request,
    reply_id: RowId,
    who: Caller = Depends(Requires(Perm.REPLY_INBOX)),
) -> ReplyOut:
    """Post an approved reply through the platform. A flagged reply needs a coordinator's
    approval first (400 until then)."""
    await asyncio.to_thread(check_reply_visible, request, who, reply_id)
    reply = await inbox_service(request).send_reply(reply_id, who.user, ip=ip(request))
    return ReplyOut.model_validate(reply)
