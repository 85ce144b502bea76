"""The moderation pipeline: collected items in, automatic decisions and platform actions out.

`Pipeline.ingest` stores the items not seen before (by platform id, so a repeated page
moderates nothing twice), classifies them in batches and lets the policy decide, in a worker
thread (the model is CPU work and must not block the event loop), records each automatic
decision with the policy and model versions and the score, then hides or bans through the
platform's API. The action to perform is written with the decision (`pending_action`), so a
crash between the two leaves it due, and a platform error leaves it due again later with
backoff; after MAX_ATTEMPTS the item keeps a clear `platform_state` "error" and its reason. One
failing item never holds up the others.

Platform actions are dry runs unless `inbox_dry_run` is off (default on: nothing is hidden on a
real platform until a coordinator decides the policy is ready; the demo turns it off against
the simulator). People's decisions (`decisions.py`) and replies (`replies.py`) use the same
platform calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from jalsa.clock import Clock, SystemClock
from jalsa.config import Settings
from jalsa.credentials import with_stored_credentials
from jalsa.errors import UserError
from jalsa.inbox import store as q
from jalsa.inbox.model_files import load_model
from jalsa.inbox.policy import Policy
from jalsa.inbox.policy_file import load_policy
from jalsa.platforms.inbox_record import ActionResult, Decision, InboxItem
from jalsa.platforms.registry import ACTIONS
from jalsa.store import Store
from jalsa.store.models import Event, InboxDecisionRow, InboxItemRow

log = logging.getLogger(__name__)

BATCH = 64  # texts per call of the classifier
MAX_ATTEMPTS = 4  # platform calls per action before an item is left with status "error"
BACKOFF = (2.0, 10.0, 60.0)  # seconds before the 2nd, 3rd, 4th attempt
# An action is written as due this far ahead before it is tried, so a crash in between leaves
# it to the retry loop, and the loop does not try it while the first attempt is under way.
GRACE = timedelta(seconds=30)
CONCURRENT_ACTIONS = 8  # platform calls at once
# Statuses of an ActionResult that may succeed if tried again.
TRANSIENT = ("rate_limited", "error")
# The decisions whose platform result an action's answer is.
_DECISIONS_FOR = {
    "hide": ("hide", "appeal_rejected", "undo", "appeal"),
    "unhide": ("unhide", "allow", "appeal_upheld", "undo"),
    "ban": ("ban",),
}


# -- what the pipeline needs from the classifier and the platform actions ---------------------


class ModelLike(Protocol):
    """The classifier as the pipeline uses it (`jalsa.inbox.classifier.Model`)."""

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


class Pipeline:
    """The store, the classifier, the policy and the platform actions, and what an item goes
    through with them."""

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
        self._client: httpx.AsyncClient | None = None  # the platform actions', made on first use
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
        """The classifier, or None when the pipeline runs on the policy's rules alone."""
        return None if self.rules_only else self.model

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = load_policy(self.settings.inbox_policy_file)
        return self._policy

    @property
    def actions(self) -> dict[str, ActionsLike]:
        if self._actions is None:
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
                        batch_todo.append(self.schedule(row, "hide"))
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

    def schedule(self, row: InboxItemRow, action: str) -> Todo:
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

    # -- reading -----------------------------------------------------------------------------------

    def decision(self, decision_id: int) -> InboxDecisionRow:
        with self.store.session() as session:
            return q.get_decision(session, decision_id)


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


def _latest(session: Session, item_id: int, actions: Sequence[str]) -> InboxDecisionRow | None:
    for decision in reversed(q.item_decisions(session, item_id)):
        if decision.action in actions:
            return decision
    return None
