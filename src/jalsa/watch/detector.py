"""Incident detection: change points in each vantage's failure rate per platform.

In the spirit of OONI's pipeline, each series (one platform seen from one vantage) keeps the
share of that platform's targets that a round found blocked, a baseline of that share learned
from the series' own history, and an upward CUSUM of the failed measurements in excess of the
baseline plus a slack (a failure with a censor-only verdict counts as several). A series
*alarms* when its CUSUM reaches a threshold, or when the same platform fails at several
vantages at once and their CUSUMs together reach a higher one; it *recovers* after a few clean
rounds. Alarming series are grouped into incidents (see `Detector` and docs/decisions.md §14
for the rules and why these numbers).

Pure and synchronous: no I/O, no clock. Time comes from the measurements (`round_at`) and
from `tick(now)`, so replaying the stored measurements after a restart rebuilds the same
incidents with the same ids.
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Literal

from jalsa.watch.incidents import (
    Incident,
    IncidentChange,
    IncidentSeries,
    SeriesPoint,
    incident_confidence,
    incident_summary,
    platform_order,
)
from jalsa.watch.record import BLOCKING, Measurement

# Failures a vantage shows when its own link is down for a moment: nothing answers. A round in
# which every target failed this way may be a local outage, not censorship (see `_offline_like`).
OFFLINE_LIKE: frozenset[str] = frozenset({"tcp.timeout", "tls.timeout", "http.failure"})


@dataclass(frozen=True)
class DetectorConfig:
    """The detector's parameters. Defaults were tuned on the simulated week of
    `benchmarks/watch_detection.py` (10 targets x 5 vantages, 2% random failures, one-round
    blips): blocks of at least two failed measurements per round, and blocks of one target
    with a censor-only verdict (`record.CENSOR_ONLY`), open within 2 rounds, at most 1 false
    incident per week."""

    # CUSUM slack, as a share of the platform's targets: a round adds
    # failed - measured * (baseline + k) (failed weighted, see `strong_weight`), so k sets how
    # far above its baseline a series must be before evidence accumulates at all (0.15: one
    # target of X's four failing adds 0.32 a round, Instagram's one 0.83).
    k: float = 0.15
    # CUSUM threshold, in failed measurements beyond baseline + slack: 2.5 opens a block that
    # fails two measurements per round (Facebook's two targets, half of X's four) in two rounds,
    # and a one-target block with a weak method (timeouts, resets, http.failure, throttled) at
    # one vantage in four (Instagram) to eight (one of X's four hosts) rounds.
    h: float = 2.5
    # What one failure with a censor-only verdict (`Verdict.censor_only`: DNS NXDOMAIN, bogon
    # or injection confirmed by the control, an SNI filter, a block page) counts as, in failed
    # measurements: a flaky network does not produce these, so one host failing this way in
    # two consecutive rounds opens by itself. 3.0: two rounds pass h on a platform of up to 10
    # targets at a 2% baseline (2 x (3 - 10 x 0.17) = 2.6); the same-host rule below still
    # holds, so nothing opens in the first round.
    strong_weight: float = 3.0
    # ... and only once one of its targets failed with the same method in this many consecutive
    # rounds: a censor's rule hits the same host the same way round after round, random
    # failures do not repeat (three of YouTube's targets failing at random in one round, or
    # Facebook's two failing in turn, made most false incidents without this rule).
    min_rounds: int = 2
    # The threshold on the sum of the CUSUMs of one platform's series that are failing at the
    # same time at different vantages (each with a streak of `min_rounds`): a block of a
    # one-target platform (Instagram) at three vantages or more opens in its second round.
    h_pooled: float = 4.0
    # Baseline: exponentially weighted mean of the failure share of the series' rounds outside
    # incidents (weight of a new round), starting at `baseline_prior`, kept within bounds.
    baseline_alpha: float = 0.01
    baseline_prior: float = 0.02
    baseline_min: float = 0.005
    baseline_max: float = 0.5
    # Consecutive clean rounds that end a series' alarm: rounds with failed <= measured *
    # (baseline + k), or whose failures do not repeat a host's failure of the round before.
    close_rounds: int = 2
    # Probing interval of the agents: the window in which other vantages' rounds count as "at
    # the same time" for the pooled rule.
    round_interval: timedelta = timedelta(minutes=1)
    # A series joins an incident that started within this window of its own start, or that
    # already lists its platform and has not been over for longer than this.
    group_window: timedelta = timedelta(minutes=15)
    # `tick(now)` ends the part of an incident seen from a vantage that sent nothing for this long.
    stale_after: timedelta = timedelta(minutes=15)
    # Evidence kept per incident: the first and the latest failing measurement ids.
    evidence_first: int = 20
    evidence_last: int = 20
    # Rounds of each series kept for display (failure share, dominant method, latency).
    history: int = 120


@dataclass
class _Round:
    """What one vantage's round says about one platform."""

    measured: int = 0
    failed: int = 0
    weight: float = 0.0  # the failures as evidence: censor-only ones count `strong_weight`
    control_measured: int = 0
    methods: Counter[str] = field(default_factory=Counter)
    failed_ids: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (host, method)
    latencies: list[float] = field(default_factory=list)
    max_rate: float = 0.0
    rounds: int = 0

    def add(self, other: _Round) -> None:
        """Accumulate a failing round into a run (ids capped: a run is a few rounds)."""
        self.rounds += 1
        self.measured += other.measured
        self.failed += other.failed
        self.control_measured += other.control_measured
        self.methods.update(other.methods)
        self.failed_ids.extend(other.failed_ids[: 40 - len(self.failed_ids)])
        self.max_rate = max(self.max_rate, other.failed / other.measured)


