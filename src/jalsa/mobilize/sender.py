"""The outbox sender: takes due rows from the queue within the throttles, hands them to the
gateway, writes what came of them, and keeps campaigns moving (start at their time, top up the
queue from the segment, finish).

One sender runs at a time, holding a lease in the store that it renews. A sender that finds the
lease held by a dead process on its own host (a `kill -9`) takes it over at once; otherwise it
waits for the lease to expire. On taking over it turns the dead sender's in-flight rows into
`unknown` (see outbox.py).

Throttles: the gateway's rate in segments per second (a token bucket), and per sender (a SIM or
a sender name) at most N segments in a sliding period, counted from the store so a restart does
not reset them. A campaign with a spread sends evenly over its window instead of all at once.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.mobilize import campaigns as campaign_ops
from jalsa.mobilize.gateways.base import Gateway, Handlers, Inbound, Receipt
from jalsa.mobilize.inbound import ReplyLimits, record_inbound
from jalsa.mobilize.outbox import (
    WAITING,
    consented_among,
    fill_gateway_id,
    in_flight_to_unknown,
    move,
    opted_out_among,
    record_receipt,
    record_results,
    to_outgoing,
    verdict,
)
from jalsa.store import Store
from jalsa.store.models import Campaign, SenderLease, SmsMessage
from jalsa.timeutil import utc_now

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=30)
RENEW_EVERY = 5.0
IDLE_SLEEP = 0.5
TOP_UP_BELOW = 2 * campaign_ops.CHUNK  # queued rows of a campaign before the next chunk is made


@dataclass(frozen=True)
class SenderLimit:
    """A sender name or SIM and how much it may send: `JALSA`, `+923001234567:200/15m`."""

    name: str
    limit: int | None = None
    period: timedelta = timedelta(minutes=15)

    @classmethod
    def parse(cls, text: str) -> SenderLimit:
        match = re.fullmatch(r"\s*([^:\s]+)\s*(?::\s*(\d+)\s*/\s*(\d+)\s*([smh]))?\s*", text)
        if not match:
            raise UserError(
                f"cannot read the sender {text!r}; write NAME or NAME:200/15m (at most 200 "
                "segments in 15 minutes)"
            )
        name, limit, amount, unit = match.groups()
        if limit is None:
            return cls(name)
        seconds = int(amount) * {"s": 1, "m": 60, "h": 3600}[unit]
        if seconds <= 0:
            raise UserError(f"the period in {text!r} must be longer than zero")
        return cls(name, int(limit), timedelta(seconds=seconds))


class TokenBucket:
    """`rate` units a second, bursts up to `burst`."""

    def __init__(self, rate: float, burst: float, now: Callable[[], float] = time.monotonic):
        if rate <= 0:
            raise UserError("the gateway's rate must be more than zero messages a second")
        self.rate, self.burst, self._now = rate, burst, now
        self.tokens, self.at = burst, now()

    def available(self) -> int:
        current = self._now()
        self.tokens = min(self.burst, self.tokens + (current - self.at) * self.rate)
        self.at = current
        return int(self.tokens)

    def take(self, amount: int) -> None:
        self.tokens -= amount

    def wait_for(self, amount: int) -> float:
        return max(0.0, (amount - self.tokens) / self.rate)


@dataclass(frozen=True)
class SenderConfig:
    senders: tuple[SenderLimit, ...] = (SenderLimit("JALSA"),)
    rate: float = 50.0  # segments a second, for the gateway
    grace: timedelta = timedelta(minutes=10)
    default_timezone: str = "Asia/Karachi"
    batch: int = 50
    replies: ReplyLimits = field(default_factory=ReplyLimits)


# -- the lease -----------------------------------------------------------------------------


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_here(holder: str) -> bool:
    """True when `holder` is a process of this host that no longer exists."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire_lease(session: Session, me: str, now: datetime) -> bool:
    """Take or renew the lease. True when it was taken over from another sender (whose
    in-flight rows must then be settled)."""
    lease = session.get(SenderLease, 1, with_for_update=True)
    if lease is None:
        session.add(SenderLease(id=1, holder=me, expires_at=now + LEASE))
        session.flush()
        return True
    if lease.holder != me and lease.expires_at > now and not _dead_here(lease.holder):
        raise LeaseHeld(lease.holder, lease.expires_at)
    taken_over = lease.holder != me
    lease.holder, lease.expires_at = me, now + LEASE
    return taken_over


def release_lease(session: Session, me: str) -> None:
    lease = session.get(SenderLease, 1)
    if lease is not None and lease.holder == me:
        session.delete(lease)


class LeaseHeld(UserError):
    def __init__(self, holder: str, until: datetime) -> None:
        super().__init__(
            f"another sender ({holder}) is sending; it holds the outbox until "
            f"{until:%H:%M:%S} UTC unless it renews. Campaigns you schedule are sent by it."
        )
        self.holder = holder


