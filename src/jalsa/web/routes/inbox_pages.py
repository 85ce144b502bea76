"""The inbox pages: an event's queue (filters as query parameters, newest first, paged) and one
item with its thread, its whole decision history, appeals and replies. Plain HTML forms that
work without JavaScript; `inbox.js` only refreshes the queue.

The rules live in `InboxService` (undo only the latest decision, a flagged reply waits for a
coordinator) and the permissions in `Requires`; these handlers read, call the service (which
writes the audit entry) and redirect. A volunteer (inbox:reply without inbox:view) sees only
the items assigned to them; any other item is "not found", as in the JSON API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.ids import parse_id
from jalsa.inbox import store as q
from jalsa.inbox.active_learning import least_sure
from jalsa.inbox.decisions import HUMAN_ACTIONS, STATE_SETTING
from jalsa.inbox.policy_view import policy_view
from jalsa.platforms.inbox_record import CATEGORIES, PLATFORMS
from jalsa.store.models import Event, InboxReplyRow, User
from jalsa.store.repo import get_event, list_events
from jalsa.team import Perm, allowed, display_names, members_who_may
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.routes.common import RowId, done, from_form, ip, page
from jalsa.web.routes.inbox_api import (
    AppealDecisionIn,
    AppealIn,
    DecisionIn,
    ReplyIn,
    UndoIn,
    assignee_of,
    check_reply_visible,
    check_visible,
    inbox_service,
    sees_all,
    visible_item,
)
from jalsa.web.services import services

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
ASK_SIZE = 30  # items on the "label next" page
CLIP = 280  # characters of an item's text shown in the queue before "more"
LANGUAGES = ("urdu", "roman_urdu", "english", "mixed", "unknown")
# What each queue filter may be; "" is any.
FILTERS: dict[str, tuple[str, ...]] = {
    "status": q.STATUSES,
    "platform": PLATFORMS,
    "language": LANGUAGES,
    "category": tuple(CATEGORIES),
}


def _back(target: str, fallback: str) -> str:
    """Where a form sends the browser after a write: a local path only."""
    if target.startswith(("/events/", "/inbox/")) and "//" not in target:
        return target
    return fallback


def _item_url(item_id: int) -> str:
    return f"/inbox/items/{item_id}"


def repliers(session: Session) -> list[User]:
    """Active accounts an item can be assigned to (those who may reply)."""
    return members_who_may(session, Perm.REPLY_INBOX)


# -- the queue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    status: str = ""
    platform: str = ""
    language: str = ""
    category: str = ""
    mine: bool = False
    thread: str = ""
    page: int = 1

    def query(self, **changes: Any) -> str:
        """The query string of these filters with `changes` (e.g. another page)."""
        values = {**self.__dict__, **changes}
        shown = {k: v for k, v in values.items() if v and not (k == "page" and v == 1)}
        if shown.get("mine"):
            shown["mine"] = "1"
        return urlencode(shown)


def _filters(
    status: str, platform: str, language: str, category: str, mine: str, thread: str, page_: str
) -> tuple[Filters, UserError | None]:
    """The filters asked for; an unknown value is dropped, with the reason to show."""
    asked = {"status": status, "platform": platform, "language": language, "category": category}
    kept: dict[str, str] = {}
    problems = []
    for name, value in asked.items():
        value = value.strip()
        if value and value not in FILTERS[name]:
            problems.append(f"unknown {name} {value[:40]!r}; choose one of the list")
        elif value:
            kept[name] = value
    number = parse_id(page_, maximum=100_000) or 1
    found = Filters(
        **kept, mine=mine in ("1", "on", "true"), thread=thread.strip()[:200], page=number
    )
    return found, UserError("; ".join(problems)) if problems else None


@router.get("/events/{slug}/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    slug: str,
    status: str = "",
    platform: str = "",
    language: str = "",
    category: str = "",
    mine: str = "",
    thread: str = "",
    page_no: Annotated[str, Query(alias="page")] = "",
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.REPLY_INBOX)),
) -> Response:
    """The event's queue. Without inbox:view, only the items assigned to the caller."""
    event = get_event(session, slug)
    wanted, error = _filters(status, platform, language, category, mine, thread, page_no)
    everything = sees_all(who)
    where = q.QueueFilter(
        status=wanted.status or None,
        platform=wanted.platform or None,
        language=wanted.language or None,
        category=wanted.category or None,
        assigned_to=who.user.id if wanted.mine or not everything else None,
        thread_id=wanted.thread or None,
    )
    offset = (wanted.page - 1) * PAGE_SIZE
    rows, total = q.queue(session, event.id, where, limit=PAGE_SIZE, offset=offset)
    context = {
        "event": event,
        "items": rows,
        "total": total,
        "filters": wanted,
        "choices": FILTERS,
        "categories": CATEGORIES,
        "counts": q.counts(session, event.id) if everything else {},
        "sees_all": everything,
        "assignees": display_names(session, {r.assigned_to for r in rows}),
        "repliers": repliers(session) if allowed(who.role, Perm.MODERATE_INBOX) else [],
        "first": offset + 1,
        "last": offset + len(rows),
        "newer": wanted.query(page=wanted.page - 1) if wanted.page > 1 else None,
        "older": wanted.query(page=wanted.page + 1) if offset + len(rows) < total else None,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "clip": CLIP,
        "actions": ("allow", "hide", "review"),
    }
    return page(request, "inbox.html", who, context, error=error)


