"""The vantage agent: a volunteer's laptop probing the platforms every round and reporting to
the jalsa server, on a network that may be cut at any moment.

Each round (on a grid anchored to the epoch, like the audience pollers, so rounds from every
agent line up) it asks the server's control helper what the targets look like from outside
(one request; without an answer it probes without a control), probes every target, and
writes the measurements to a local outbox -- a SQLite file in the agent's data directory --
in one transaction *before* any upload. Then it uploads what is pending, oldest first, and
marks a measurement uploaded only once the server has confirmed it. Killed at any point, it
loses nothing (the round is in the outbox, or was never finished) and duplicates nothing (the
server stores by the id the agent made; a batch sent again is skipped there).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import tomllib
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import ValidationError
from rich.console import Console

from jalsa.errors import UserError
from jalsa.live.schedule import next_slot
from jalsa.watch.record import DEFAULT_TARGETS, Measurement, Observations, Target, Vantage

if TYPE_CHECKING:
    from jalsa.watch.classify import Reference
    from jalsa.watch.probe import ProbeConfig

BATCH = 100  # measurements per upload
MAX_BATCHES_PER_ROUND = 50  # a long backlog goes up over several rounds
BASELINE_SAMPLES = 10  # the reference is the median of this many recent ok transfers
MIN_BASELINE = 3  # fewer ok transfers than this: no reference yet
KEEP_UPLOADED = timedelta(days=7)  # uploaded measurements kept locally, then pruned
OUTBOX_FILE = "watch-outbox.sqlite"


# -- the outbox ------------------------------------------------------------------------------


class Outbox:
    """Measurements on their way to the server, in SQLite. A round is added in one
    transaction; `uploaded_at` is set only after the server confirmed the batch."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Used from worker threads (never two at once: the agent awaits each call).
        self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        with self.db:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS outbox ("
                " id TEXT PRIMARY KEY, round_at TEXT NOT NULL, target TEXT NOT NULL,"
                " record TEXT NOT NULL, uploaded_at TEXT, rejected TEXT)"
            )
            self.db.execute(
                "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (uploaded_at, round_at)"
            )
            self.db.execute("CREATE INDEX IF NOT EXISTS outbox_target ON outbox (target, round_at)")

    def close(self) -> None:
        self.db.close()

    def add(self, measurements: Iterable[Measurement]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO outbox (id, round_at, target, record) VALUES (?, ?, ?, ?)",
                [(m.id, _key(m.round_at), m.target, m.model_dump_json()) for m in measurements],
            )

    def pending(self, limit: int = BATCH) -> list[Measurement]:
        """The oldest measurements not uploaded (nor refused by the server), in whole rounds
        of up to about `limit` measurements: the detector takes a round as complete when it
        first sees it, so a round must not be split across two uploads."""
        rounds = self.db.execute(
            "SELECT round_at, count(*) FROM outbox WHERE uploaded_at IS NULL"
            " AND rejected IS NULL GROUP BY round_at ORDER BY round_at LIMIT ?",
            (limit,),
        ).fetchall()
        chosen: list[str] = []
        total = 0
        for round_at, count in rounds:
            if chosen and total + count > limit:
                break
            chosen.append(round_at)
            total += count
        if not chosen:
            return []
        rows = self.db.execute(
            "SELECT record FROM outbox WHERE uploaded_at IS NULL AND rejected IS NULL"
            f" AND round_at IN ({', '.join('?' * len(chosen))}) ORDER BY round_at, rowid",
            chosen,
        )
        return [Measurement.model_validate_json(r[0]) for r in rows]

    def mark_uploaded(self, ids: Sequence[str], at: datetime | None = None) -> None:
        stamp = _key(at or datetime.now(UTC))
        with self.db:
            self.db.executemany(
                "UPDATE outbox SET uploaded_at = ? WHERE id = ?", [(stamp, i) for i in ids]
            )

    def mark_rejected(self, id: str, reason: str) -> None:
        """The server refused this record as invalid: kept, but no longer sent."""
        with self.db:
            self.db.execute("UPDATE outbox SET rejected = ? WHERE id = ?", (reason[:500], id))

    def count_pending(self) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM outbox WHERE uploaded_at IS NULL AND rejected IS NULL"
        ).fetchone()
        return int(row[0])

    def recent(self, target: str, limit: int) -> list[Measurement]:
        """The target's latest measurements, newest first (to rebuild its baseline)."""
        rows = self.db.execute(
            "SELECT record FROM outbox WHERE target = ? ORDER BY round_at DESC LIMIT ?",
            (target, limit),
        )
        return [Measurement.model_validate_json(r[0]) for r in rows]

    def prune(self, now: datetime | None = None) -> int:
        """Forget uploaded measurements older than a week (the server has them)."""
        cutoff = _key((now or datetime.now(UTC)) - KEEP_UPLOADED)
        with self.db:
            done = self.db.execute(
                "DELETE FROM outbox WHERE uploaded_at IS NOT NULL AND round_at < ?", (cutoff,)
            )
        return done.rowcount