@dataclass
class _Series:
    vantage: str
    platform: str
    baseline: float
    cusum: float = 0.0
    run_start: datetime | None = None  # first round of the current run of failing rounds
    run: _Round = field(default_factory=_Round)  # what that run failed with, until an alarm
    last_round: datetime | None = None
    last_excess: float = 0.0  # the excess of the latest round (> 0: it was failing)
    # host -> (method, consecutive rounds it failed with it, since), for the latest round
    streaks: dict[str, tuple[str, int, datetime]] = field(default_factory=dict)
    streak: int = 0  # the longest of those
    clean: int = 0
    episode: IncidentSeries | None = None
    incident: str | None = None
    history: deque[SeriesPoint] = field(default_factory=deque)


@dataclass
class _Vantage:
    name: str
    city: str
    network: str
    last_round: datetime | None = None
    held: list[Measurement] | None = None  # an all-failed round kept until the next one
    blips: int = 0


@dataclass
class _Incident:
    id: str
    detected_at: datetime
    episodes: list[IncidentSeries] = field(default_factory=list)
    methods: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    control_measured: int = 0
    first_ids: list[str] = field(default_factory=list)
    last_ids: deque[str] = field(default_factory=deque)
    evidence_count: int = 0
    status: Literal["open", "closed"] = "open"
    end_reason: Literal["lifted", "no data"] | None = None
    last_seen: datetime | None = None
    signature: tuple[object, ...] = ()