@router.get("/inbox", response_class=HTMLResponse)
def inbox_events(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.REPLY_INBOX)),
) -> Response:
    """Every event's inbox, the latest event first, with what waits for a person."""
    events = list_events(session)
    mine = None if sees_all(who) else who.user.id
    rows = []
    for event in events:
        counts = q.counts(session, event.id) if mine is None else {}
        waiting = None
        if mine is not None:
            _, waiting = q.queue(session, event.id, q.QueueFilter(assigned_to=mine), limit=1)
        rows.append({"event": event, "counts": counts, "assigned": waiting})
    return page(request, "inbox_events.html", who, {"rows": rows})


# -- one item ------------------------------------------------------------------------------


def _item_context(session: Session, who: Caller, item_id: int, request: Request) -> dict[str, Any]:
    row = visible_item(session, who, item_id)
    event = session.get(Event, row.event_id)
    assert event is not None
    parent = None
    if row.parent_id:
        found = q.items_by_key(session, [(row.platform, row.parent_id)])
        if found and (sees_all(who) or found[0].assigned_to == who.user.id):
            parent = found[0]
    decisions = q.item_decisions(session, row.id)
    undone = {d.reverses for d in decisions if d.action == "undo"}
    standing = [d for d in decisions if d.action in STATE_SETTING and d.id not in undone]
    replies = q.item_replies(session, row.id)
    policy = inbox_service(request).policy
    names = sorted({t.name for t in policy.replies.templates})
    users = {d.user_id for d in decisions} | {row.assigned_to}
    users |= {r.drafted_by for r in replies} | {r.approved_by for r in replies}
    return {
        "event": event,
        "item": row,
        "parent": parent,
        "decisions": decisions,
        "undone": undone,
        "undoable": standing[-1].id if standing else None,
        "replies": replies,
        # As `InboxService.draft_reply` fills them in, so the preview is what is sent.
        "templates": [
            (n, policy.render_reply(n, author=row.author_name, event=event.name)) for n in names
        ],
        "policy_version": policy.version,
        "names": display_names(session, users),
        "repliers": repliers(session) if allowed(who.role, Perm.MODERATE_INBOX) else [],
        "human_actions": list(HUMAN_ACTIONS),
        "categories": CATEGORIES,
        "here": _item_url(row.id),
    }


def _item_page(
    request: Request, who: Caller, item_id: int, error: UserError | None = None
) -> Response:
    with services(request).store.session() as session:
        context = _item_context(session, who, item_id, request)
        return page(request, "inbox_item.html", who, context, error=error)


@router.get("/inbox/items/{item_id}", response_class=HTMLResponse)
def item_page(
    request: Request,
    item_id: RowId,
    who: Caller = Depends(Requires(Perm.REPLY_INBOX)),
) -> Response:
    return _item_page(request, who, item_id)


async def _refused(request: Request, who: Caller, item_id: int, error: UserError) -> Response:
    """The item's page again, with why the form's input could not be used."""
    return await asyncio.to_thread(_item_page, request, who, item_id, error)


# -- moderators' decisions -----------------------------------------------------------------