def _key(at: datetime) -> str:
    """Sortable text for a time (UTC, fixed width)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- the throughput baseline -------------------------------------------------------------------


class Baselines:
    """Per target, the median rate of its recent successful transfers: what a slow transfer
    is compared with when the control's rate means nothing (another network, another
    country). Only `ok` measurements count, so a throttle does not lower its own bar."""

    def __init__(self, vantage: str, samples: int = BASELINE_SAMPLES) -> None:
        self.vantage = vantage
        self.rates: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=samples))

    def add(self, measurements: Iterable[Measurement]) -> None:
        for m in sorted(measurements, key=lambda m: m.round_at):
            throughput = m.observations.throughput
            rate = throughput.bits_per_second if throughput is not None else None
            if m.verdict.method == "ok" and rate:
                self.rates[m.target].append(rate)

    def reference(self, host: str) -> Reference | None:
        from jalsa.watch.classify import Reference

        rates = self.rates.get(host)
        if not rates or len(rates) < MIN_BASELINE:
            return None
        return Reference(
            statistics.median(rates),
            f"{self.vantage}: median of its last {len(rates)} successful transfers",
        )

    def references(self, hosts: Iterable[str]) -> dict[str, Reference]:
        found = {h: self.reference(h) for h in hosts}
        return {h: r for h, r in found.items() if r is not None}


# -- targets file ------------------------------------------------------------------------------


def load_targets(path: Path) -> tuple[list[Target], dict[str, Any]]:
    """Targets (and probe settings) from a TOML or JSON file:

    [[targets]]
    host = "x.com"
    platform = "x"
    [probe]                    # optional: ProbeConfig fields
    resolvers = ["system", "1.1.1.1"]
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read the targets file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{path} is not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}") from None
    try:
        targets = [Target.model_validate(t) for t in data.get("targets", [])]
    except ValidationError as exc:
        raise UserError(f"{path}: a target is not valid ({exc.errors()[0]['msg']})") from None
    if not targets:
        raise UserError(
            f"{path} lists no targets: add 'targets' entries with a host and a platform"
        )
    probe = data.get("probe", {})
    if not isinstance(probe, dict):
        raise UserError(f"{path}: [probe] must be a table of probe settings")
    return targets, probe


