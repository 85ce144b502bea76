"""Live trend alerts: a hashtag spike announced in the app and to signed webhooks soon after
the end of its minute, with the evidence `jalsa trends` shows.

The rule is the batch one, not a copy of it: `analyze` runs the measures TAG_SPIKES and
SPIKE_EVIDENCE (measures.py) over the posts of the last minutes only. A minute is judged once
it is closed: `grace` seconds after its end (posts reach the dataset a few seconds late). Its
baseline needs the `window` minutes before it, so the check reads the posts created since
`window + LOOKBACK` minutes before the last closed minute, which Parquet's row-group statistics
let DuckDB skip to: the cost follows the recent posts, not the event's.

Each spike is announced once. An alert is written to `<event>/trend_alerts.jsonl` (appended
and flushed to disk) before it is delivered, and its delivery is written after; a process
stopped in between delivers it again on the next check, with the same body, so a webhook
receiver sees the same `X-Jalsa-Delivery` id and can drop the repeat. Only spikes that start
in the last LOOKBACK closed minutes are news: a server started late in the event does not
announce the evening's history.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel, Field

from jalsa.config import Settings
from jalsa.conversation import measures as m
from jalsa.conversation.analysis import analyze, minute_time
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.engines import DuckDBEngine
from jalsa.conversation.panel import (
    SpikeAccount,
    SpikePost,
    evidence_accounts,
    evidence_posts,
)
from jalsa.store import Store
from jalsa.store.repo import events_between
from jalsa.timeutil import utc_now
from jalsa.webhooks import Delivery, WebhookSink

log = logging.getLogger(__name__)

ALERTS_FILE = "trend_alerts.jsonl"
WEBHOOK_EVENT = "trend.spike"
GRACE = 5.0  # seconds after a minute's end before it is judged
LOOKBACK = 5  # minutes: how far back a spike is still news on the first check
MAX_KEPT = 10_000  # alerts kept in memory per event (a file longer than this is read in part)


class TrendAlert(BaseModel):
    """One spike of one hashtag, as announced."""

    event: str
    tag: str
    minute: int = Field(description="The spike's first minute (whole minutes since 1970, UTC).")
    at: datetime = Field(description="Start (UTC) of the spike's first minute.")
    posts: int = Field(description="Posts with the tag in that minute.")
    expected: float = Field(description="What the tag's share of the window predicted.")
    score: float = Field(description="(posts - expected) / sqrt(expected + 1).")
    threshold: float
    window_minutes: int
    min_count: int
    top_posts: list[SpikePost]
    top_accounts: list[SpikeAccount]
    detected_at: datetime
    delay_seconds: float = Field(description="From the end of the minute to detection.")
    definition: str

    @property
    def key(self) -> str:
        return f"{self.tag}@{self.minute}"

    def body(self) -> bytes:
        """The webhook body: the same bytes every time the alert is sent."""
        return orjson.dumps(
            {"kind": WEBHOOK_EVENT, "alert": self.model_dump(mode="json")},
            option=orjson.OPT_SORT_KEYS,
        )


InAppSink = Callable[[TrendAlert], None]


@dataclass
class TrendAlerter:
    """Checks one event's posts for new spikes and announces them (see the module's
    docstring). `check` is synchronous (DuckDB): run it in a worker thread."""

    dataset: PostDataset
    event: str
    grace: float = GRACE
    now: Callable[[], datetime] = utc_now
    in_app: list[InAppSink] = field(default_factory=list)
    webhooks: list[WebhookSink] = field(default_factory=list)
    _records: dict[str, dict[str, Any]] | None = field(default=None, repr=False)
    _judged: int | None = field(default=None, repr=False)  # the last closed minute looked at

    # -- the record of what was announced ----------------------------------------------------

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._records is None:
            records: dict[str, dict[str, Any]] = {}
            try:
                lines = (self.dataset.root / ALERTS_FILE).read_text("utf-8").splitlines()
            except FileNotFoundError:
                lines = []
            for line in lines[-MAX_KEPT:]:
                try:
                    entry = json.loads(line)
                    records.setdefault(entry["key"], {}).update(entry)
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line after a crash
            self._records = records
        return self._records

    def _append(self, entry: dict[str, Any]) -> None:
        self.dataset.root.mkdir(parents=True, exist_ok=True)
        path = self.dataset.root / ALERTS_FILE
        with path.open("a+b") as f:
            f.seek(0, os.SEEK_END)
            torn = False
            if f.tell():  # a line a crash left unfinished is closed, not continued
                f.seek(-1, os.SEEK_END)
                torn = f.read(1) != b"\n"
            line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
            f.write((("\n" if torn else "") + line).encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        self._load().setdefault(entry["key"], {}).update(entry)

    def alerts(self) -> list[TrendAlert]:
        """The announced alerts, newest first."""
        found = [
            TrendAlert.model_validate(r["alert"]) for r in self._load().values() if "alert" in r
        ]
        return sorted(found, key=lambda a: (a.detected_at, a.minute), reverse=True)

    # -- checking ----------------------------------------------------------------------------

    def closed_minute(self) -> int:
        """The last minute whose end is at least `grace` seconds ago."""
        return int((self.now().timestamp() - self.grace) // 60) - 1

    def check(self) -> list[TrendAlert]:
        """Find the spikes of the closed minutes not yet recorded, and record them (the
        returned alerts are to be delivered: `deliver`). Also returns alerts recorded but
        not yet delivered by an earlier process."""
        records = self._load()
        pending = [
            TrendAlert.model_validate(r["alert"])
            for r in records.values()
            if "alert" in r and not r.get("delivered")
        ]
        closed = self.closed_minute()
        if closed == self._judged:  # no minute closed since the last look: nothing new
            return pending
        first = closed - LOOKBACK + 1  # the oldest minute a new alert may be about
        since = first - int(m.TAG_SPIKES.params["window"])
        with self.dataset.snapshot() as parts:  # a compaction meanwhile removes none of them
            if not parts:
                return pending
            engine = DuckDBEngine(parts, threads=1, since=minute_time(since))
            try:
                result = analyze(engine, only=(m.TAG_SPIKES.name, m.SPIKE_EVIDENCE.name))
            finally:
                engine.close()
        detected = self.now()
        rows = {(r["tag"], int(r["minute"])): r for r in result.results[m.TAG_SPIKES.name]}
        for spike in result.spikes:
            minute = int(spike["first_minute"])
            key = f"{spike['tag']}@{minute}"
            if not first <= minute <= closed or key in records:
                continue
            alert = self._alert(spike, rows[spike["tag"], minute], detected)
            self._append({"key": key, "alert": alert.model_dump(mode="json")})
            pending.append(alert)
        self._judged = closed
        return pending

    def _alert(self, spike: dict[str, Any], row: dict[str, Any], detected: datetime) -> TrendAlert:
        """The alert of a spike, with the figures of its first minute (`row`)."""
        params = m.TAG_SPIKES.params
        minute = int(row["minute"])
        minute_end = minute_time(minute + 1)
        return TrendAlert(
            event=self.event,
            tag=spike["tag"],
            minute=minute,
            at=minute_time(minute),
            posts=int(row["posts"]),
            expected=round(float(row["expected"]), 3),
            score=round(float(row["score"]), 3),
            threshold=float(params["threshold"]),
            window_minutes=int(params["window"]),
            min_count=int(params["min_count"]),
            top_posts=evidence_posts(spike),
            top_accounts=evidence_accounts(spike),
            detected_at=detected.astimezone(UTC),
            delay_seconds=round((detected - minute_end).total_seconds(), 3),
            definition=m.TAG_SPIKES.definition.format(**params),
        )

    # -- delivering --------------------------------------------------------------------------

    async def deliver(self, alerts: Sequence[TrendAlert]) -> list[Delivery]:
        """Announce each alert in the app and to every webhook, then record it as delivered.
        Never raises: a failing sink is logged."""
        deliveries: list[Delivery] = []
        for alert in alerts:
            for sink in self.in_app:
                try:
                    sink(alert)
                except Exception:
                    log.exception("in-app trend alert sink failed on %s", alert.key)
            for webhook in self.webhooks:
                try:
                    deliveries += await webhook.post(WEBHOOK_EVENT, alert.body())
                except Exception:
                    log.exception("trend alert webhook failed on %s", alert.key)
            self._append({"key": alert.key, "delivered": self.now().isoformat()})
        return deliveries


# Events are checked from a little before they start to a little after they end.
AROUND_EVENT = timedelta(hours=1)


class TrendAlerts:
    """Checks every event in progress for new spikes every `settings.trend_alert_seconds`,
    and announces them to the app's sinks and the configured webhooks."""

    def __init__(
        self, store: Store, settings: Settings, *, now: Callable[[], datetime] = utc_now
    ) -> None:
        self.store, self.settings, self.now = store, settings, now
        self.in_app: list[InAppSink] = []
        self.webhooks = _webhooks(settings)
        self._alerters: dict[str, TrendAlerter] = {}
        self._task: asyncio.Task[None] | None = None

    def alerter(self, slug: str) -> TrendAlerter:
        found = self._alerters.get(slug)
        if found is None:
            dataset = PostDataset.of_event(self.settings, slug)
            found = TrendAlerter(
                dataset, slug, now=self.now, in_app=self.in_app, webhooks=self.webhooks
            )
            self._alerters[slug] = found
        return found

    def _events(self) -> list[str]:
        now = self.now()
        with self.store.session() as session:
            events = events_between(session, now - AROUND_EVENT, now + AROUND_EVENT)
            return [e.slug for e in events]

    async def check_once(self) -> list[TrendAlert]:
        """One check of every event in progress; returns what was announced."""
        announced: list[TrendAlert] = []
        for slug in await asyncio.to_thread(self._events):
            alerter = self.alerter(slug)
            try:
                alerts = await asyncio.to_thread(alerter.check)
            except Exception:  # one unreadable dataset must not stop the others
                log.exception("trend alerts: the posts of %s could not be checked", slug)
                continue
            await alerter.deliver(alerts)
            announced += alerts
        return announced

    async def _run(self) -> None:
        while True:
            try:
                await self.check_once()
            except Exception:  # the store unreachable for a moment: try again next time
                log.exception("trend alerts: the check failed")
            await asyncio.sleep(self.settings.trend_alert_seconds)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="trend-alerts")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


def _webhooks(settings: Settings) -> list[WebhookSink]:
    if not settings.trend_webhook_urls:
        return []
    secret = settings.trend_webhook_secret
    if secret is None:
        log.warning("conversation: JALSA_TREND_WEBHOOK_SECRET is not set; webhooks are not signed")
    value = secret.get_secret_value() if secret else ""
    return [WebhookSink(list(settings.trend_webhook_urls), value)]
