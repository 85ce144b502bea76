"""The server side of the disruption watch: measurements in, incidents out.

Every way a measurement reaches the server -- an agent's upload, the server's own prober
(`jalsa watch run`), an OONI import -- goes through `WatchService.submit`: store it (by its id,
so a repeated upload stores nothing twice), feed only the *new* ones to the detector, store the
incident changes, then announce them (the in-app bus and the webhooks). The detector lives in
memory; on start it replays the last 24 hours from the store, so a restart changes nothing.

Database work and the detector run in a worker thread under one lock (decision 8: nothing
blocks the event loop), so two uploads at once are stored and detected one after the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jalsa.clock import Clock, SystemClock
from jalsa.config import Settings
from jalsa.live.bus import EventBus
from jalsa.store import Store
from jalsa.store.models import WatchMeasurement
from jalsa.timeutil import utc_now
from jalsa.watch.alerts import Alerts, WebhookSink
from jalsa.watch.detector import Detector
from jalsa.watch.incidents import Incident, IncidentChange
from jalsa.watch.record import Measurement, Observations, Target
from jalsa.watch.store import measurements_since, save_incident, save_measurements

if TYPE_CHECKING:
    from jalsa.watch.probe import ProbeConfig

log = logging.getLogger(__name__)

REPLAY = timedelta(hours=24)  # what the detector is rebuilt from after a restart
TICK_SECONDS = 5.0  # how often the store is followed and silent vantages are looked for
# Rows are re-read this far behind the newest one seen: a transaction stamps received_at
# before it commits, so a row can become visible after a later-stamped one.
FOLLOW_MARGIN = timedelta(minutes=2)
CONTROL_CACHE_SECONDS = 30.0  # one control observation serves every agent for this long
CONTROL_MAX_TARGETS = 256  # distinct targets probed at once per CONTROL_CACHE_SECONDS, all callers
MAX_CONTROL_TARGETS = 32  # targets per control call: each one costs the server a probe
CONTROL_PORTS = frozenset({80, 443, 8080, 8443})  # unless private addresses are allowed
RECENT = 200  # incident changes kept in memory for the web app (newest first)

# Run with the open transaction of a batch (the audit entry of the upload).
InTransaction = Callable[[Session, "Submitted"], None]


@dataclass
class Submitted:
    """What one batch did: how many measurements were new, how many were already stored, and
    the incident changes the new ones caused."""

    stored: int
    duplicate: int
    changes: list[IncidentChange] = field(default_factory=list)


def incident_message(change: IncidentChange) -> dict[str, Any]:
    """An incident change as the in-app bus carries it: the change's kind (opened, updated,
    closed) and the whole incident, in JSON types."""
    return {"change": change.kind, **change.incident.model_dump(mode="json")}


def save_incidents(session: Session, incidents: Iterable[Incident]) -> None:
    """Upsert incidents (the detector's id is deterministic, so saving the same incident
    again after a replay updates its one row)."""
    for incident in incidents:
        save_incident(
            session,
            id=incident.id,
            status=incident.status,
            started_at=incident.started_at,
            ended_at=incident.ended_at,
            platforms=list(incident.platforms),
            method=incident.method,
            confidence=incident.confidence,
            summary=incident.summary,
            record=incident.model_dump(mode="json"),
        )


class WatchService:
    """One per server process (the web app's `app.state.watch`, or `jalsa watch run`)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        detector: Detector | None = None,
        probe_config: ProbeConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        # Whose time decides which vantages went silent (the demo's is compressed).
        self.clock = clock or SystemClock()
        self.detector = detector or Detector()
        self._probe_config = probe_config
        # In-app display: an "incident" message per change (SSE-ready), and the recent ones.
        self.bus = EventBus(history=RECENT)
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.alerts = Alerts(webhooks=_webhooks(settings))
        self._lock = threading.Lock()
        self._replayed = False
        # Following the store: the newest received_at seen, and the ids already fed (within
        # FOLLOW_MARGIN of it) so none is fed twice.
        self._followed = utc_now()
        self._fed: dict[str, datetime] = {}
        # Webhook deliveries, one change after another in a background task.
        self._outgoing: asyncio.Queue[IncidentChange] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._control: dict[tuple[str, int, str], tuple[float, asyncio.Task[Observations]]] = {}

    @property
    def probe_config(self) -> ProbeConfig:
        """How the control helper probes (the probe defaults unless given)."""
        if self._probe_config is None:
            from jalsa.watch.probe import ProbeConfig

            self._probe_config = ProbeConfig()
        return self._probe_config

    @probe_config.setter
    def probe_config(self, value: ProbeConfig) -> None:
        self._probe_config = value

    # -- life ------------------------------------------------------------------------------

    async def start(self, tick_every: float = TICK_SECONDS) -> None:
        """Rebuild the detector from the store, then close incidents of silent vantages
        every `tick_every` seconds."""
        await asyncio.to_thread(self.replay)
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick_loop(tick_every), name="watch-tick")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        if self._sender is not None and self._outgoing is not None:
            # Alerts still being sent get a moment; the incidents are stored either way.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outgoing.join(), 5)
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
            self._sender = self._outgoing = None
        for _, task in self._control.values():
            task.cancel()
        self._control.clear()

    def replay(self, now: datetime | None = None) -> int:
        """Feed the detector the last 24 h of stored measurements, once; returns how many.
        The incidents it rebuilds are saved again (same ids: nothing new) but not announced."""
        with self._lock:
            return self._replay_locked(now)

    def _replay_locked(self, now: datetime | None) -> int:
        if self._replayed:
            return 0
        since = (now or self.clock.now()) - REPLAY
        with self.store.session() as session:
            measurements = measurements_since(session, since)
        self._followed = utc_now()
        self.detector.replay(measurements)
        self.detector.tick(now or self.clock.now())  # what was closed for silence stays closed
        with self.store.session() as session:
            save_incidents(session, self.detector.incidents())
        self._replayed = True
        log.info("watch: replayed %d measurements of the last 24 h", len(measurements))
        return len(measurements)

    # -- measurements in ------------------------------------------------------------------

    def store_batch(
        self,
        measurements: Sequence[Measurement],
        *,
        submitted_by: int | None = None,
        in_transaction: InTransaction | None = None,
    ) -> Submitted:
        """Store a batch and detect on its new measurements (blocking: call it in a thread).
        The measurements are committed before the detector sees them, so a crash in between
        loses nothing: the replay after the restart feeds them."""
        with self._lock:
            self._replay_locked(None)
            with self.store.session() as session:
                new = save_measurements(session, measurements, submitted_by=submitted_by)
                result = Submitted(stored=len(new), duplicate=len(measurements) - len(new))
                if in_transaction is not None:
                    in_transaction(session, result)
            if new:
                self._fed.update(dict.fromkeys((m.id for m in new), utc_now()))
                result.changes = list(self.detector.observe(new) or [])
            if result.changes:
                with self.store.session() as session:
                    save_incidents(session, [c.incident for c in result.changes])
            return result

    async def submit(
        self,
        measurements: Sequence[Measurement],
        *,
        submitted_by: int | None = None,
        in_transaction: InTransaction | None = None,
    ) -> Submitted:
        """Store, detect, announce. Returns once the batch and its incidents are committed."""
        result = await asyncio.to_thread(
            self.store_batch,
            measurements,
            submitted_by=submitted_by,
            in_transaction=in_transaction,
        )
        self.announce(result.changes)
        return result

    def tick_now(self, now: datetime | None = None) -> list[IncidentChange]:
        """Feed the detector what other processes stored, then let it close incidents whose
        vantages went silent (blocking)."""
        with self._lock:
            self._replay_locked(None)
            changes = self._follow_locked()
            changes += list(self.detector.tick(now or self.clock.now()) or [])
            if changes:
                with self.store.session() as session:
                    save_incidents(session, [c.incident for c in changes])
            return changes

    def _follow_locked(self) -> list[IncidentChange]:
        """The measurements that other processes stored since the last look (`jalsa watch
        run` or an OONI import beside `jalsa serve`), fed to this detector, so that one
        server's incidents and alerts cover the whole store."""
        with self.store.session() as session:
            rows = session.execute(
                select(WatchMeasurement.id, WatchMeasurement.received_at, WatchMeasurement.record)
                .where(WatchMeasurement.received_at > self._followed - FOLLOW_MARGIN)
                .order_by(WatchMeasurement.round_at, WatchMeasurement.id)
            ).all()
        fresh = [r for r in rows if r.id not in self._fed]
        self._followed = max([self._followed, *(r.received_at for r in rows)])
        self._fed.update({r.id: r.received_at for r in fresh})
        horizon = self._followed - 2 * FOLLOW_MARGIN
        self._fed = {k: at for k, at in self._fed.items() if at >= horizon}
        if not fresh:
            return []
        return list(
            self.detector.observe(Measurement.model_validate(r.record) for r in fresh) or []
        )

    async def tick(self, now: datetime | None = None) -> list[IncidentChange]:
        changes = await asyncio.to_thread(self.tick_now, now)
        self.announce(changes)
        return changes

    async def _tick_loop(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.tick()
            except Exception:  # the database may be restarting: the next tick tries again
                log.exception("watch: the detector's tick failed")

    # -- incidents out ----------------------------------------------------------------------

    def announce(self, changes: Sequence[IncidentChange]) -> None:
        """Publish each change on the in-app bus (topic "incident") and queue it for the
        webhooks, which a background task sends in order (a slow or failing receiver, retried
        with backoff, must not hold up an upload). Call on the event loop: the bus is not
        thread-safe."""
        for change in changes:
            message = incident_message(change)
            self.recent.appendleft(message)
            self.bus.publish("incident", message)
        if not changes or not self.alerts.webhooks:
            return
        if self._outgoing is None or self._sender is None:
            self._outgoing = asyncio.Queue()
            self._sender = asyncio.create_task(self._send(self._outgoing), name="watch-alerts")
        for change in changes:
            self._outgoing.put_nowait(change)

    async def _send(self, queue: asyncio.Queue[IncidentChange]) -> None:
        while True:
            change = await queue.get()
            try:
                await self.alerts.publish([change])  # logs its failures, never raises
            finally:
                queue.task_done()

    # -- the control helper ---------------------------------------------------------------

    async def control(self, targets: Sequence[Target]) -> list[ControlResult]:
        """Observe the targets from this server's network, each at most once per
        CONTROL_CACHE_SECONDS whoever asks (agents in the same round share one probe)."""
        return list(await asyncio.gather(*(self._control_one(t) for t in targets)))

    async def _control_one(self, target: Target) -> ControlResult:
        refused = await self._refuse(target)
        if refused is not None:
            return ControlResult(target=target, error=refused)
        key = (target.host.lower(), target.port, target.path)
        now = time.monotonic()
        self._control = {
            k: v for k, v in self._control.items() if now - v[0] < CONTROL_CACHE_SECONDS
        }
        cached = key in self._control
        if not cached and len(self._control) >= CONTROL_MAX_TARGETS:
            return ControlResult(
                target=target,
                error=f"the control helper is probing {CONTROL_MAX_TARGETS} targets already; "
                "ask again in a minute",
            )
        if not cached:
            from jalsa.watch.probe import observe

            task = asyncio.create_task(observe(target, self.probe_config))
            self._control[key] = (now, task)
        task = self._control[key][1]
        try:
            observed = await asyncio.shield(task)
        except Exception as exc:  # observe reports failures as observations; this is a bug
            log.exception("watch: control observation of %s failed", target.host)
            return ControlResult(target=target, error=f"the control probe failed: {exc}")
        return ControlResult(target=target, observations=observed, cached=cached)

    async def _refuse(self, target: Target) -> str | None:
        """Why the server will not probe this target, or None. Without
        watch_control_private, names that resolve to private, loopback or reserved addresses
        and unusual ports are refused: the helper must not become a way into the server's own
        network for whoever holds a token."""
        if self.settings.watch_control_private:
            return None
        if target.port not in CONTROL_PORTS:
            return f"port {target.port} is not probed by the server (only {sorted(CONTROL_PORTS)})"
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM),
                self.probe_config.dns_timeout,
            )
        except (OSError, TimeoutError, UnicodeError) as exc:
            return f"the server cannot resolve {target.host} ({exc})"
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if not address.is_global:
                return f"{target.host} resolves to a non-public address ({address})"
        return None


