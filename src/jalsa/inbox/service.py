"""The inbox service: one object per process that moderates (`jalsa inbox run`, the web app,
the demo), made of the inbox's parts, each in the module named for its job:

    pipeline.py    items in: store, classify, decide; platform actions performed and retried
    decisions.py   people's decisions: decide, undo, appeal, resolve an appeal, assign
    replies.py     the team's replies: draft, check, approve, reject, send
    collecting.py  running the event's collectors and moderating what they bring

`InboxService` is the pipeline (its store, settings, clock, classifier, policy and platform
actions are the parts' own) with the other parts' methods, so callers hold one object.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

import httpx

from jalsa.clock import Clock
from jalsa.config import Settings
from jalsa.inbox.collecting import Collecting
from jalsa.inbox.decisions import Actor, Decisions
from jalsa.inbox.pipeline import ActionsLike, Ingested, ModelLike, Pipeline
from jalsa.inbox.policy import Policy, ReplyCheck
from jalsa.inbox.replies import Replies
from jalsa.platforms.collect.inbox import InboxTap
from jalsa.platforms.inbox_record import InboxItem
from jalsa.store import Store
from jalsa.store.models import InboxDecisionRow, InboxReplyRow, User


class InboxService(Pipeline):
    """The pipeline, people's decisions, replies and collecting, for one store."""

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
        super().__init__(
            store,
            settings,
            model=model,
            policy=policy,
            actions=actions,
            clock=clock,
            dry_run=dry_run,
        )
        self._decisions = Decisions(self)
        self._replies = Replies(self)
        self._collecting = Collecting(self)

    # -- people's decisions (decisions.py) ---------------------------------------------------------

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
        return await self._decisions.decide(item_id, action, user, reason, category=category, ip=ip)

    async def undo(
        self, decision_id: int, user: Actor, reason: str = "", *, ip: str = ""
    ) -> InboxDecisionRow:
        return await self._decisions.undo(decision_id, user, reason, ip=ip)

    async def appeal(
        self, item_id: int, note: str, user: Actor, *, ip: str = ""
    ) -> InboxDecisionRow:
        return await self._decisions.appeal(item_id, note, user, ip=ip)

    async def resolve_appeal(
        self, item_id: int, upheld: bool, user: Actor, reason: str = "", *, ip: str = ""
    ) -> InboxDecisionRow:
        return await self._decisions.resolve_appeal(item_id, upheld, user, reason, ip=ip)

    def assign(
        self, item_id: int, assignee: User | None, by: Actor, *, ip: str = ""
    ) -> InboxDecisionRow:
        return self._decisions.assign(item_id, assignee, by, ip=ip)

    # -- replies (replies.py) ----------------------------------------------------------------------

    def draft_reply(
        self,
        item_id: int,
        user: User | None,
        *,
        text: str | None = None,
        template: str | None = None,
        ip: str = "",
    ) -> InboxReplyRow:
        return self._replies.draft_reply(item_id, user, text=text, template=template, ip=ip)

    def check_reply(self, text: str) -> ReplyCheck:
        return self._replies.check_reply(text)

    def approve_reply(self, reply_id: int, user: User | None, *, ip: str = "") -> InboxReplyRow:
        return self._replies.approve_reply(reply_id, user, ip=ip)

    def reject_reply(self, reply_id: int, user: User | None, *, ip: str = "") -> InboxReplyRow:
        return self._replies.reject_reply(reply_id, user, ip=ip)

    async def send_reply(self, reply_id: int, user: User | None, *, ip: str = "") -> InboxReplyRow:
        return await self._replies.send_reply(reply_id, user, ip=ip)

    # -- collecting (collecting.py) ----------------------------------------------------------------

    @property
    def sources(self) -> dict[str, str]:
        """Each collector source's last status, or the setting a skipped source lacks."""
        return self._collecting.sources

    async def run(
        self,
        event_id: int,
        collect: Callable[[], Awaitable[Sequence[InboxItem]]],
        *,
        every: float = 5.0,
        rounds: int | None = None,
        on_round: Callable[[Ingested], None] | None = None,
    ) -> Ingested:
        return await self._collecting.run(
            event_id, collect, every=every, rounds=rounds, on_round=on_round
        )

    async def run_event(
        self,
        event_id: int,
        stop: asyncio.Event,
        *,
        on_round: Callable[[Ingested], None] | None = None,
        collectors: Sequence[InboxTap] | None = None,
        wait: float = 1.0,
        client: httpx.AsyncClient | None = None,
    ) -> Ingested:
        return await self._collecting.run_event(
            event_id, stop, on_round=on_round, collectors=collectors, wait=wait, client=client
        )