@router.post("/inbox/items/{item_id}/decision")
async def decide_form(
    request: Request,
    item_id: RowId,
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    who: Caller = Depends(Requires(Perm.MODERATE_INBOX)),
) -> Response:
    try:
        data = from_form(
            DecisionIn, {"action": action, "reason": reason, "category": category or None}
        )
        decision = await inbox_service(request).decide(
            item_id, data.action, who.user, data.reason, category=data.category, ip=ip(request)
        )
    except UserError as exc:
        return await _refused(request, who, item_id, exc)
    answer = (decision.result_status or "").replace("_", " ")
    result = f" (platform: {answer})" if answer else ""
    return done(
        request,
        _back(next, _item_url(item_id)),
        f"Item {item_id}: {decision.action}{result}.",
    )


@router.post("/inbox/decisions/{decision_id}/undo")
async def undo_form(
    request: Request,
    decision_id: RowId,
    reason: Annotated[str, Form()] = "",
    who: Caller = Depends(Requires(Perm.MODERATE_INBOX)),
) -> Response:
    def item_of() -> int:
        with services(request).store.session() as session:
            return q.get_decision(session, decision_id).item_id

    item_id = await asyncio.to_thread(item_of)
    try:
        data = from_form(UndoIn, {"reason": reason})
        await inbox_service(request).undo(decision_id, who.user, data.reason, ip=ip(request))
    except UserError as exc:
        return await _refused(request, who, item_id, exc)
    return done(request, _item_url(item_id), f"Decision {decision_id} undone.")


@router.post("/inbox/items/{item_id}/appeal")
async def appeal_form(
    request: Request,
    item_id: RowId,
    note: Annotated[str, Form()] = "",
    who: Caller = Depends(Requires(Perm.MODERATE_INBOX)),
) -> Response:
    try:
        data = from_form(AppealIn, {"note": note.strip()})
        await inbox_service(request).appeal(item_id, data.note, who.user, ip=ip(request))
    except UserError as exc:
        return await _refused(request, who, item_id, exc)
    return done(request, _item_url(item_id), "Appeal recorded; a coordinator decides it.")


@router.post("/inbox/items/{item_id}/appeal/decision")
async def appeal_decision_form(
    request: Request,
    item_id: RowId,
    upheld: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    who: Caller = Depends(Requires(Perm.APPROVE_INBOX)),
) -> Response:
    try:
        data = from_form(AppealDecisionIn, {"upheld": upheld, "reason": reason})
        await inbox_service(request).resolve_appeal(
            item_id, data.upheld, who.user, data.reason, ip=ip(request)
        )
    except UserError as exc:
        return await _refused(request, who, item_id, exc)
    outcome = "upheld: the item is shown again" if data.upheld else "rejected: it stays hidden"
    return done(request, _item_url(item_id), f"Appeal {outcome}.")


@router.post("/inbox/items/{item_id}/assign")
def assign_form(
    request: Request,
    item_id: RowId,
    user_id: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    who: Caller = Depends(Requires(Perm.MODERATE_INBOX)),
) -> Response:
    """`user_id`: "me", an account's id, or empty (nobody)."""
    try:
        assignee = _assignee(request, who, user_id)
        decision = inbox_service(request).assign(item_id, assignee, who.user, ip=ip(request))
    except UserError as exc:
        return _item_page(request, who, item_id, exc)
    return done(request, _back(next, _item_url(item_id)), f"Item {item_id}: {decision.reason}.")


def _assignee(request: Request, who: Caller, value: str) -> User | None:
    value = value.strip()
    if not value:
        return None
    if value == "me":
        return who.user
    user_id = parse_id(value)
    if user_id is None:
        raise UserError(f"cannot assign to {value[:40]!r}; choose someone from the list")
    user = assignee_of(request, user_id)
    if user is None:
        raise UserError(f"no user {user_id}; choose someone from the list")
    if not allowed(user.role, Perm.REPLY_INBOX):
        raise UserError(f"{user.username} ({user.role}) may not reply to items")
    return user


# -- replies -------------------------------------------------------------------------------


def _sent_notice(reply: InboxReplyRow) -> str:
    if reply.status == "sent":
        return f"Reply {reply.id} sent."
    if reply.status == "failed":
        return f"Reply {reply.id} could not be sent: {reply.error}"
    return f"Reply {reply.id} not sent: {reply.error or reply.status}"