# -- taking rows from the queue ------------------------------------------------------------


def allowances(session: Session, senders: tuple[SenderLimit, ...], now: datetime) -> dict[str, int]:
    """Segments each sender may still send now under its limit."""
    out: dict[str, int] = {}
    for sender in senders:
        if sender.limit is None:
            out[sender.name] = 1_000_000
            continue
        used = session.scalar(
            select(func.coalesce(func.sum(SmsMessage.segments), 0)).where(
                SmsMessage.sender == sender.name, SmsMessage.submitted_at > now - sender.period
            )
        )
        out[sender.name] = max(0, sender.limit - int(used or 0))
    return out


def spread_quota(session: Session, campaign: Campaign, now: datetime) -> int | None:
    """How many more rows a spread campaign may hand over now; None: no spread."""
    if not campaign.spread_minutes or not campaign.total:
        return None
    elapsed = (now - campaign.send_at).total_seconds() / (campaign.spread_minutes * 60)
    allowed = math.ceil(campaign.total * min(1.0, max(0.0, elapsed)))
    handed = session.scalar(
        select(func.count()).where(
            SmsMessage.campaign_id == campaign.id,
            SmsMessage.status.not_in((*WAITING, "skipped")),
        )
    )
    return max(0, allowed - int(handed or 0))


def claim(
    session: Session,
    now: datetime,
    *,
    gateway: str,
    senders: tuple[SenderLimit, ...],
    budget: int,
    limit: int,
) -> list[SmsMessage]:
    """Take up to `limit` due rows (at most `budget` segments) from the queue and mark them
    `sending`; skip and defer the ones that may not be sent now."""
    due = list(
        session.scalars(
            select(SmsMessage)
            .outerjoin(Campaign, SmsMessage.campaign_id == Campaign.id)
            .where(
                SmsMessage.status.in_(WAITING),
                or_(SmsMessage.not_before.is_(None), SmsMessage.not_before <= now),
                or_(SmsMessage.kind == "reply", Campaign.status == "sending"),
            )
            .order_by(SmsMessage.kind.desc(), SmsMessage.id)  # replies first
            .limit(limit * 4)
        )
    )
    if not due:
        return []
    campaigns = {
        c.id: c
        for c in session.scalars(
            select(Campaign).where(
                Campaign.id.in_({m.campaign_id for m in due if m.campaign_id is not None})
            )
        )
    }
    opted_out = opted_out_among(session, (m.phone for m in due))
    consented: set[int] = set()
    for purpose in {c.purpose for c in campaigns.values()}:
        ids = (
            m.supporter_id
            for m in due
            if m.supporter_id is not None and campaigns[m.campaign_id or 0].purpose == purpose
        )
        consented |= consented_among(session, ids, purpose)
    quotas = {c.id: spread_quota(session, c, now) for c in campaigns.values()}
    left = allowances(session, senders, now)
    claimed: list[SmsMessage] = []
    for message in due:
        campaign = campaigns.get(message.campaign_id or 0)
        decision = verdict(
            message,
            campaign,
            now,
            opted_out=message.phone in opted_out,
            consented=message.supporter_id in consented,
        )
        if decision.action == "skip":
            move(session, message, "skipped", now, only_from=WAITING, reason=decision.reason)
            continue
        if decision.action == "defer":
            move(
                session,
                message,
                "deferred",
                now,
                only_from=WAITING,
                reason=decision.reason,
                not_before=decision.until,
            )
            continue
        quota = quotas.get(message.campaign_id or 0)
        if quota is not None and quota <= 0:
            continue
        sender = max(left, key=lambda name: left[name])
        if left[sender] < message.segments or budget < message.segments:
            break
        taken = move(
            session,
            message,
            "sending",
            now,
            only_from=WAITING,
            reason="",
            attempts=message.attempts + 1,
            gateway=gateway,
            sender=sender,
            submitted_at=now,
        )
        if not taken:  # cancelled or changed since it was read
            continue
        left[sender] -= message.segments
        budget -= message.segments
        if quota is not None:
            quotas[message.campaign_id or 0] = quota - 1
        claimed.append(message)
        if len(claimed) >= limit:
            break
    return claimed


# -- the loop ------------------------------------------------------------------------------


