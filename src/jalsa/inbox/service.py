"""The inbox pipeline: items in, decisions and platform actions out, every step audited.

`InboxService.ingest` stores the items not seen before (by platform id, so a repeated page
moderates nothing twice), classifies them in batches and lets the policy decide, in a worker
thread (the model is CPU work and must not block the event loop), records each automatic
decision with the policy and model versions and the score, then hides or bans through the
platform's API. The action to perform is written with the decision (`pending_action`), so a
crash between the two leaves it due, and a platform error leaves it due again later with
backoff; after MAX_ATTEMPTS the item keeps a clear `platform_state` "error" and its reason. One
failing item never holds up the others.

People's actions (`decide`, `undo`, `appeal`, `resolve_appeal`, `assign`, replies) go through
the same audit trail: each writes its entry in the audit log (`jalsa.team.audit`) in the
transaction of the decision or reply it records, with the actor and the client's address the
caller passes (the web app) or `via: cli`. Who may do what is checked by the callers (web
routes, CLI); the service keeps the rules that hold whoever calls: only the latest decision can
be undone, a reply the code of conduct flagged is not sent before someone approves it.

Platform actions are dry runs unless `inbox_dry_run` is off (default on: nothing is hidden on a
real platform until a coordinator decides the policy is ready; the demo turns it off against
the simulator).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from jalsa.clock import Clock, SystemClock
from jalsa.config import Settings
from jalsa.errors import UserError
from jalsa.inbox import store as q
from jalsa.platforms.inbox_record import ActionResult, Decision, InboxItem
from jalsa.store import Store
from jalsa.store.models import Event, InboxDecisionRow, InboxItemRow, InboxReplyRow, User
from jalsa.team import audit

if TYPE_CHECKING:
    from jalsa.inbox.policy import Policy, ReplyCheck
    from jalsa.platforms.collect.inbox import Handover

log = logging.getLogger(__name__)

BATCH = 64  # texts per call of the classifier
MAX_ATTEMPTS = 4  # platform calls per action before an item is left with status "error"
BACKOFF = (2.0, 10.0, 60.0)  # seconds before the 2nd, 3rd, 4th attempt
# An action is written as due this far ahead before it is tried, so a crash in between leaves
# it to the retry loop, and the loop does not try it while the first attempt is under way.
GRACE = timedelta(seconds=30)
CONCURRENT_ACTIONS = 8  # platform calls at once
MAX_REPLY = 5_000  # characters of a reply (longer than any platform accepts)
MAX_X_CONVERSATIONS = 50  # X conversations whose replies one run collects
# Why a source of the event's streams is not collected (one line each in the run's summary).
SKIPPED_INSTAGRAM = "skipped: set JALSA_INSTAGRAM_ACCESS_TOKEN to collect comments"
SKIPPED_X_USER = "skipped: set JALSA_INBOX_X_USER_ID (the team's numeric X user id)"
SKIPPED_X_TOKEN = "skipped: set JALSA_X_BEARER_TOKEN to collect mentions and replies"
# Statuses of an ActionResult that may succeed if tried again.
TRANSIENT = ("rate_limited", "error")
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


# -- what the service needs from the classifier, the policy and the platform actions ---------------


# Who decided: a user, a name without an account (the CLI's operator), None for the service.
Actor = User | str | None


class ModelLike(Protocol):
    """The classifier as the service uses it (`jalsa.inbox.classifier.Model`)."""

    @property
    def version(self) -> str: ...

    def predict(self, texts: Sequence[str]) -> Sequence[Any]: ...


class ActionsLike(Protocol):
    async def hide(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult: ...

    async def unhide(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult: ...

    async def ban_author(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult: ...

    async def reply(self, item: InboxItem, text: str, *, dry_run: bool = False) -> ActionResult: ...


@dataclass
class Ingested:
    """What one batch of collected items came to."""

    stored: int = 0
    duplicate: int = 0
    rejected: list[q.Rejected] = field(default_factory=list)
    decisions: Counter[str] = field(default_factory=Counter)  # policy action -> items
    results: Counter[str] = field(default_factory=Counter)  # platform result status -> items
    item_ids: list[int] = field(default_factory=list)

    def add(self, other: Ingested) -> None:
        self.stored += other.stored
        self.duplicate += other.duplicate
        self.rejected += other.rejected
        self.decisions.update(other.decisions)
        self.results.update(other.results)
        self.item_ids += other.item_ids


# Items handed over by a collector, when they arrived, and what to call once they are stored.
Arrival = tuple[datetime, list[InboxItem], Callable[[], None]]


@dataclass(frozen=True)
class Todo:
    """A platform action to perform on one item."""

    item_id: int
    action: str  # hide, unhide, ban
    item: InboxItem


def record_of(row: InboxItemRow) -> InboxItem:
    """The stored item as the platform actions take it."""
    return InboxItem(
        platform=row.platform,
        external_id=row.external_id,
        kind=row.kind,
        thread_id=row.thread_id,
        parent_id=row.parent_id,
        author_id=row.author_id,
        author_name=row.author_name,
        text=row.text,
        created_at=row.created_at,
        permalink=row.permalink,
        extra=dict(row.extra or {}),
    )


def on_topic_terms(event: Event) -> list[str]:
    """Words that make a comment about the event: its hashtags (with and without #) and the
    words of its name."""
    terms = [t for tag in event.hashtags for t in (tag, tag.lstrip("#"))]
    terms += [w for w in event.name.split() if len(w) > 2]
    return terms


def backoff(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt."""
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


class InboxService:
    """One per process that moderates (`jalsa inbox run`, the web app, the demo)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        model: ModelLike | None = None,
        policy: Policy | None = None,
        actions: Mapping[str, ActionsLike] | None = None,
        clock: Clock | None = None,
        dry_run: bool | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self._model = model
        self._policy = policy
        self._actions: dict[str, ActionsLike] | None = dict(actions) if actions else None
        self.clock = clock or SystemClock()
        self.dry_run = settings.inbox_dry_run if dry_run is None else dry_run
        self._client: Any = None  # the HTTP client of the platform actions, made on first use
        self.sources: dict[str, str] = {}  # collector source -> its last round's status
        # No classifier: the policy's rules alone (personal data, spam, threats); set when no
        # model loads (the demo with a damaged install: neither a trained nor the shipped
        # model), said in every summary.
        self.rules_only = False

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
            self._actions = None

    # -- the parts, loaded when first needed -------------------------------------------------------

    @property
    def model(self) -> ModelLike:
        if self._model is None:
            from jalsa.inbox.classifier import load_model

            self._model = load_model(
                self.settings.inbox_model_file, data_dir=self.settings.data_dir
            )
        return self._model

    def use_model(self, model: ModelLike) -> None:
        """Moderate with `model` (one loaded beforehand) instead of loading one when needed."""
        self._model = model
        self.rules_only = False

    @property
    def scorer(self) -> ModelLike | None:
        """The classifier, or None when the service runs on the policy's rules alone."""
        return None if self.rules_only else self.model

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            from jalsa.inbox.policy_file import load_policy

            self._policy = load_policy(self.settings.inbox_policy_file)
        return self._policy

    @property
    def actions(self) -> dict[str, ActionsLike]:
        if self._actions is None:
            import httpx

            from jalsa.credentials import with_stored_credentials
            from jalsa.platforms.registry import ACTIONS

            settings = with_stored_credentials(self.settings, self.store)
            self._client = httpx.AsyncClient(timeout=settings.http_timeout)
            self._actions = {
                name: cls.from_settings(self._client, settings) for name, cls in ACTIONS.items()
            }
        return self._actions

    # -- collected items in ------------------------------------------------------------------------

    async def ingest(
        self, event_id: int, items: Sequence[InboxItem], *, collected_at: datetime | None = None
    ) -> Ingested:
        """Store, classify, decide, act. Returns when every action has an answer (or is left
        for a retry) and everything is committed."""
        result, todo = await asyncio.to_thread(self.store_and_decide, event_id, items, collected_at)
        result.results.update(await self.perform(todo))
        return result

    def store_and_decide(
        self,
        event_id: int,
        items: Sequence[InboxItem],
        collected_at: datetime | None = None,
        on_batch: Callable[[list[Todo]], None] | None = None,
    ) -> tuple[Ingested, list[Todo]]:
        """The blocking half of `ingest`: new items stored and decided, in one transaction per
        classifier batch; the platform actions to perform. `on_batch` gets each batch's
        actions as soon as the batch is committed (a backlog's first hides need not wait for
        its last items to be classified)."""
        result = Ingested()
        with self.store.session() as session:
            event = session.get(Event, event_id)
            if event is None:
                raise UserError(f"no event {event_id}")
            terms = on_topic_terms(event)
            rows, result.rejected = q.save_items(
                session, event_id, items, collected_at=collected_at or self.clock.now()
            )
            ids = [r.id for r in rows]
        result.stored = len(ids)
        result.duplicate = len(items) - len(ids) - len(result.rejected)
        result.item_ids = ids
        for rejected in result.rejected:
            log.warning(
                "inbox: refused %s item %r: %s",
                rejected.platform,
                rejected.external_id,
                rejected.reason,
            )
        todo: list[Todo] = []
        for start in range(0, len(ids), BATCH):
            with self.store.session() as session:
                chunk = ids[start : start + BATCH]
                found = session.scalars(select(InboxItemRow).where(InboxItemRow.id.in_(chunk)))
                by_id = {r.id: r for r in found}
                batch = [by_id[i] for i in chunk]
                batch_todo: list[Todo] = []
                for row, decision in zip(
                    batch, self.classify([r.text for r in batch], terms), strict=True
                ):
                    q.decision_from_policy(session, row, decision, at=self.clock.now())
                    result.decisions[decision.action] += 1
                    if decision.action == "hide":
                        batch_todo.append(self._schedule(row, "hide"))
            if on_batch is not None and batch_todo:
                on_batch(batch_todo)
            else:
                todo += batch_todo
        return result, todo

    def classify(self, texts: Sequence[str], terms: Sequence[str] = ()) -> list[Decision]:
        """The policy's decision for each text, the classifier's scores included (the policy
        retries a failing batch one text at a time and reviews what still fails)."""
        try:
            return self.policy.check_many(list(texts), self.scorer, on_topic_terms=terms)
        except Exception as exc:  # a bug in either: each item is reviewed, none is lost
            log.exception("inbox: classifying a batch failed")
            return [
                Decision(
                    action="review",
                    category=None,
                    score=None,
                    policy_version=self.policy.version,
                    reason=f"could not be checked ({type(exc).__name__}): review it by hand",
                    status="error",
                )
                for _ in texts
            ]

    def _schedule(self, row: InboxItemRow, action: str) -> Todo:
        """Write the action as due (a crash before it is done leaves it to the retry)."""
        row.pending_action = action
        row.attempts = 0
        row.retry_at = self.clock.now() + GRACE
        return Todo(row.id, action, record_of(row))

    # -- platform actions --------------------------------------------------------------------------

    async def perform(self, todo: Sequence[Todo]) -> Counter[str]:
        """Perform the actions, several at once, and record each answer; returns the count of
        each answer's status."""
        limit = asyncio.Semaphore(CONCURRENT_ACTIONS)
        results = await asyncio.gather(*(self._perform_one(t, limit) for t in todo))
        return Counter(results)

    async def _perform_one(self, todo: Todo, limit: asyncio.Semaphore) -> str:
        async with limit:
            result = await self.call_platform(todo.action, todo.item)
        await asyncio.to_thread(self.record_result, todo.item_id, todo.action, result)
        return result.status

    async def call_platform(self, action: str, item: InboxItem, text: str = "") -> ActionResult:
        """One platform call; never raises (a bug or an unknown platform is an error result)."""
        actions = self.actions.get(item.platform)
        if actions is None:
            return ActionResult(
                ok=False,
                status="unsupported",
                detail=f"no moderation actions for the platform {item.platform!r}",
            )
        try:
            if action == "hide":
                return await actions.hide(item, dry_run=self.dry_run)
            if action == "unhide":
                return await actions.unhide(item, dry_run=self.dry_run)
            if action == "ban":
                return await actions.ban_author(item, dry_run=self.dry_run)
            if action == "reply":
                return await actions.reply(item, text, dry_run=self.dry_run)
        except Exception as exc:
            log.exception("inbox: %s of %s %s failed", action, item.platform, item.external_id)
            return ActionResult(ok=False, status="error", detail=f"{type(exc).__name__}: {exc}")
        raise ValueError(f"unknown platform action {action!r}")

    def record_result(self, item_id: int, action: str, result: ActionResult) -> None:
        """Store what the platform answered on the item and on the decision that asked for
        it; schedule a retry of a transient failure, or give up with a clear status."""
        now = self.clock.now()
        with self.store.session() as session:
            row = q.get_item(session, item_id)
            row.updated_at = now
            ours = row.pending_action == action  # not replaced by a later decision meanwhile
            attempts = row.attempts + 1 if ours else MAX_ATTEMPTS
            state, detail, retry = _outcome(action, result, attempts)
            row.platform_state = state
            row.platform_detail = detail
            if result.ok:
                row.actioned_at = now
            if ours:
                row.attempts = attempts
                row.pending_action = None if retry is None else action
                row.retry_at = None if retry is None else now + timedelta(seconds=retry)
            decision = _latest(session, row.id, _DECISIONS_FOR[action])
            if decision is not None:
                decision.result_status = result.status
                decision.result_detail = detail

    async def retry_due(self, now: datetime | None = None) -> Counter[str]:
        """Perform again the actions whose time has come (failed, or left by a crash)."""
        todo = await asyncio.to_thread(self._due, now or self.clock.now())
        return await self.perform(todo)

    def _due(self, now: datetime) -> list[Todo]:
        with self.store.session() as session:
            rows = q.due_retries(session, now)
            out = []
            for row in rows:
                assert row.pending_action is not None
                # Not tried again by another loop while this attempt is under way.
                row.retry_at = now + GRACE
                out.append(Todo(row.id, row.pending_action, record_of(row)))
            return out

    # -- people's decisions ------------------------------------------------------------------------

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
        await self.perform(todo)
        return self.decision(decision.id)

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
        with self.store.session() as session:
            row = q.get_item(session, item_id)
            status = _STATUS_OF[action]
            todo = self._platform_todo(row, action, status)
            row.status = status
            if category is not None:
                row.category = category
            row.updated_at = self.clock.now()
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
            return [self._schedule(row, "ban")]
        shown = row.platform_state not in ("hidden", "banned", "dry_run")
        if status in ("hidden", "appealed"):
            return [self._schedule(row, "hide")] if shown else []
        if row.platform_state in ("hidden", "dry_run"):
            return [self._schedule(row, "unhide")]
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
            at=self.clock.now(),
        )
        _audit(
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
        await self.perform(todo)
        return self.decision(decision.id)

    def _undo_now(
        self, decision_id: int, user: Actor, reason: str, ip: str
    ) -> tuple[InboxDecisionRow, list[Todo]]:
        with self.store.session() as session:
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
        with self.store.session() as session:
            row = q.get_item(session, item_id)
            status = _STATUS_OF.get(previous, "new")
            todo = self._platform_todo(row, "undo", status)
            row.status = status
            row.updated_at = self.clock.now()
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
            with self.store.session() as session:
                row = q.get_item(session, item_id)
                if row.status != "hidden":
                    raise UserError(
                        f"item {item_id} is {row.status}; only a hidden item can be appealed"
                    )
                row.status = "appealed"
                row.updated_at = self.clock.now()
                return self._record(session, row, "appeal", user, note, ip=ip)

        return await asyncio.to_thread(now)

    async def resolve_appeal(
        self, item_id: int, upheld: bool, user: Actor, reason: str = "", *, ip: str = ""
    ) -> InboxDecisionRow:
        """Upheld: the author was right, the item is shown again. Rejected: it stays hidden."""

        def check() -> None:
            with self.store.session() as session:
                status = q.get_item(session, item_id).status
            if status != "appealed":
                raise UserError(f"item {item_id} is {status}, not appealed")

        await asyncio.to_thread(check)
        action = "appeal_upheld" if upheld else "appeal_rejected"
        decision, todo = await asyncio.to_thread(
            self._decide_now, item_id, action, user, reason, None, ip=ip
        )
        await self.perform(todo)
        return self.decision(decision.id)

    def assign(
        self, item_id: int, assignee: User | None, by: Actor, *, ip: str = ""
    ) -> InboxDecisionRow:
        """Give the item to a volunteer (None: to nobody). Blocking; short."""
        with self.store.session() as session:
            row = q.get_item(session, item_id)
            if assignee is not None and not assignee.active:
                raise UserError(f"{assignee.username} is deactivated")
            row.assigned_to = assignee.id if assignee else None
            row.updated_at = self.clock.now()
            who = assignee.username if assignee else "nobody"
            return self._record(session, row, "assign", by, f"assigned to {who}", ip=ip)

    # -- replies -----------------------------------------------------------------------------------

    def draft_reply(
        self,
        item_id: int,
        user: User | None,
        *,
        text: str | None = None,
        template: str | None = None,
        ip: str = "",
    ) -> InboxReplyRow:
        """A reply, checked against the code of conduct: "approved" if it may be sent as it is,
        "needs_approval" (a coordinator's) if the check flagged it. Blocking (the check runs
        the classifier)."""
        with self.store.session() as session:
            row = q.get_item(session, item_id)
            author, language = row.author_name, row.language
            event = session.get(Event, row.event_id)
            event_name = event.name if event else ""
        body = (text or "").strip()
        if template:
            body = self.policy.render_reply(
                template, author=author, language=language, event=event_name
            )
        if not body:
            raise UserError("the reply is empty; write a text or choose a template")
        if len(body) > MAX_REPLY:
            raise UserError(f"the reply is longer than {MAX_REPLY:,} characters; shorten it")
        check = self.check_reply(body)
        found = check.decision.language
        with self.store.session() as session:
            row = q.get_item(session, item_id)
            reply = q.add_reply(
                session,
                row,
                text=body,
                drafted_by=user,
                status="needs_approval" if check.needs_approval else "approved",
                check=check.decision,
                template=template,
                language=language if found == "unknown" else found,
            )
            reply.check_decision = {**reply.check_decision, "check": check.reason}
            _audit_reply(session, user, reply, "inbox.reply.draft", ip)
            return reply

    def check_reply(self, text: str) -> ReplyCheck:
        """The code of conduct applied to the team's own reply. A reply the classifier could
        not score is checked by the rules and still needs a coordinator's approval."""
        head = self.policy.text_to_classify(text)
        try:
            model = self.scorer
            if model is None:
                raise LookupError("no classifier")
            scores = model.predict([head])[0]
        except Exception as exc:
            if not isinstance(exc, LookupError):
                log.exception("inbox: the classifier could not check a draft reply")
            check = self.policy.decide_reply(text, None)
            reason = f"the classifier could not check it ({type(exc).__name__}): " + (
                "a coordinator must approve it"
            )
            return check.model_copy(update={"needs_approval": True, "reason": reason})
        return self.policy.decide_reply(text, scores, model_version=model.version)

    def approve_reply(self, reply_id: int, user: User | None, *, ip: str = "") -> InboxReplyRow:
        """A coordinator's approval of a flagged reply (callers check the permission)."""
        with self.store.session() as session:
            reply = q.get_reply(session, reply_id)
            if reply.status != "needs_approval":
                raise UserError(f"reply {reply_id} is {reply.status}; nothing to approve")
            reply.status = "approved"
            reply.approved_by = user.id if user else None
            reply.updated_at = self.clock.now()
            _audit_reply(session, user, reply, "inbox.reply.approve", ip)
            return reply

    def reject_reply(self, reply_id: int, user: User | None, *, ip: str = "") -> InboxReplyRow:
        with self.store.session() as session:
            reply = q.get_reply(session, reply_id)
            if reply.status in ("sent", "rejected"):
                raise UserError(f"reply {reply_id} is {reply.status} already")
            reply.status = "rejected"
            reply.approved_by = user.id if user else None
            reply.updated_at = self.clock.now()
            _audit_reply(session, user, reply, "inbox.reply.reject", ip)
            return reply

    async def send_reply(self, reply_id: int, user: User | None, *, ip: str = "") -> InboxReplyRow:
        """Post an approved reply through the platform. A flagged reply not yet approved is
        refused; a failed one may be sent again."""

        def load() -> tuple[InboxItem, str]:
            with self.store.session() as session:
                reply = q.get_reply(session, reply_id)
                if reply.status == "needs_approval":
                    raise UserError(
                        f"reply {reply_id} was flagged by the code of conduct "
                        f"({reply.check_decision.get('reason', '')}); a coordinator must "
                        "approve it before it is sent"
                    )
                if reply.status not in ("approved", "failed"):
                    raise UserError(f"reply {reply_id} is {reply.status}; it cannot be sent")
                return record_of(q.get_item(session, reply.item_id)), reply.text

        item, text = await asyncio.to_thread(load)
        result = await self.call_platform("reply", item, text)

        def save() -> InboxReplyRow:
            with self.store.session() as session:
                reply = q.get_reply(session, reply_id)
                reply.updated_at = self.clock.now()
                if result.status == "done" or (result.ok and result.status != "dry_run"):
                    reply.status = "sent"
                    reply.sent_at = reply.updated_at
                    reply.platform_reply_id = result.external_id
                    reply.error = ""
                elif result.status == "dry_run":
                    reply.error = f"dry run (JALSA_INBOX_DRY_RUN), not sent: {result.detail}"
                else:
                    reply.status = "failed"
                    reply.error = f"{result.status}: {result.detail}"
                _audit_reply(session, user, reply, "inbox.reply.send", ip)
                return reply

        return await asyncio.to_thread(save)

    # -- reading -----------------------------------------------------------------------------------

    def decision(self, decision_id: int) -> InboxDecisionRow:
        with self.store.session() as session:
            return q.get_decision(session, decision_id)

    # -- the loop ----------------------------------------------------------------------------------

    async def run(
        self,
        event_id: int,
        collect: Callable[[], Awaitable[Sequence[InboxItem]]],
        *,
        every: float = 5.0,
        rounds: int | None = None,
        on_round: Callable[[Ingested], None] | None = None,
    ) -> Ingested:
        """Collect, moderate and retry, every `every` seconds of the service's clock, until
        cancelled (or for `rounds` rounds). A failed collection is logged and tried again at
        the next round; it never ends the loop."""
        total = Ingested()
        done = 0
        while rounds is None or done < rounds:
            round_ = Ingested()
            try:
                items = await collect()
                round_ = await self.ingest(event_id, items)
            except UserError:
                raise
            except Exception:
                log.exception("inbox: a collection round failed; trying again next round")
            try:
                round_.results.update(await self.retry_due())
            except Exception:
                log.exception("inbox: retrying platform actions failed")
            total.add(round_)
            if on_round is not None:
                on_round(round_)
            done += 1
            if every > 0 and (rounds is None or done < rounds):
                await self.clock.sleep(every)
        return total

    async def run_event(
        self,
        event_id: int,
        stop: asyncio.Event,
        *,
        on_round: Callable[[Ingested], None] | None = None,
        collectors: Sequence[Any] | None = None,
        wait: float = 1.0,
        client: Any = None,
    ) -> Ingested:
        """Collect the event's streams (each collector at its platform's pace, in its own
        task) and moderate what they bring as it arrives, until `stop` is set. The state of
        each source is in `self.sources`. `client`: the collectors' HTTP client (default: one
        made and closed here)."""
        import httpx

        feed: asyncio.Queue[Arrival] = asyncio.Queue()

        def arrived(items: list[InboxItem], stored: Callable[[], None]) -> None:
            feed.put_nowait((self.clock.now(), items, stored))

        total = Ingested()
        acting: set[asyncio.Task[None]] = set()

        def counted(round_: Ingested) -> None:
            total.add(round_)
            if on_round is not None:
                on_round(round_)

        async def act(todo: list[Todo]) -> None:
            # Platform calls run beside the loop: a slow platform does not delay the next
            # items' decisions.
            counted(Ingested(results=await self.perform(todo)))

        loop = asyncio.get_running_loop()

        def start_acting(todo: list[Todo]) -> None:
            task = asyncio.create_task(act(todo))
            acting.add(task)
            task.add_done_callback(acting.discard)

        def committed(todo: list[Todo]) -> None:  # called in the worker thread
            loop.call_soon_threadsafe(start_acting, todo)

        # Handed over, not yet stored: a failed round leaves its arrivals here, in order, for
        # the next (a collector's mark must never pass items that are not stored).
        pending: list[Arrival] = []

        async def moderate() -> None:
            round_ = Ingested()
            try:
                while pending:
                    at, items, stored = pending[0]
                    if items:
                        result, _ = await asyncio.to_thread(
                            self.store_and_decide, event_id, items, at, committed
                        )
                        round_.add(result)
                    await asyncio.to_thread(stored)
                    del pending[0]
                round_.results.update(await self.retry_due())
            finally:
                counted(round_)

        async def take() -> None:
            with contextlib.suppress(TimeoutError):
                pending.append(await asyncio.wait_for(feed.get(), wait))
            while not feed.empty():
                pending.append(feed.get_nowait())

        async with contextlib.AsyncExitStack() as resources:
            if client is None:
                client = await resources.enter_async_context(
                    httpx.AsyncClient(timeout=self.settings.http_timeout)
                )
            if collectors is None:
                with self.store.session() as session:
                    event = session.get(Event, event_id)
                    if event is None:
                        raise UserError(f"no event {event_id}")
                    streams = [(s.kind, s.external_id) for s in event.streams]
                jobs = self._stream_jobs(client, event_id, streams, arrived, stop)
            else:
                for collector in collectors:
                    collector.on_items = arrived
                jobs = [self._run_collector(c, stop) for c in collectors]
            tasks = [asyncio.create_task(job) for job in jobs]
            try:
                while not stop.is_set():
                    await take()
                    try:
                        await moderate()
                    except UserError:
                        raise
                    except Exception:  # the database may be restarting: next round again
                        log.exception("inbox: moderating a round failed")
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                # What arrived before the collectors stopped is moderated too.
                with contextlib.suppress(Exception):
                    await take()
                    await moderate()
                await asyncio.gather(*acting, return_exceptions=True)
        return total

    def _stream_jobs(
        self,
        client: Any,
        event_id: int,
        streams: Sequence[tuple[str, str]],
        arrived: Handover,
        stop: asyncio.Event,
    ) -> list[Coroutine[Any, Any, None]]:
        """A collecting job per source the event's streams name: a YouTube video's live chat
        and comments, a Facebook live video's comments, the comments of an Instagram
        account's live videos and, for an event with an X stream, the mentions of the team's
        X account and the replies in its conversations (X Spaces have no comments). A source
        whose settings are missing is skipped, and `self.sources` says which setting."""
        from jalsa.platforms.collect.inbox import inbox_dataset_dir
        from jalsa.platforms.facebook.inbox import FacebookCommentsInbox
        from jalsa.platforms.youtube.inbox import YouTubeCommentsInbox

        options: dict[str, Any] = {
            "dataset_dir": inbox_dataset_dir(self.settings),
            "clock": self.clock,
            "on_result": self._source_result,
        }
        jobs: list[Coroutine[Any, Any, None]] = []
        for kind, external_id in streams:
            made: list[Any] = []
            if kind == "youtube":
                made.append(
                    YouTubeCommentsInbox.from_settings(
                        client, self.settings, external_id, **options
                    )
                )
                jobs.append(self._youtube_chat(client, external_id, arrived, stop, options))
            elif kind == "facebook":
                made.append(
                    FacebookCommentsInbox.from_settings(
                        client, self.settings, external_id, **options
                    )
                )
            elif kind == "instagram":
                if self.settings.instagram_access_token is None:
                    self.sources[f"instagram-live-{external_id}"] = SKIPPED_INSTAGRAM
                else:
                    jobs.append(self._instagram_live(client, external_id, arrived, stop, options))
            for collector in made:
                collector.on_items = arrived
                jobs.append(self._run_collector(collector, stop))
        if any(kind.startswith("x_") for kind, _ in streams):
            user_id = (self.settings.inbox_x_user_id or "").strip()
            if not user_id.isdigit():
                self.sources["x-mentions"] = SKIPPED_X_USER
            elif self.settings.x_bearer_token is None:
                self.sources["x-mentions"] = SKIPPED_X_TOKEN
            else:
                jobs.append(self._x_account(client, event_id, user_id, arrived, stop, options))
        return jobs

    async def _instagram_live(
        self,
        client: Any,
        ig_user_id: str,
        arrived: Handover,
        stop: asyncio.Event,
        options: dict[str, Any],
    ) -> None:
        """The comments of the account's live videos: its live media are looked up as the
        Instagram connector does, every `instagram_interval` seconds, and each new one gets a
        comments collector, which runs until `stop`."""
        from jalsa.platforms.base import PollError, Usage
        from jalsa.platforms.collect.base import NEEDS_A_PERSON, pause
        from jalsa.platforms.collect.rawlog import source_name
        from jalsa.platforms.instagram.inbox import InstagramCommentsApi, InstagramCommentsInbox

        api = InstagramCommentsApi.from_settings(client, self.settings)
        source = source_name("instagram-live", ig_user_id)
        running: dict[str, asyncio.Task[None]] = {}
        try:
            while not stop.is_set():
                try:
                    media = await api.live_media(Usage(), ig_user_id)
                except PollError as exc:
                    self.sources[source] = f"{exc.status.value}: {exc.detail}"
                    if exc.status in NEEDS_A_PERSON:
                        return
                else:
                    for media_id in (str(m.get("id") or "") for m in media):
                        if media_id and media_id not in running:
                            comments = InstagramCommentsInbox.from_settings(
                                client, self.settings, media_id, live=True, **options
                            )
                            comments.on_items = arrived
                            running[media_id] = asyncio.create_task(
                                self._run_collector(comments, stop)
                            )
                    live = f"live media {', '.join(running)}" if running else "not live yet"
                    self.sources[source] = f"ok: {live}"
                if await pause(self.clock, self.settings.instagram_interval, stop):
                    return
        finally:
            await asyncio.gather(*running.values(), return_exceptions=True)

    async def _x_account(
        self,
        client: Any,
        event_id: int,
        user_id: str,
        arrived: Handover,
        stop: asyncio.Event,
        options: dict[str, Any],
    ) -> None:
        """The mentions of the team's X account, and the replies in the conversations its
        posts started: those its mentions show (`team_conversations`), stored ones included,
        up to MAX_X_CONVERSATIONS (each is a search request per round)."""
        from jalsa.platforms.x.inbox import XMentionsInbox, XRepliesInbox, team_conversations

        running: dict[str, asyncio.Task[None]] = {}

        def follow(conversations: Sequence[str]) -> None:
            for conversation in conversations:
                if conversation in running or stop.is_set():
                    continue
                if len(running) >= MAX_X_CONVERSATIONS:
                    self.sources["x-replies"] = (
                        f"following {MAX_X_CONVERSATIONS} conversations, the limit; "
                        "newer ones are not followed"
                    )
                    return
                replies = XRepliesInbox.for_conversation(
                    client, self.settings, conversation, **options
                )
                replies.on_items = arrived
                running[conversation] = asyncio.create_task(self._run_collector(replies, stop))

        def mentioned(items: list[InboxItem], stored: Callable[[], None]) -> None:
            arrived(items, stored)
            follow(team_conversations(items, user_id))

        def known() -> list[str]:
            with self.store.session() as session:
                rows = q.first_answers(session, event_id, "x", "mention")
                return team_conversations(map(record_of, rows), user_id)

        follow(await asyncio.to_thread(known))
        mentions = XMentionsInbox.for_user(client, self.settings, user_id, **options)
        mentions.on_items = mentioned
        try:
            await self._run_collector(mentions, stop)
        finally:
            await asyncio.gather(*running.values(), return_exceptions=True)

    async def _youtube_chat(
        self,
        client: Any,
        video_id: str,
        arrived: Handover,
        stop: asyncio.Event,
        options: dict[str, Any],
    ) -> None:
        """The video's live chat, once it has one (none before the broadcast starts)."""
        from jalsa.platforms.collect.base import NEEDS_A_PERSON, CollectError, pause
        from jalsa.platforms.youtube.inbox import YouTubeChatInbox

        key = self.settings.youtube_api_key
        while not stop.is_set():
            try:
                chat = await YouTubeChatInbox.for_video(
                    client,
                    self.settings.youtube_base_url,
                    key.get_secret_value() if key else None,
                    video_id,
                    **options,
                )
            except CollectError as exc:
                self._source_result(exc.result)
                if exc.result.status in NEEDS_A_PERSON or await pause(self.clock, 60, stop):
                    return
                continue
            chat.on_items = arrived
            await self._run_collector(chat, stop)
            return

    async def _run_collector(self, collector: Any, stop: asyncio.Event) -> None:
        from jalsa.platforms.collect.base import CollectError

        try:
            await collector.run(stop)
        except CollectError as exc:  # a token or an id only a person can fix
            self.sources[collector.source] = f"stopped: {exc}"
        except Exception as exc:  # one source failing must not stop the others
            log.exception("inbox: collector %s failed", getattr(collector, "source", collector))
            self.sources[getattr(collector, "source", "?")] = f"failed: {exc}"

    def _source_result(self, result: Any) -> None:
        status = str(getattr(result.status, "value", result.status))
        self.sources[result.source] = status + (f": {result.detail}" if result.detail else "")


# -- helpers ---------------------------------------------------------------------------------------

# The decisions whose platform result an action's answer is.
_DECISIONS_FOR = {
    "hide": ("hide", "appeal_rejected", "undo", "appeal"),
    "unhide": ("unhide", "allow", "appeal_upheld", "undo"),
    "ban": ("ban",),
}


def _outcome(action: str, result: ActionResult, attempts: int) -> tuple[str, str, float | None]:
    """(platform_state, detail, seconds to a retry or None) for an action's answer."""
    done_state = {"hide": "hidden", "unhide": "visible", "ban": "banned"}[action]
    if result.status in ("done", "already_done"):
        return done_state, result.detail, None
    if result.status == "dry_run":
        return "dry_run", result.detail, None
    if result.status == "not_found":
        return "deleted", result.detail or "the platform no longer has this item", None
    if result.status in TRANSIENT and attempts < MAX_ATTEMPTS:
        wait = backoff(attempts)
        detail = f"{result.status}: {result.detail} (attempt {attempts} of {MAX_ATTEMPTS}; "
        return "error", detail + f"next in {wait:.0f} s)", wait
    if result.status in TRANSIENT:
        return "error", f"gave up after {attempts} attempts: {result.detail}", None
    if result.status == "permission_denied":
        return "error", f"permission missing: {result.detail}", None
    return "error", f"{result.status}: {result.detail}", None


def _effective(session: Session, item_id: int) -> list[InboxDecisionRow]:
    """The item's state-setting decisions that stand (not undone), oldest first; the first
    is the automatic one."""
    history = q.item_decisions(session, item_id)
    undone = {d.reverses for d in history if d.action == "undo"}
    return [d for d in history if d.action in STATE_SETTING and d.id not in undone]


def _latest(session: Session, item_id: int, actions: Sequence[str]) -> InboxDecisionRow | None:
    for decision in reversed(q.item_decisions(session, item_id)):
        if decision.action in actions:
            return decision
    return None


def _audit(
    session: Session, user: Actor, action: str, target: str, ip: str, **details: Any
) -> None:
    """A person's action in the audit log, in the transaction of the change. An actor
    without an account is the CLI's operator."""
    if not isinstance(user, User):
        details["via"] = "cli"
    audit(session, actor=user, action=action, target=target, details=details, ip=ip)


def _audit_reply(session: Session, user: Actor, reply: InboxReplyRow, action: str, ip: str) -> None:
    target = f"inbox reply {reply.id}"
    _audit(session, user, action, target, ip, item=reply.item_id, status=reply.status)