@dataclass
class ControlResult:
    target: Target
    observations: Observations | None = None
    error: str | None = None
    cached: bool = False


# -- reading ---------------------------------------------------------------------------------


def list_measurements(
    session: Session,
    *,
    vantage: str | None = None,
    platform: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[Measurement]:
    """Stored measurements, newest first (by start time), filtered."""
    query = select(WatchMeasurement.record).order_by(
        WatchMeasurement.started_at.desc(), WatchMeasurement.id.desc()
    )
    if vantage is not None:
        query = query.where(WatchMeasurement.vantage == vantage)
    if platform is not None:
        query = query.where(WatchMeasurement.platform == platform)
    if target is not None:
        query = query.where(WatchMeasurement.target == target)
    if since is not None:
        query = query.where(WatchMeasurement.started_at >= since)
    if until is not None:
        query = query.where(WatchMeasurement.started_at < until)
    return [Measurement.model_validate(r) for r in session.scalars(query.limit(limit))]


# -- the alerts ------------------------


def _webhooks(settings: Settings) -> list[WebhookSink]:
    """One sink for the configured URLs; bodies are signed with the secret (an empty one
    when none is set: receivers then cannot tell who sent it)."""
    if not settings.watch_webhook_urls:
        return []
    secret = settings.watch_webhook_secret
    if secret is None:
        log.warning("watch: JALSA_WATCH_WEBHOOK_SECRET is not set; webhooks are not signed")
    return [
        WebhookSink(list(settings.watch_webhook_urls), secret.get_secret_value() if secret else "")
    ]
