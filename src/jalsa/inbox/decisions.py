"""People's decisions on inbox items: decide, undo, appeal, resolve an appeal, assign.

Each goes through the same audit trail as the automatic decisions (`InboxDecisionRow`, with
the policy and model versions and the score the item was judged with), writes its entry in the
audit log (`jalsa.team.audit_log`) in the same transaction, with the actor and the client's address
the caller passes (the web app) or `via: cli`, and brings the platform in line through the
pipeline's platform actions. Who may do what is checked by the callers (web
routes, CLI); the rules that hold whoever calls are kept here: only the latest decision can be
undone, only a hidden item can be appealed, and an appeal is resolved only while it waits.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.inbox import store as q
from jalsa.inbox.pipeline import Pipeline, Todo
from jalsa.store.models import InboxDecisionRow, InboxItemRow, User
from jalsa.team import audit

# What a person may decide about an item, and the status it leaves.
HUMAN_ACTIONS = {
    "allow": "allowed",
    "hide": "hidden",
    "review": "review",
    "ban": "hidden",
    "unhide": "allowed",
}
# Decisions that set an item's status, and can be undone.
STATE_SETTING = (*HUMAN_ACTIONS, "appeal", "appeal_upheld", "appeal_rejected")
_AUTO_STATUS = {"hide": "hidden", "review": "review", "allow": "allowed"}
_STATUS_OF = {**HUMAN_ACTIONS, **_AUTO_STATUS, "appeal": "appealed"}
_STATUS_OF |= {"appeal_upheld": "allowed", "appeal_rejected": "hidden"}

# Who decided: a user, a name without an account (the CLI's operator), None for the service.
Actor = User | str | None


class Decisions:
    """People's decisions, recorded and carried out through `pipeline`."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    async def decide(
        self,
        item_id: int,
        action: str,
        user: Actor,
        reason: str = "",
        *,
        category: str | None = None,
        ip: str = "",
    ) -> InboxDecisionRow:
        """A moderator's decision (allow, hide, review, ban, unhide), carried out on the
        platform. `user` None: the CLI's operator. `ip`: the caller's, for the audit log."""
        if action not in HUMAN_ACTIONS:
            raise UserError(f"cannot {action!r} an item; use one of {', '.join(HUMAN_ACTIONS)}")
        decision, todo = await asyncio.to_thread(
            self._decide_now, item_id, action, user, reason, category, ip=ip
        )
        await self.pipeline.perform(todo)
        return self.pipeline.decision(decision.id)

    def _decide_now(
        self,
        item_id: int,
        action: str,
        user: Actor,
        reason: str,
        category: str | None,
        reverses: int | None = None,
        recorded: str | None = None,
        *,
        ip: str = "",
    ) -> tuple[InboxDecisionRow, list[Todo]]:
        """Set the item's status to what `action` means, record the decision (as `recorded`,
        default `action`) and return the platform action that brings the platform in line."""
        with self.pipeline.store.session() as session:
            row = q.get_item(session, item_id)
            status = _STATUS_OF[action]
            todo = self._platform_todo(row, action, status)
            row.status = status
            if category is not None:
                row.category = category
            row.updated_at = self.pipeline.clock.now()
            decision = self._record(
                session,
                row,
                recorded or action,
                user,
                reason,
                category,
                reverses,
                ip=ip,
                platform=todo[0].action if todo else None,
            )
            return decision, todo

    def _platform_todo(self, row: InboxItemRow, action: str, status: str) -> list[Todo]:
        """The platform action that makes the platform show what `status` means: hidden and
        appealed items hidden, others shown. A moderator's "review" leaves the platform as it
        is; a deleted item needs nothing."""
        if row.platform_state == "deleted" or action == "review":
            return []
        if action == "ban":
            return [self.pipeline.schedule(row, "ban")]
        shown = row.platform_state not in ("hidden", "banned", "dry_run")
        if status in ("hidden", "appealed"):
            return [self.pipeline.schedule(row, "hide")] if shown else []
        if row.platform_state in ("hidden", "dry_run"):
            return [self.pipeline.schedule(row, "unhide")]
        if row.pending_action == "hide":  # a hide still to be retried is no longer wanted
            row.pending_action = row.retry_at = None
        return []

    def _record(
        self,
        session: Session,
        row: InboxItemRow,
        action: str,
        user: Actor,
        reason: str,
        category: str | None = None,
        reverses: int | None = None,
        *,
        ip: str = "",
        platform: str | None = None,
    ) -> InboxDecisionRow:
        """A human decision, with the versions and score the item was judged with, and its
        audit entry (in the same transaction; `platform`: the action it asks of the platform,
        whose answer comes later and is kept on the decision)."""
        decision = q.add_decision(
            session,
            row,
            action=action,
            actor=user,
            reason=reason,
            category=category or row.category,
            score=row.score,
            policy_version=row.policy_version,
            model_version=row.model_version,
            reverses=reverses,
            at=self.pipeline.clock.now(),
        )
        audit_action(
            session,
            user,
            f"inbox.{decision.action}",
            f"inbox item {decision.item_id}",
            ip,
            decision=decision.id,
            reason=decision.reason[:200],
            platform=platform,
        )
        return decision

    async def undo(
        self, decision_id: int, user: Actor, reason: str = "", *, ip: str = ""
    ) -> InboxDecisionRow:
        """Undo an item's latest decision: the item goes back to the state the decision
        before it left (and the platform with it)."""
        decision, todo = await asyncio.to_thread(self._undo_now, decision_id, user, reason, ip)
        await self.pipeline.perform(todo)
        return self.pipeline.decision(decision.id)

    def _undo_now(
        self, decision_id: int, user: Actor, reason: str, ip: str
    ) -> tuple[InboxDecisionRow, list[Todo]]:
        with self.pipeline.store.session() as session:
            target = q.get_decision(session, decision_id)
            history = _effective(session, target.item_id)
            if target.action not in STATE_SETTING or target.id not in {d.id for d in history}:
                raise UserError(f"decision {decision_id} ({target.action}) cannot be undone")
            if history[-1].id != target.id:
                raise UserError(
                    f"decision {decision_id} is not the item's latest; undo "
                    f"decision {history[-1].id} first"
                )
            before = history[-2].action if len(history) > 1 else None
            item_id = target.item_id
        # Undoing the automatic decision leaves the item for a person to review.
        previous = before if before is not None else "review"
        return self._restore(item_id, previous, user, reason, decision_id, ip)

    def _restore(
        self, item_id: int, previous: str, user: Actor, reason: str, reverses: int, ip: str
    ) -> tuple[InboxDecisionRow, list[Todo]]:
        with self.pipeline.store.session() as session:
            row = q.get_item(session, item_id)
            status = _STATUS_OF.get(previous, "new")
            todo = self._platform_todo(row, "undo", status)
            row.status = status
            row.updated_at = self.pipeline.clock.now()
            decision = self._record(
                session,
                row,
                "undo",
                user,
                reason,
                reverses=reverses,
                ip=ip,
                platform=todo[0].action if todo else None,
            )
            return decision, todo

    async def appeal(
        self, item_id: int, note: str, user: Actor, *, ip: str = ""
    ) -> InboxDecisionRow:
        """Record an author's appeal of a hidden item; it waits for a coordinator."""

        def now() -> InboxDecisionRow:
            with self.pipeline.store.session() as session:
                row = q.get_item(session, item_id)
                if row.status != "hidden":
                    raise UserError(
                        f"item {item_id} is {row.status}; only a hidden item can be appealed"
                    )
                row.status = "appealed"
                row.updated_at = self.pipeline.clock.now()
                return self._record(session, row, "appeal", user, note, ip=ip)

        return await asyncio.to_thread(now)

    async def resolve_appeal(
        self, item_id: int, upheld: bool, user: Actor, reason: str = "", *, ip: str = ""
    ) -> InboxDecisionRow:
        """Upheld: the author was right, the item is shown again. Rejected: it stays hidden."""

        def check() -> None:
            with self.pipeline.store.session() as session:
                status = q.get_item(session, item_id).status
            if status != "appealed":
                raise UserError(f"item {item_id} is {status}, not appealed")

        await asyncio.to_thread(check)
        action = "appeal_upheld" if upheld else "appeal_rejected"
        decision, todo = await asyncio.to_thread(
            self._decide_now, item_id, action, user, reason, None, ip=ip
        )
        await self.pipeline.perform(todo)
        return self.pipeline.decision(decision.id)

    def assign(
        self, item_id: int, assignee: User | None, by: Actor, *, ip: str = ""
    ) -> InboxDecisionRow:
        """Give the item to a volunteer (None: to nobody). Blocking; short."""
        with self.pipeline.store.session() as session:
            row = q.get_item(session, item_id)
            if assignee is not None and not assignee.active:
                raise UserError(f"{assignee.username} is deactivated")
            row.assigned_to = assignee.id if assignee else None
            row.updated_at = self.pipeline.clock.now()
            who = assignee.username if assignee else "nobody"
            return self._record(session, row, "assign", by, f"assigned to {who}", ip=ip)


def _effective(session: Session, item_id: int) -> list[InboxDecisionRow]:
    """The item's state-setting decisions that stand (not undone), oldest first; the first
    is the automatic one."""
    history = q.item_decisions(session, item_id)
    undone = {d.reverses for d in history if d.action == "undo"}
    return [d for d in history if d.action in STATE_SETTING and d.id not in undone]


def audit_action(
    session: Session, user: Actor, action: str, target: str, ip: str, **details: Any
) -> None:
    """A person's action on the inbox in the audit log, in the transaction of the change. An
    actor without an account is the CLI's operator."""
    if not isinstance(user, User):
        details["via"] = "cli"
    audit(session, actor=user, action=action, target=target, details=details, ip=ip)
