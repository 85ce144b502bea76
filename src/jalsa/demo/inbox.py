"""The demo's inbox: the real InboxService collects the simulator's comments and live chat on
the demo's compressed clock and moderates them for real (not a dry run) through the simulated
platform APIs, so what the policy says to hide is hidden there, and the summary says how long
that took.

It moderates with the team's trained model when the data directory has one (`jalsa inbox
train`), else with the model that ships with jalsa, and says which. Only when neither loads (a
damaged install) does it fall back to the policy's rules alone (personal data, spam, threats),
and say so.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from jalsa.clock import Clock
from jalsa.config import Settings
from jalsa.errors import UserError
from jalsa.inbox.pipeline import Ingested
from jalsa.inbox.service import InboxService
from jalsa.store.models import InboxDecisionRow, InboxItemRow
from jalsa.store.repo import get_event

log = logging.getLogger(__name__)


@dataclass
class DemoInbox:
    """What the demo's inbox did."""

    items: int = 0
    decisions: Counter[str] = field(default_factory=Counter)  # automatic decisions
    platform: Counter[str] = field(default_factory=Counter)  # platform state of the items
    delays: list[float] = field(default_factory=list)  # real seconds, arrival to hidden
    rules_only: bool = False
    model_version: str | None = None
    model: str | None = None  # the model in words: shipped or trained, and its version

    def lines(self) -> list[str]:
        """The summary, in words."""
        decided = ", ".join(f"{n:,} {a}" for a, n in sorted(self.decisions.items()))
        shown = ", ".join(f"{n:,} {s}" for s, n in sorted(self.platform.items()))
        how = (
            "the policy's rules alone (no model could be loaded)"
            if self.rules_only
            else self.model or f"model {self.model_version}"
        )
        out = [
            f"Inbox: {self.items:,} comments and chat messages moderated with {how}: "
            f"{decided or 'none'}; on the platforms: {shown or 'nothing done'}."
        ]
        if self.delays:
            out.append(
                f"Hidden through the simulated platform APIs {len(self.delays):,} times, "
                f"arrival to hidden: median {statistics.median(self.delays):.2f} s, "
                f"max {max(self.delays):.2f} s (real time)."
            )
        return out


def load_demo_model(settings: Settings) -> Any:
    """The team's adopted model, else the shipped one; None (said in the log) when neither
    loads. Called before the demo's compressed clock starts: loading takes seconds of real time,
    which are minutes of the rally."""
    from jalsa.inbox.model_files import load_model

    try:
        return load_model(settings.inbox_model_file, data_dir=settings.data_dir)
    except UserError as exc:
        log.info("demo inbox without a model: %s", exc)
        return None


def prepare_service(service: InboxService, model: Any = None) -> None:
    """Act for real against the simulator, with `model` (`load_demo_model`), or with the
    policy's rules alone when there is none. The collectors' raw logs go to the demo's own
    folder (replaced on every run)."""
    service.dry_run = False
    if model is None:
        service.rules_only = True
    else:
        service.use_model(model)
    folder = service.settings.data_dir / "demo"
    shutil.rmtree(folder / "inbox", ignore_errors=True)
    service.settings = service.settings.model_copy(update={"data_dir": folder})


async def run_demo_inbox(
    service: InboxService, clock: Clock, until: datetime, stop: asyncio.Event, model: Any = None
) -> DemoInbox:
    """Moderate the demo event's inbox with `model` until `stop` is set or the demo's clock
    reaches `until`; then the summary."""
    await asyncio.to_thread(prepare_service, service, model)
    with service.store.session() as session:
        event_id = get_event(session, "demo").id

    async def end() -> None:
        while clock.now() < until and not stop.is_set():
            await asyncio.sleep(0.5)
        stop.set()

    ending = asyncio.create_task(end())
    try:
        total = await service.run_event(event_id, stop)
    finally:
        ending.cancel()
        await service.close()
    return await asyncio.to_thread(summarize, service, event_id, total, clock.speed)


def summarize(service: InboxService, event_id: int, total: Ingested, speed: float) -> DemoInbox:
    """Counts from the store; delays from each hidden item's arrival (`collected_at`, when
    its collector handed it over) to the platform's answer (`actioned_at`), both on the
    demo's clock, in real seconds."""
    result = DemoInbox(rules_only=service.rules_only, items=total.stored)
    describe = getattr(service.scorer, "describe", None)
    result.model = describe() if callable(describe) else None
    with service.store.session() as session:
        rows = session.execute(
            select(
                InboxItemRow.platform_state, InboxItemRow.collected_at, InboxItemRow.actioned_at
            ).where(InboxItemRow.event_id == event_id)
        ).all()
        result.decisions.update(
            session.scalars(
                select(InboxDecisionRow.action)
                .join(InboxItemRow, InboxItemRow.id == InboxDecisionRow.item_id)
                .where(InboxItemRow.event_id == event_id, InboxDecisionRow.actor == "auto")
            )
        )
        result.model_version = session.scalar(
            select(InboxItemRow.model_version)
            .where(InboxItemRow.event_id == event_id, InboxItemRow.model_version.is_not(None))
            .limit(1)
        )
    result.items = len(rows)
    result.platform.update(state for state, _, _ in rows)
    result.delays = sorted(
        (done - arrived).total_seconds() / speed
        for state, arrived, done in rows
        if state == "hidden" and done is not None
    )
    return result