@router.post("/inbox/items/{item_id}/replies")
def draft_form(
    request: Request,
    item_id: RowId,
    text: Annotated[str, Form()] = "",
    template: Annotated[str, Form()] = "",
    who: Caller = Depends(Requires(Perm.REPLY_INBOX)),
) -> Response:
    """Draft a reply; the code of conduct checks it at once, and the item's page shows the
    result with Send (or, if flagged, the coordinator's Approve & send)."""
    check_visible(request, who, item_id)
    try:
        data = from_form(ReplyIn, {"text": text or None, "template": template or None})
        reply = inbox_service(request).draft_reply(
            item_id, who.user, text=data.text, template=data.template, ip=ip(request)
        )
    except UserError as exc:
        return _item_page(request, who, item_id, exc)
    if reply.status == "needs_approval":
        said = f"Reply {reply.id} was flagged by the code of conduct: it needs a coordinator."
    else:
        said = f"Reply {reply.id} follows the code of conduct; send it when ready."
    return done(request, _item_url(item_id) + f"#reply-{reply.id}", said)


@router.post("/inbox/replies/{reply_id}/send")
async def send_form(
    request: Request,
    reply_id: RowId,
    who: Caller = Depends(Requires(Perm.REPLY_INBOX)),
) -> Response:
    item_id = await asyncio.to_thread(check_reply_visible, request, who, reply_id)
    try:
        reply = await inbox_service(request).send_reply(reply_id, who.user, ip=ip(request))
    except UserError as exc:
        return await _refused(request, who, item_id, exc)
    return done(request, _item_url(item_id) + f"#reply-{reply_id}", _sent_notice(reply))


@router.post("/inbox/replies/{reply_id}/approve")
async def approve_form(
    request: Request,
    reply_id: RowId,
    who: Caller = Depends(Requires(Perm.APPROVE_INBOX)),
) -> Response:
    """Approve & send: a coordinator's approval of a flagged reply, then the platform."""
    item_id = await asyncio.to_thread(check_reply_visible, request, who, reply_id)
    service = inbox_service(request)
    try:
        await asyncio.to_thread(service.approve_reply, reply_id, who.user, ip=ip(request))
    except UserError as exc:
        return await _refused(request, who, item_id, exc)
    try:
        reply = await service.send_reply(reply_id, who.user, ip=ip(request))
    except UserError as exc:
        return await _refused(request, who, item_id, exc)
    text = f"Reply {reply_id} approved. " + _sent_notice(reply)
    return done(request, _item_url(item_id) + f"#reply-{reply_id}", text)


@router.post("/inbox/replies/{reply_id}/reject")
def reject_form(
    request: Request,
    reply_id: RowId,
    who: Caller = Depends(Requires(Perm.APPROVE_INBOX)),
) -> Response:
    item_id = check_reply_visible(request, who, reply_id)
    try:
        inbox_service(request).reject_reply(reply_id, who.user, ip=ip(request))
    except UserError as exc:
        return _item_page(request, who, item_id, exc)
    return done(request, _item_url(item_id), f"Reply {reply_id} rejected; it will not be sent.")


# -- the code of conduct -------------------------------------------------------------------


@router.get("/inbox/policy", response_class=HTMLResponse)
def policy_page(
    request: Request,
    who: Caller = Depends(Requires(Perm.REPLY_INBOX)),
) -> Response:
    """The code of conduct in force: thresholds, and per language what the model's operating
    points promise (precision and recall of hiding, share sent to review)."""
    service = inbox_service(request)
    try:
        model = service.scorer
    except UserError:
        model = None  # the inbox runs on rules alone then, and the page says so
    view = policy_view(service.policy, model)
    return page(request, "inbox_policy.html", who, {"view": view})


@router.get("/events/{slug}/inbox/ask", response_class=HTMLResponse)
def ask_page(
    request: Request,
    slug: str,
    language: Annotated[str, Query(max_length=16)] = "",
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.MODERATE_INBOX)),
) -> Response:
    """Active learning: the comments the model is least sure about, to decide (and so label)
    first; languages take turns."""
    event = get_event(session, slug)
    wanted = language if language in LANGUAGES else None
    candidates = q.unlabelled_items(session, event.id, language=wanted)
    error = None
    try:
        asks = least_sure(inbox_service(request).model, candidates, ASK_SIZE)
    except UserError as exc:
        asks, error = [], exc
    context = {
        "event": event,
        "asks": asks,
        "candidates": len(candidates),
        "language": wanted or "",
        "languages": LANGUAGES,
        "error_text": str(error) if error else "",
    }
    return page(request, "inbox_ask.html", who, context)