def probe_config(overrides: dict[str, Any] | None = None) -> ProbeConfig:
    from jalsa.watch.probe import ProbeConfig

    try:
        return ProbeConfig.model_validate(overrides or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise UserError(f"invalid probe settings ({problems})") from None


# -- one round, and rounds on the grid --------------------------------------------------------


async def probe_round(
    targets: Sequence[Target],
    vantage: Vantage,
    config: ProbeConfig,
    at: datetime,
    *,
    controls: dict[str, Observations] | None = None,
    baselines: Baselines | None = None,
) -> list[Measurement]:
    """Every target once, concurrently (the probe's own limit), against the controls and
    the baselines."""
    from jalsa.watch.probe import measure_all

    references = baselines.references(t.host for t in targets) if baselines else None
    measured = await measure_all(
        targets, vantage, config, controls=controls, references=references, round_at=at
    )
    if baselines is not None:
        baselines.add(measured)
    return measured


async def on_grid(
    every: float,
    do_round: Callable[[datetime], Awaitable[None]],
    *,
    rounds: int | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Call `do_round(slot)` at each slot of an epoch-anchored grid; a round that overruns
    skips the slots it missed rather than running late ones back to back."""
    done = 0
    while rounds is None or done < rounds:
        now = datetime.now(UTC)
        slot = next_slot(now, every, 0.0)
        wait = (slot - now).total_seconds()
        if stop is not None:
            try:
                await asyncio.wait_for(stop.wait(), wait)
                return
            except TimeoutError:
                pass
        else:
            await asyncio.sleep(wait)
        await do_round(slot)
        done += 1


def summary_line(at: datetime, measurements: Sequence[Measurement]) -> str:
    """'14:03:00 10 targets: 9 ok, 1 tls.sni_filter (x.com)'"""
    by_method: dict[str, list[str]] = defaultdict(list)
    for m in measurements:
        by_method[m.verdict.method].append(m.target)
    parts = []
    for method, hosts in sorted(by_method.items(), key=lambda kv: (kv[0] != "ok", kv[0])):
        shown = (
            "" if method == "ok" else f" ({', '.join(hosts[:3])}{'…' if len(hosts) > 3 else ''})"
        )
        parts.append(f"{len(hosts)} {method}{shown}")
    return f"{at.strftime('%H:%M:%S')}Z {len(measurements)} targets: {', '.join(parts)}"


# -- the agent ---------------------------------------------------------------------------------


class ServerUnreachable(Exception):
    """The server did not answer (or answered 5xx): keep probing, upload later."""


@dataclass
class RoundReport:
    at: datetime
    measurements: list[Measurement]
    control: bool
    uploaded: int
    pending: int
    problem: str | None = None


@dataclass
class Agent:
    server: str
    token: str
    vantage: Vantage
    outbox: Outbox
    targets: Sequence[Target] = DEFAULT_TARGETS
    probe: ProbeConfig | None = None
    every: float = 60.0
    console: Console | None = None
    control_timeout: float | None = None  # default: a third of a round, at most 30 s
    client: httpx.AsyncClient | None = None
    baselines: Baselines = field(init=False)
    _own_client: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        if not self.server.startswith(("http://", "https://")):
            raise UserError(f"--server must be an http:// or https:// URL, not {self.server!r}")
        if self.probe is None:
            self.probe = probe_config()
        self.baselines = Baselines(self.vantage.name)
        for target in {t.host for t in self.targets}:
            self.baselines.add(self.outbox.recent(target, BASELINE_SAMPLES * 3))

    async def run(self, *, rounds: int | None = None, stop: asyncio.Event | None = None) -> None:
        """Probe on the grid until stopped (or for `rounds` rounds). A refused token ends it
        with a UserError; a server that cannot be reached does not."""
        try:
            self.outbox.prune()
            await on_grid(self.every, self._round_and_print, rounds=rounds, stop=stop)
        finally:
            await self.close()

    async def close(self) -> None:
        """Close the HTTP client the agent made (one it was given stays open)."""
        if self._own_client and self.client is not None:
            await self.client.aclose()
            self.client, self._own_client = None, False

    async def _round_and_print(self, at: datetime) -> None:
        report = await self.round(at)
        if self.console is not None:
            control = "control ✓" if report.control else "no control"
            line = (
                f"{summary_line(at, report.measurements)} · {control} · uploaded {report.uploaded}"
            )
            line += f", {report.pending} waiting"
            if report.problem:
                line += f" · [yellow]{report.problem}[/yellow]"
            self.console.print(line, highlight=False)

    async def round(self, at: datetime) -> RoundReport:
        """Control, probe, store, upload: one round."""
        assert self.probe is not None
        problem = None
        try:
            controls = await self.fetch_controls()
        except ServerUnreachable as exc:
            controls, problem = {}, str(exc)
        measurements = await probe_round(
            self.targets, self.vantage, self.probe, at, controls=controls, baselines=self.baselines
        )
        await asyncio.to_thread(self.outbox.add, measurements)  # stored before any upload
        uploaded = 0
        if problem is None:
            try:
                uploaded = await self.upload_pending()
            except ServerUnreachable as exc:
                problem = str(exc)
        pending = await asyncio.to_thread(self.outbox.count_pending)
        return RoundReport(at, measurements, bool(controls), uploaded, pending, problem)

    async def fetch_controls(self) -> dict[str, Observations]:
        """The server's observations of our targets, by host (one request per round)."""
        from jalsa.watch.service import MAX_CONTROL_TARGETS

        timeout = self.control_timeout or min(self.every / 3, 30.0)
        found: dict[str, Observations] = {}
        unique = list({t.host: t for t in self.targets}.values())
        for start in range(0, len(unique), MAX_CONTROL_TARGETS):
            chunk = unique[start : start + MAX_CONTROL_TARGETS]
            body = {"targets": [t.model_dump(mode="json") for t in chunk]}
            response = await self._call("/api/watch/control", body, timeout)
            for item in response.json():
                if item.get("observations") is not None:
                    found[item["host"]] = Observations.model_validate(item["observations"])
        return found

    async def upload_pending(self) -> int:
        """Upload the outbox, oldest first, in batches; returns how many the server now
        holds that it did not confirm before."""
        total = 0
        for _ in range(MAX_BATCHES_PER_ROUND):
            batch = await asyncio.to_thread(self.outbox.pending, BATCH)
            if not batch:
                break
            total += await self._upload(batch)
        return total

    async def _upload(self, batch: list[Measurement]) -> int:
        body = {"measurements": [m.model_dump(mode="json") for m in batch]}
        try:
            response = await self._call("/api/watch/measurements", body, None)
        except _Rejected as exc:
            if len(batch) == 1:  # the one bad record: set it aside, with the server's reason
                await asyncio.to_thread(self.outbox.mark_rejected, batch[0].id, str(exc))
                if self.console is not None:
                    self.console.print(
                        f"[yellow]the server refused measurement {batch[0].id}: {exc}[/yellow]",
                        highlight=False,
                    )
                return 0
            return sum([await self._upload([m]) for m in batch])
        await asyncio.to_thread(self.outbox.mark_uploaded, [m.id for m in batch])
        return int(response.json().get("stored", 0)) + int(response.json().get("duplicate", 0))

    async def _call(self, path: str, body: dict[str, Any], timeout: float | None) -> httpx.Response:
        if self.client is None:
            self.client = httpx.AsyncClient(
                base_url=self.server.rstrip("/"),
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=httpx.Timeout(30.0, connect=10.0),
            )
            self._own_client = True
        try:
            response = await self.client.post(
                path,
                json=body,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise ServerUnreachable(f"server unreachable ({type(exc).__name__})") from None
        if response.status_code == 401:
            raise UserError(
                f"the server at {self.server} refused the token ({_detail(response)}); "
                "create an API token on the web app's Tokens page and pass it with --token"
            )
        if response.status_code == 403:
            raise UserError(
                f"the token's account may not submit measurements ({_detail(response)}); use a "
                "token of a volunteer, coordinator or admin account"
            )
        if response.status_code == 422:
            raise _Rejected(_detail(response))
        if response.status_code >= 400:
            raise ServerUnreachable(f"server answered {response.status_code}")
        return response


class _Rejected(Exception):
    """The server found the body invalid (422)."""


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(detail, list):
        return "; ".join(str(d.get("msg", d)) for d in detail[:3])
    return str(detail)