class Detector:
    """Fed measurements round by round, returns what changed in the incidents.

    Rounds are grouped per (vantage, round_at) and processed in time order (then by vantage
    name), each vantage's rounds in order: a late round (a backlog uploaded after a cut) is
    processed as long as it is newer than the vantage's last processed round; an older or
    repeated round is ignored, so re-delivery changes nothing. A round is taken as complete
    when it is first seen.

    Grouping: a series that alarms joins the incident (open, or closed for less than
    `group_window`) that lists its platform, or that started within `group_window` of its own
    first failing round; a block of X, Facebook, Instagram and YouTube at once is therefore
    one incident, and a block that spreads to more vantages stays in it. Otherwise it opens a
    new incident, whose id is derived from its first series (start, platform, vantage).
    """

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.reset()

    def reset(self) -> None:
        self._vantages: dict[str, _Vantage] = {}
        self._series: dict[tuple[str, str], _Series] = {}
        self._incidents: dict[str, _Incident] = {}
        # platform -> vantage -> series, for the pooled rule
        self._by_platform: dict[str, dict[str, _Series]] = {}

    # -- public interface ------------------------------------------------------------------

    def observe(self, measurements: Iterable[Measurement]) -> list[IncidentChange]:
        """Process the rounds these measurements belong to; return the incident changes."""
        rounds: dict[tuple[str, datetime], dict[str, Measurement]] = {}
        for m in measurements:
            rounds.setdefault((m.vantage.name, m.round_at), {})[m.id] = m
        touched: dict[str, None] = {}
        opened: set[str] = set()
        for name, round_at in sorted(rounds, key=lambda key: (key[1], key[0])):
            self._round(name, round_at, list(rounds[name, round_at].values()), touched, opened)
        return self._changes(touched, opened)

    def tick(self, now: datetime) -> list[IncidentChange]:
        """End the series of open incidents whose vantage sent nothing for `stale_after`;
        an incident whose series all ended this way closes with "ended: no data"."""
        touched: dict[str, None] = {}
        for series in self._series.values():
            vantage = self._vantages[series.vantage]
            if (
                series.episode is not None
                and vantage.last_round is not None
                and now - vantage.last_round >= self.config.stale_after
            ):
                touched[series.incident or ""] = None
                self._end(series, vantage.last_round, vantage.last_round, "no data")
        for vantage in self._vantages.values():
            if (
                vantage.held
                and vantage.last_round
                and now - vantage.last_round >= (self.config.stale_after)
            ):
                vantage.held = None
        return self._changes(touched, set())

    def replay(self, measurements: Iterable[Measurement]) -> list[Incident]:
        """Rebuild the state from stored measurements (after a restart): forget everything,
        process them, return the incidents. Ids come out the same as when they were made."""
        self.reset()
        self.observe(measurements)
        return self.incidents()

    def incidents(self, status: Literal["open", "closed"] | None = None) -> list[Incident]:
        """Every incident (or those with this status), oldest first."""
        items = [self._snapshot(i) for i in self._incidents.values()]
        items = [i for i in items if status is None or i.status == status]
        return sorted(items, key=lambda i: (i.started_at, i.id))

    def incident(self, incident_id: str) -> Incident | None:
        state = self._incidents.get(incident_id)
        return self._snapshot(state) if state else None

    def series(self, vantage: str, platform: str) -> list[SeriesPoint]:
        """The latest rounds of one series (failure share, method, latency, CUSUM)."""
        found = self._series.get((vantage, platform))
        return list(found.history) if found else []

    def blips(self) -> dict[str, int]:
        """Per vantage, the all-failed rounds set aside as local outages."""
        return {v.name: v.blips for v in self._vantages.values()}

    # -- rounds ----------------------------------------------------------------------------

    def _round(
        self,
        name: str,
        round_at: datetime,
        measurements: list[Measurement],
        touched: dict[str, None],
        opened: set[str],
    ) -> None:
        first = measurements[0].vantage
        vantage = self._vantages.get(name)
        if vantage is None:
            vantage = self._vantages[name] = _Vantage(name, first.city, first.network)
        if vantage.last_round is not None and round_at <= vantage.last_round:
            return
        vantage.city, vantage.network = first.city or vantage.city, first.network or vantage.network
        vantage.last_round = round_at
        # A round where everything failed as if the link were down is held back: if the next
        # round is the same, both count (a total block or a real outage); if not, it was a blip.
        held, vantage.held = vantage.held, None
        if _offline_like(measurements):
            if held is None:
                vantage.held = measurements
                return
            self._process(vantage, held[0].round_at, held, touched, opened)
        elif held is not None:
            vantage.blips += 1
        self._process(vantage, round_at, measurements, touched, opened)

    def _process(
        self,
        vantage: _Vantage,
        round_at: datetime,
        measurements: list[Measurement],
        touched: dict[str, None],
        opened: set[str],
    ) -> None:
        cfg = self.config
        per_platform: dict[str, _Round] = {}
        for m in measurements:
            if m.verdict.method == "unknown":
                continue  # neither a failure nor a success (decision 32)
            r = per_platform.get(m.platform)
            if r is None:
                r = per_platform[m.platform] = _Round()
            r.measured += 1
            method = m.verdict.method
            if method in BLOCKING:
                r.failed += 1
                r.weight += cfg.strong_weight if m.verdict.censor_only else 1.0
                r.methods[method] += 1
                r.failed_ids.append(m.id)
                r.failures.append((m.target, method))
                if m.verdict.control == "measured":
                    r.control_measured += 1
            elif m.latency_ms is not None:
                r.latencies.append(m.latency_ms)
        alarms: list[_Series] = []
        for platform in sorted(per_platform):
            r = per_platform[platform]
            series = self._series.get((vantage.name, platform))
            if series is None:
                series = self._series[vantage.name, platform] = _Series(
                    vantage.name, platform, cfg.baseline_prior, history=deque(maxlen=cfg.history)
                )
                self._by_platform.setdefault(platform, {})[vantage.name] = series
            excess = r.weight - r.measured * (series.baseline + cfg.k)
            series.last_round, series.last_excess = round_at, excess
            streaks = {}
            for host, method in r.failures:
                before = series.streaks.get(host)
                if before and before[0] == method:
                    streaks[host] = (method, before[1] + 1, before[2])
                else:
                    streaks[host] = (method, 1, round_at)
            series.streaks = streaks
            series.streak = max((n for _, n, _ in streaks.values()), default=0)
            if series.episode is None:
                series.cusum = max(0.0, series.cusum + excess)
                if excess > 0:
                    series.run_start = series.run_start or round_at
                    series.run.add(r)
                else:
                    series.run_start = None
                    series.run = _Round()
                rate = r.failed / r.measured
                series.baseline += cfg.baseline_alpha * (rate - series.baseline)
                series.baseline = min(cfg.baseline_max, max(cfg.baseline_min, series.baseline))
                if series.cusum >= cfg.h and series.streak >= cfg.min_rounds:
                    alarms.append(series)
            else:
                incident = self._incidents[series.incident or ""]
                self._evidence(incident, r)
                series.episode.max_failure_rate = max(
                    series.episode.max_failure_rate, r.failed / r.measured
                )
                # Clean: no more failures than the slack allows, or none that repeats the same
                # host's failure of the round before (random failures after the lift).
                if excess <= 0 or series.streak <= 1:
                    series.clean += 1
                    if series.clean == 1:
                        series.run_start = round_at  # the first clean round: the block's end
                    if series.clean >= cfg.close_rounds:
                        touched[incident.id] = None
                        self._end(series, series.run_start or round_at, round_at, "lifted")
                else:
                    series.clean = 0
            series.history.append(
                SeriesPoint(
                    round_at=round_at,
                    measured=r.measured,
                    failed=r.failed,
                    failure_rate=round(r.failed / r.measured, 4),
                    method=r.methods.most_common(1)[0][0] if r.methods else None,
                    latency_ms=median(r.latencies) if r.latencies else None,
                    cusum=round(series.cusum, 3),
                )
            )
        # Pooled rule: one platform failing at several vantages at once. A series counts at
        # most h, what alarms it alone: the CUSUM of a series in an incident stays at its value
        # when it alarmed, which after a big block (or censor-only failures) would otherwise
        # pull in any random repeated failure of the platform at another vantage.
        for platform in per_platform:
            series = self._series[vantage.name, platform]
            if series.episode is not None or series.last_excess <= 0 or series in alarms:
                continue
            window = round_at - cfg.round_interval
            failing = [
                s
                for s in self._by_platform[platform].values()
                if s.last_excess > 0
                and s.streak >= cfg.min_rounds
                and s.last_round is not None
                and s.last_round >= window
            ]
            if len(failing) > 1 and sum(min(s.cusum, cfg.h) for s in failing) >= cfg.h_pooled:
                alarms.extend(s for s in failing if s.episode is None and s not in alarms)
        for series in alarms:
            incident_id = self._start(series, round_at)
            touched[incident_id] = None
            if len(self._incidents[incident_id].episodes) == 1:
                opened.add(incident_id)

    # -- incidents -------------------------------------------------------------------------

    def _start(self, series: _Series, round_at: datetime) -> str:
        """The series alarmed: record its episode in an incident, found or new."""
        cfg = self.config
        vantage = self._vantages[series.vantage]
        # The start: when the hosts that keep failing the same way began to (an earlier random
        # failure of another host does not move it).
        persistent = [
            since for _, n, since in series.streaks.values() if n >= self.config.min_rounds
        ]
        started = min(persistent, default=series.run_start or round_at)
        episode = IncidentSeries(
            vantage=vantage.name,
            city=vantage.city,
            network=vantage.network,
            platform=series.platform,
            started_at=started,
            detected_at=round_at,
        )
        incident = self._find(series.platform, started)
        if incident is None:
            key = f"{started.isoformat()}|{series.platform}|{series.vantage}"
            base = "inc-" + hashlib.sha256(key.encode()).hexdigest()[:12]
            incident_id, n = base, 1
            while incident_id in self._incidents:
                n += 1
                incident_id = f"{base}-{n}"
            incident = self._incidents[incident_id] = _Incident(
                incident_id, round_at, last_ids=deque(maxlen=cfg.evidence_last)
            )
        elif incident.status == "closed":
            incident.status, incident.end_reason = "open", None  # late data: it went on
        incident.episodes.append(episode)
        series.episode, series.incident, series.clean = episode, incident.id, 0
        # The failing rounds before the alarm are evidence too.
        self._evidence(incident, series.run)
        episode.max_failure_rate = series.run.max_rate
        series.run = _Round()
        return incident.id

    def _find(self, platform: str, started: datetime) -> _Incident | None:
        window = self.config.group_window
        for incident in self._incidents.values():
            first = min(e.started_at for e in incident.episodes)
            ends = [e.ended_at for e in incident.episodes]
            over = None if incident.status == "open" else max(e for e in ends if e)
            if over is not None and started > over + window:
                continue
            same_platform = any(e.platform == platform for e in incident.episodes)
            if same_platform or abs(started - first) <= window:
                return incident
        return None

    def _evidence(self, incident: _Incident, r: _Round) -> None:
        incident.methods.update(r.methods)
        incident.failed += r.failed
        incident.control_measured += r.control_measured
        for mid in r.failed_ids:
            incident.evidence_count += 1
            if len(incident.first_ids) < self.config.evidence_first:
                incident.first_ids.append(mid)
            else:
                incident.last_ids.append(mid)

    def _end(
        self,
        series: _Series,
        ended_at: datetime,
        closed_at: datetime,
        reason: Literal["lifted", "no data"],
    ) -> None:
        episode = series.episode
        assert episode is not None
        episode.ended_at, episode.closed_at, episode.end_reason = ended_at, closed_at, reason
        incident = self._incidents[series.incident or ""]
        series.episode, series.incident, series.clean = None, None, 0
        series.cusum, series.run_start, series.run = 0.0, None, _Round()
        if all(e.ended_at is not None for e in incident.episodes):
            incident.status = "closed"
            last = max(incident.episodes, key=lambda e: e.ended_at or ended_at)
            incident.end_reason = last.end_reason

    def _changes(self, touched: dict[str, None], opened: set[str]) -> list[IncidentChange]:
        """One change per incident touched, if anything a reader cares about changed."""
        changes = []
        for incident_id in touched:
            state = self._incidents.get(incident_id)
            if state is None:
                continue
            snapshot = self._snapshot(state)
            signature = (
                snapshot.status,
                tuple(snapshot.platforms),
                tuple(snapshot.vantages),
                snapshot.method,
                round(snapshot.confidence, 1),
                sum(e.ended_at is not None for e in snapshot.series),
            )
            if incident_id in opened:
                kind: Literal["opened", "updated", "closed"] = "opened"
            elif signature == state.signature:
                continue
            elif snapshot.status == "closed":
                kind = "closed"
            else:
                kind = "updated"
            state.signature = signature
            changes.append(IncidentChange(kind=kind, incident=snapshot))
        return changes

    def _snapshot(self, state: _Incident) -> Incident:
        episodes = state.episodes
        started = min(e.started_at for e in episodes)
        last_seen = max((self._vantages[e.vantage].last_round or e.detected_at) for e in episodes)
        ended = None
        if state.status == "closed":
            ended = max(e.ended_at for e in episodes if e.ended_at)
            last_seen = min(last_seen, max(e.closed_at for e in episodes if e.closed_at))
        platforms = sorted({e.platform for e in episodes}, key=platform_order)
        vantages = sorted({e.vantage for e in episodes})
        cities = sorted({e.city for e in episodes if e.city})
        networks = sorted({e.network for e in episodes if e.network})
        method = state.methods.most_common(1)[0][0] if state.methods else "unknown"
        confidence = incident_confidence(
            len(vantages),
            len(cities),
            state.methods[method] / state.failed if state.failed else 0.0,
            state.control_measured / state.failed if state.failed else 0.0,
            method in OFFLINE_LIKE
            and len(platforms) == len(self._by_platform)
            and len(networks) < 2,
        )
        incident = Incident(
            id=state.id,
            status=state.status,
            started_at=started,
            detected_at=state.detected_at,
            ended_at=ended,
            end_reason=state.end_reason,
            last_seen_at=last_seen,
            duration_s=((ended or last_seen) - started).total_seconds(),
            platforms=platforms,
            vantages=vantages,
            cities=cities,
            networks=networks,
            method=method,
            methods=dict(state.methods.most_common()),
            evidence=[*state.first_ids, *state.last_ids],
            evidence_count=state.evidence_count,
            confidence=confidence,
            summary="",
            series=[e.model_copy() for e in episodes],
        )
        incident.summary = incident_summary(incident)
        return incident


def _offline_like(measurements: list[Measurement]) -> bool:
    """Every target of at least two platforms failed as if nothing answered."""
    platforms = {m.platform for m in measurements}
    return len(platforms) >= 2 and all(m.verdict.method in OFFLINE_LIKE for m in measurements)