class Sender:
    """Runs the outbox against one gateway until told to stop."""

    def __init__(
        self,
        store: Store,
        gateway: Gateway,
        config: SenderConfig,
        *,
        now: Callable[[], datetime] = utc_now,
        bucket: TokenBucket | None = None,
    ) -> None:
        self.store, self.gateway, self.config, self.now = store, gateway, config, now
        self.bucket = bucket or TokenBucket(config.rate, max(1.0, config.rate))  # a second's worth
        self.me = holder_id()
        self.stop_event = threading.Event()
        self._renewed = 0.0
        self.sent = 0

    # Receipts and inbound messages can arrive on the gateway's reader thread.
    def on_receipt(self, receipt: Receipt) -> None:
        with self.store.session() as session:
            record_receipt(session, self.gateway.name, receipt, self.now())

    def on_inbound(self, message: Inbound) -> None:
        try:
            with self.store.session() as session:
                record_inbound(
                    session, self.gateway.name, message, self.now(), limits=self.config.replies
                )
        except UserError as exc:  # a sender that is not a number: nothing to act on
            log.warning("%s inbound message dropped: %s", self.gateway.name, exc)

    def stop(self) -> None:
        self.stop_event.set()

    def run(self, until: Callable[[], bool] = lambda: False) -> None:
        """Send until `until()` is true or `stop()` is called."""
        self._renew(first=True)
        self.gateway.open(Handlers(on_receipt=self.on_receipt, on_inbound=self.on_inbound))
        try:
            while not self.stop_event.is_set() and not until():
                self._renew()
                worked = self.step()
                if not worked:
                    self.stop_event.wait(IDLE_SLEEP)
        finally:
            self.gateway.close()
            with self.store.session() as session:
                release_lease(session, self.me)

    def _renew(self, *, first: bool = False) -> None:
        if not first and time.monotonic() - self._renewed < RENEW_EVERY:
            return
        now = self.now()
        with self.store.session() as session:
            taken_over = acquire_lease(session, self.me, now)
            if taken_over:
                in_flight_to_unknown(session, now, self.config.grace)
        self._renewed = time.monotonic()

    def step(self) -> bool:
        """One round: campaigns, unknowns, one batch. True if a batch was sent."""
        now = self.now()
        with self.store.session() as session:
            self._campaigns(session, now)
        self._settle_unknown(now)
        budget = self.bucket.available()
        if budget < 1:
            self.stop_event.wait(self.bucket.wait_for(1))
            return True
        with self.store.session() as session:
            batch = claim(
                session,
                now,
                gateway=self.gateway.name,
                senders=self.config.senders,
                budget=budget,
                limit=self.config.batch,
            )
            outgoing = [to_outgoing(m) for m in batch]
        if not outgoing:
            return False
        self.bucket.take(sum(m.segments for m in batch))
        results = self.gateway.submit(outgoing)
        with self.store.session() as session:
            record_results(session, results, self.now(), self.config.grace)
        self.sent += len(outgoing)
        return True

    def _campaigns(self, session: Session, now: datetime) -> None:
        """Start due campaigns, top up and finish sending ones. A campaign that cannot be sent
        (a segment, text or setting no longer valid) fails with its reason; the others go on."""
        campaign_ops.start_due(session, now)
        sending = list(session.scalars(select(Campaign).where(Campaign.status == "sending")))
        for campaign in sending:
            try:  # no savepoint: what fails here fails before anything is written
                campaign_ops.check_sendable(campaign)
                self._keep_going(session, campaign, now)
            except (UserError, ValueError, LookupError) as exc:
                log.warning("SMS campaign %s failed: %s", campaign.slug, exc)
                campaign_ops.fail_campaign(session, campaign, str(exc), now)

    def _keep_going(self, session: Session, campaign: Campaign, now: datetime) -> None:
        waiting = session.scalar(
            select(func.count()).where(
                SmsMessage.campaign_id == campaign.id, SmsMessage.status == "queued"
            )
        )
        if (waiting or 0) < TOP_UP_BELOW:
            campaign_ops.materialize(session, campaign, now, self.config.default_timezone)
        campaign_ops.finish_if_done(session, campaign, now)

    def _settle_unknown(self, now: datetime) -> None:
        """Unknown rows past their grace: the gateway has them (lookup) or they go again."""
        with self.store.session() as session:
            rows = list(
                session.scalars(
                    select(SmsMessage)
                    .where(
                        SmsMessage.status == "unknown",
                        SmsMessage.gateway == self.gateway.name,
                        SmsMessage.not_before <= now,
                    )
                    .limit(100)
                )
            )
            pending = [(m.id, to_outgoing(m), m.submitted_at or now) for m in rows]
        if not pending:
            return
        found = {
            mid: self.gateway.lookup(out, since - timedelta(minutes=1))
            for mid, out, since in pending
        }
        with self.store.session() as session:
            settled = select(SmsMessage).where(SmsMessage.id.in_(list(found)))
            for message in session.scalars(settled):
                gateway_id = found[message.id]
                if gateway_id:
                    fill_gateway_id(session, message, gateway_id)
                    move(
                        session,
                        message,
                        "submitted",
                        now,
                        only_from=("unknown",),
                        reason="found at the gateway",
                    )
                else:
                    move(
                        session,
                        message,
                        "queued",
                        now,
                        only_from=("unknown",),
                        reason="no receipt within the grace period: sending again",
                        not_before=None,
                    )
