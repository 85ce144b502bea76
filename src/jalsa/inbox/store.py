"""Reading and writing the inbox in the operational store: items, the decisions about them (the
audit trail) and replies.

Items are keyed by (platform, external_id), so a collector that sees an item again, or a
restart that collects the same page twice, stores and moderates it once. Decisions are only ever
appended; an undo is a new decision that names the one it reverses. The web pages, the API, the
CLI and the service all read through these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from jalsa.errors import NotFound
from jalsa.platforms.inbox_record import Decision, InboxItem
from jalsa.store.db import upsert
from jalsa.store.models import InboxDecisionRow, InboxItemRow, InboxReplyRow, User
from jalsa.timeutil import utc_now

# Moderation states of an item (`InboxItemRow.status`).
STATUSES = ("new", "allowed", "review", "hidden", "appealed")
# What a platform shows of an item (`InboxItemRow.platform_state`).
PLATFORM_STATES = ("visible", "hidden", "banned", "deleted", "error", "dry_run")
# Actions a decision row may hold. "appeal_upheld": the author was right, the hide is reversed;
# "appeal_rejected": the hide stands.
DECISION_ACTIONS = (
    "hide",
    "unhide",
    "allow",
    "review",
    "ban",
    "undo",
    "appeal",
    "appeal_upheld",
    "appeal_rejected",
    "assign",
)
REPLY_STATUSES = ("draft", "needs_approval", "approved", "sent", "failed", "rejected")
AUTO = "auto"  # the actor of the service's own decisions
CLEAN_LABEL = "none"  # the training label of an item a moderator found acceptable

# Longest text and platform id kept. A longer text is cut (the item says so in `extra`); a
# longer id cannot be a platform's id and the item is refused as malformed.
MAX_TEXT = 100_000
MAX_ID = 200


@dataclass(frozen=True)
class Rejected:
    """An item that could not be stored, and why (for the run's summary and the log)."""

    platform: str
    external_id: str
    reason: str


def _clean(text: str) -> str:
    """Text the database accepts: no NUL (PostgreSQL refuses it), no lone surrogates (not
    encodable as UTF-8)."""
    text = text.replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def item_row(event_id: int, item: InboxItem, collected_at: datetime) -> dict[str, Any]:
    """The row for a collected item (text cleaned and cut to MAX_TEXT)."""
    text = _clean(item.text)
    extra = dict(item.extra)
    if len(text) > MAX_TEXT:
        extra["text_length"] = len(text)
        text = text[:MAX_TEXT]
    return {
        "event_id": event_id,
        "platform": item.platform,
        "external_id": item.external_id,
        "kind": item.kind,
        "thread_id": _clean(item.thread_id)[:MAX_ID],
        "parent_id": _clean(item.parent_id)[:MAX_ID] if item.parent_id else None,
        "author_id": _clean(item.author_id)[:MAX_ID],
        "author_name": _clean(item.author_name)[:200],
        "text": text,
        "permalink": item.permalink[:500] if item.permalink else None,
        "created_at": _aware(item.created_at),
        "collected_at": collected_at,
        "language": "unknown",
        "status": "new",
        "reason": "",
        "read_status": "ok",
        "platform_state": "visible",
        "platform_detail": "",
        "attempts": 0,
        "extra": extra,
        "updated_at": collected_at,
    }


def _malformed(item: InboxItem) -> str | None:
    if not item.platform or not item.external_id.strip():
        return "no platform or no item id"
    if len(item.external_id) > MAX_ID or "\x00" in item.external_id:
        return f"an item id of {len(item.external_id)} characters is not a platform's id"
    return None


def save_items(
    session: Session,
    event_id: int,
    items: Sequence[InboxItem],
    *,
    collected_at: datetime | None = None,
) -> tuple[list[InboxItemRow], list[Rejected]]:
    """Store the items not stored yet. Returns the new rows (in input order, each item once)
    and the items refused as malformed; items seen before are neither."""
    now = collected_at or utc_now()
    rejected: list[Rejected] = []
    fresh: dict[tuple[str, str], InboxItem] = {}
    for item in items:
        problem = _malformed(item)
        if problem:
            rejected.append(Rejected(item.platform, item.external_id[:80], problem))
        else:
            fresh.setdefault((item.platform, item.external_id), item)
    if not fresh:
        return [], rejected
    known = set(_existing_keys(session, list(fresh)))
    new = {key: item for key, item in fresh.items() if key not in known}
    upsert(
        session,
        InboxItemRow,
        [item_row(event_id, item, now) for item in new.values()],
        keys=["platform", "external_id"],
    )
    rows = {(r.platform, r.external_id): r for r in items_by_key(session, list(new))}
    return [rows[key] for key in new if key in rows], rejected


def _existing_keys(session: Session, keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    by_platform: dict[str, list[str]] = {}
    for platform, external_id in keys:
        by_platform.setdefault(platform, []).append(external_id)
    for platform, ids in by_platform.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            out += [
                (platform, external_id)
                for external_id in session.scalars(
                    select(InboxItemRow.external_id).where(
                        InboxItemRow.platform == platform, InboxItemRow.external_id.in_(chunk)
                    )
                )
            ]
    return out


def items_by_key(session: Session, keys: Sequence[tuple[str, str]]) -> list[InboxItemRow]:
    """The stored items with these (platform, external_id) keys."""
    out: list[InboxItemRow] = []
    by_platform: dict[str, list[str]] = {}
    for platform, external_id in keys:
        by_platform.setdefault(platform, []).append(external_id)
    for platform, ids in by_platform.items():
        for start in range(0, len(ids), 500):
            out += session.scalars(
                select(InboxItemRow).where(
                    InboxItemRow.platform == platform,
                    InboxItemRow.external_id.in_(ids[start : start + 500]),
                )
            )
    return out


def first_answers(session: Session, event_id: int, platform: str, kind: str) -> list[InboxItemRow]:
    """The event's items of `kind` that answer the first post of their thread, newest first
    (the X inbox collecting finds the team's conversations among its mentions so)."""
    return list(
        session.scalars(
            select(InboxItemRow)
            .where(
                InboxItemRow.event_id == event_id,
                InboxItemRow.platform == platform,
                InboxItemRow.kind == kind,
                InboxItemRow.parent_id == InboxItemRow.thread_id,
            )
            .order_by(InboxItemRow.created_at.desc())
        )
    )


def get_item(session: Session, item_id: int) -> InboxItemRow:
    item = session.get(InboxItemRow, item_id)
    if item is None:
        raise NotFound(f"no inbox item {item_id}; `jalsa inbox queue EVENT` lists them")
    return item


def get_decision(session: Session, decision_id: int) -> InboxDecisionRow:
    decision = session.get(InboxDecisionRow, decision_id)
    if decision is None:
        raise NotFound(f"no inbox decision {decision_id}")
    return decision


def get_reply(session: Session, reply_id: int) -> InboxReplyRow:
    reply = session.get(InboxReplyRow, reply_id)
    if reply is None:
        raise NotFound(f"no inbox reply {reply_id}")
    return reply


@dataclass(frozen=True)
class QueueFilter:
    """What a moderator narrows the queue to; None means any."""

    status: str | None = None
    platform: str | None = None
    language: str | None = None
    category: str | None = None
    platform_state: str | None = None
    assigned_to: int | None = None
    thread_id: str | None = None


def _filtered(query: Select[Any], event_id: int, where: QueueFilter) -> Select[Any]:
    query = query.where(InboxItemRow.event_id == event_id)
    for column, value in (
        (InboxItemRow.status, where.status),
        (InboxItemRow.platform, where.platform),
        (InboxItemRow.language, where.language),
        (InboxItemRow.category, where.category),
        (InboxItemRow.platform_state, where.platform_state),
        (InboxItemRow.assigned_to, where.assigned_to),
        (InboxItemRow.thread_id, where.thread_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return query


def queue(
    session: Session,
    event_id: int,
    where: QueueFilter | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[InboxItemRow], int]:
    """One page of an event's items matching `where`, newest first, and how many match."""
    where = where or QueueFilter()
    total = session.scalar(_filtered(select(func.count(InboxItemRow.id)), event_id, where)) or 0
    rows = session.scalars(
        _filtered(select(InboxItemRow), event_id, where)
        .order_by(InboxItemRow.collected_at.desc(), InboxItemRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def counts(session: Session, event_id: int, column: str = "status") -> dict[str, int]:
    """How many of the event's items have each value of `column` (status, platform, language,
    category, platform_state)."""
    col = getattr(InboxItemRow, column)
    rows = session.execute(
        select(col, func.count(InboxItemRow.id))
        .where(InboxItemRow.event_id == event_id)
        .group_by(col)
    )
    return {str(value): n for value, n in rows}


def decision_counts(session: Session, event_id: int) -> dict[str, int]:
    """How many decisions of each action the event's items got, "auto:" or "human:" first."""
    kind = case((InboxDecisionRow.actor == AUTO, "auto"), else_="human")
    rows = session.execute(
        select(kind, InboxDecisionRow.action, func.count(InboxDecisionRow.id))
        .join(InboxItemRow, InboxItemRow.id == InboxDecisionRow.item_id)
        .where(InboxItemRow.event_id == event_id)
        .group_by(kind, InboxDecisionRow.action)
    )
    return {f"{who}:{action}": n for who, action, n in rows}


def add_decision(
    session: Session,
    item: InboxItemRow,
    *,
    action: str,
    actor: User | str | None,
    reason: str = "",
    category: str | None = None,
    score: float | None = None,
    policy_version: str | None = None,
    model_version: str | None = None,
    findings: list[dict[str, Any]] | None = None,
    result_status: str | None = None,
    result_detail: str = "",
    reverses: int | None = None,
    at: datetime | None = None,
    flush: bool = True,
) -> InboxDecisionRow:
    """Append one decision about `item`. `actor`: a user, a name without an account (the
    CLI's operator, "cli:<login>"), or None for the service itself ("auto")."""
    if action not in DECISION_ACTIONS:
        raise ValueError(f"unknown inbox decision action {action!r}")
    row = InboxDecisionRow(
        item_id=item.id,
        at=at or utc_now(),
        user_id=actor.id if isinstance(actor, User) else None,
        actor=actor.username if isinstance(actor, User) else (actor or AUTO)[:120],
        action=action,
        category=category,
        score=score,
        language=item.language,
        policy_version=policy_version,
        model_version=model_version,
        reason=reason,
        findings=findings or [],
        result_status=result_status,
        result_detail=result_detail,
        reverses=reverses,
    )
    session.add(row)
    if flush:  # for the id; many decisions at once are flushed together at the commit
        session.flush()
    return row


def decision_from_policy(
    session: Session, item: InboxItemRow, decision: Decision, *, at: datetime | None = None
) -> InboxDecisionRow:
    """Record the policy's automatic decision about `item` and copy it onto the item."""
    now = at or utc_now()
    item.language = decision.language
    item.category = decision.category
    item.score = decision.score
    item.reason = decision.reason
    item.read_status = decision.status
    item.policy_version = decision.policy_version
    item.model_version = decision.model_version
    item.decided_at = now
    item.status = {"hide": "hidden", "review": "review", "allow": "allowed"}[decision.action]
    item.updated_at = now
    return add_decision(
        session,
        item,
        action=decision.action,
        actor=None,
        reason=decision.reason,
        category=decision.category,
        score=decision.score,
        policy_version=decision.policy_version,
        model_version=decision.model_version,
        findings=[f.model_dump(mode="json") for f in decision.findings],
        at=now,
        flush=False,
    )


def item_decisions(session: Session, item_id: int) -> list[InboxDecisionRow]:
    """An item's decisions, oldest first: its whole history."""
    return list(
        session.scalars(
            select(InboxDecisionRow)
            .where(InboxDecisionRow.item_id == item_id)
            .order_by(InboxDecisionRow.at, InboxDecisionRow.id)
        )
    )


def item_replies(session: Session, item_id: int) -> list[InboxReplyRow]:
    return list(
        session.scalars(
            select(InboxReplyRow)
            .where(InboxReplyRow.item_id == item_id)
            .order_by(InboxReplyRow.created_at, InboxReplyRow.id)
        )
    )


def undone_ids(session: Session, decision_ids: Sequence[int]) -> set[int]:
    """Which of these decisions an undo has reversed."""
    if not decision_ids:
        return set()
    return {
        r
        for r in session.scalars(
            select(InboxDecisionRow.reverses).where(
                InboxDecisionRow.action == "undo",
                InboxDecisionRow.reverses.in_(list(decision_ids)),
            )
        )
        if r is not None
    }


def due_retries(session: Session, now: datetime, *, limit: int = 100) -> list[InboxItemRow]:
    """Items whose failed platform action is due to be tried again, oldest due first."""
    return list(
        session.scalars(
            select(InboxItemRow)
            .where(InboxItemRow.pending_action.is_not(None), InboxItemRow.retry_at <= now)
            .order_by(InboxItemRow.retry_at)
            .limit(limit)
        )
    )


# Human decisions that say what an item is: the action and the label it gives.
_LABELLING = ("hide", "ban", "allow", "unhide", "appeal_upheld", "appeal_rejected")


def labels_since(
    session: Session, since: datetime | None = None, *, event_id: int | None = None
) -> list[tuple[str, str, str]]:
    """(text, label, language) for each item a person decided about since `since`: the
    moderators' decisions as training labels. The label is the category for a hide, a ban or a
    rejected appeal, and CLEAN_LABEL for an allow, an unhide or an upheld appeal; an item's
    latest such decision that was not undone counts; hides without a category give none."""
    query = (
        select(InboxDecisionRow, InboxItemRow.text, InboxItemRow.category)
        .join(InboxItemRow, InboxItemRow.id == InboxDecisionRow.item_id)
        .where(InboxDecisionRow.actor != AUTO, InboxDecisionRow.action.in_(_LABELLING))
        .order_by(InboxDecisionRow.at, InboxDecisionRow.id)
    )
    if since is not None:
        query = query.where(InboxDecisionRow.at >= since)
    if event_id is not None:
        query = query.where(InboxItemRow.event_id == event_id)
    rows = session.execute(query).all()
    undone = undone_ids(session, [d.id for d, _, _ in rows])
    latest: dict[int, tuple[str, str | None, str]] = {}
    for decision, text, item_category in rows:
        if decision.id in undone:
            continue
        if decision.action in ("allow", "unhide", "appeal_upheld"):
            label: str | None = CLEAN_LABEL
        else:
            label = decision.category or item_category
        latest[decision.item_id] = (text, label, decision.language or "unknown")
    return [(text, label, lang) for text, label, lang in latest.values() if label]


def unlabelled_items(
    session: Session, event_id: int, *, language: str | None = None, limit: int = 5_000
) -> list[InboxItemRow]:
    """An event's newest items no person has decided about (candidates to ask labels for)."""
    labelled = (
        select(InboxDecisionRow.item_id)
        .where(InboxDecisionRow.actor != AUTO, InboxDecisionRow.action.in_(_LABELLING))
        .scalar_subquery()
    )
    query = select(InboxItemRow).where(
        InboxItemRow.event_id == event_id, InboxItemRow.id.not_in(labelled)
    )
    if language is not None:
        query = query.where(InboxItemRow.language == language)
    order = (InboxItemRow.collected_at.desc(), InboxItemRow.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def add_reply(
    session: Session,
    item: InboxItemRow,
    *,
    text: str,
    drafted_by: User | None,
    status: str,
    check: Decision | None,
    template: str | None = None,
    language: str = "unknown",
) -> InboxReplyRow:
    now = utc_now()
    reply = InboxReplyRow(
        item_id=item.id,
        drafted_by=drafted_by.id if drafted_by else None,
        text=_clean(text),
        template=template,
        language=language,
        check_decision=check.model_dump(mode="json") if check else {},
        status=status,
        error="",
        created_at=now,
        updated_at=now,
    )
    session.add(reply)
    session.flush()
    return reply
