"""The incident detector on simulated measurements: delays, grouping, blips, late and repeated
rounds, replay and staleness, censor-only evidence."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jalsa.sim.watch import NOISE_METHODS, START, Block, WatchSim
from jalsa.watch.detector import Detector
from jalsa.watch.incidents import Incident, IncidentChange
from jalsa.watch.record import CENSOR_ONLY, Measurement, Verdict

ALL = ("x", "facebook", "instagram", "youtube")
VANTAGES = ("islamabad-nayatel", "karachi-jazz", "lahore-ptcl", "peshawar-zong", "quetta-telenor")


def minute(n: int) -> timedelta:
    return timedelta(minutes=n)


def block(platforms: tuple[str, ...], start: int, end: int, method: str, **kw: object) -> Block:
    return Block(platforms, START + minute(start), START + minute(end), method, **kw)  # type: ignore[arg-type]


def live(sim: WatchSim) -> tuple[Detector, list[IncidentChange], list[list[Measurement]]]:
    """Feed the simulation round by round, as agents upload."""
    detector, changes, rounds = Detector(), [], list(sim.rounds())
    for measurements in rounds:
        changes += detector.observe(measurements)
    return detector, changes, rounds


def rounds_seen(sim: WatchSim, since: object, at: object) -> int:
    """Rounds from `since` to `at`, both counted: 1 means it was decided in the first one."""
    return sim.index_of(at) - sim.index_of(since) + 1  # type: ignore[arg-type]


def test_a_nationwide_block_of_four_platforms_is_one_incident_opened_and_closed_in_2_rounds() -> (
    None
):
    sim = WatchSim(rounds_count=240, blocks=[block(ALL, 100, 160, "tls.sni_filter")], seed=1)
    detector, changes, _ = live(sim)
    [incident] = detector.incidents()
    assert incident.status == "closed" and incident.end_reason == "lifted"
    assert incident.platforms == list(ALL)
    assert incident.vantages == list(VANTAGES)
    assert incident.cities == ["Islamabad", "Karachi", "Lahore", "Peshawar", "Quetta"]
    assert incident.method == "tls.sni_filter"
    assert incident.started_at == START + minute(100)  # the first failing round
    # Random failures right after the lift can delay a series' end by a round or two.
    assert START + minute(160) <= incident.ended_at <= START + minute(162)  # type: ignore[operator]
    assert incident.confidence > 0.9
    assert len(incident.series) == 20
    assert max(rounds_seen(sim, START + minute(100), s.detected_at) for s in incident.series) <= 2
    closes = [rounds_seen(sim, START + minute(160), s.closed_at) for s in incident.series]
    assert sum(c <= 2 for c in closes) >= 19 and max(closes) <= 4
    assert changes[0].kind == "opened" and changes[-1].kind == "closed"
    assert len(incident.evidence) <= 40 and incident.evidence_count > 1000
    assert "ended" in incident.summary and "X, Facebook, Instagram and YouTube" in incident.summary


def test_partial_and_local_blocks_open_within_2_rounds() -> None:
    blocks = [
        # Only X's CDN hosts, nationwide (two of X's four targets).
        block(("x",), 50, 80, "tcp.reset", hosts=("abs.twimg.com", "video.twimg.com")),
        # Facebook (two targets) at one network.
        block(("facebook",), 120, 150, "dns.nxdomain", vantages=("quetta-telenor",)),
        # Instagram (one target) at three vantages: pooled across them.
        block(("instagram",), 200, 230, "http.blockpage", vantages=VANTAGES[:3]),
    ]
    sim = WatchSim(rounds_count=260, blocks=blocks, seed=2)
    detector, _, _ = live(sim)
    incidents = detector.incidents()
    assert [i.platforms for i in incidents] == [["x"], ["facebook"], ["instagram"]]
    assert [len(i.vantages) for i in incidents] == [5, 1, 3]
    for incident, injected in zip(incidents, blocks, strict=True):
        assert incident.started_at == injected.start
        for series in incident.series:
            assert rounds_seen(sim, injected.start, series.detected_at) <= 2
            assert series.closed_at and rounds_seen(sim, injected.end, series.closed_at) <= 2


def test_a_vantage_blip_is_not_an_incident() -> None:
    # Every target of every platform times out at one vantage for one round.
    blip = block(ALL, 60, 61, "tcp.timeout", vantages=("lahore-ptcl",))
    sim = WatchSim(rounds_count=120, blocks=[blip], blip_rate=0, seed=3)
    detector, changes, _ = live(sim)
    assert changes == [] and detector.incidents() == []
    assert detector.blips()["lahore-ptcl"] == 1


def test_a_total_timeout_block_that_lasts_is_an_incident_within_2_rounds() -> None:
    sim = WatchSim(rounds_count=120, blocks=[block(ALL, 60, 90, "tcp.timeout")], seed=4)
    detector, _, _ = live(sim)
    [incident] = detector.incidents()
    assert len(incident.platforms) == 4 and len(incident.vantages) == 5
    # A random timeout of a host in the round before is indistinguishable from the block.
    assert START + minute(59) <= incident.started_at <= START + minute(60)
    assert all(rounds_seen(sim, START + minute(60), s.detected_at) <= 2 for s in incident.series)


def test_a_quiet_day_of_noise_has_no_incident() -> None:
    sim = WatchSim(rounds_count=1440, noise=0.02, blip_rate=0.002, seed=5)
    detector, changes, _ = live(sim)
    assert changes == []
    assert sum(detector.blips().values()) > 0


def strip(incidents: list[Incident]) -> list[tuple[object, ...]]:
    return [
        (i.id, i.status, i.started_at, i.ended_at, tuple(i.platforms), tuple(i.vantages))
        for i in incidents
    ]


def test_a_backlog_uploaded_after_a_cut_is_processed_for_its_vantage() -> None:
    sim = WatchSim(rounds_count=200, blocks=[block(("x", "youtube"), 100, 150, "tcp.reset")])
    reference, _, rounds = live(sim)
    # Quetta's agent is cut off from minute 90 to 130, then uploads its backlog at once.
    detector, backlog = Detector(), []
    for index, measurements in enumerate(rounds):
        quetta = [m for m in measurements if m.vantage.name == "quetta-telenor"]
        others = [m for m in measurements if m.vantage.name != "quetta-telenor"]
        if 90 <= index < 130:
            backlog += quetta
            detector.observe(others)
        elif index == 130:
            detector.observe(others)
            detector.observe(backlog + quetta)
        else:
            detector.observe(measurements)
    assert strip(detector.incidents()) == strip(reference.incidents())
    [incident] = detector.incidents()
    quetta = [s for s in incident.series if s.vantage == "quetta-telenor"]
    assert {s.platform for s in quetta} == {"x", "youtube"}
    assert all(s.started_at == START + minute(100) for s in quetta)


def test_re_delivery_changes_nothing_and_older_rounds_are_ignored() -> None:
    sim = WatchSim(rounds_count=150, blocks=[block(ALL, 100, 140, "tls.sni_filter")], seed=6)
    detector, _, rounds = live(sim)
    before = detector.incidents()
    assert detector.observe(rounds[120]) == []
    assert detector.observe([m for r in rounds for m in r]) == []
    assert detector.incidents() == before


def test_replay_after_a_restart_gives_the_same_incidents_and_ids() -> None:
    blocks = [
        block(ALL, 30, 60, "tls.sni_filter"),
        block(("instagram",), 100, 130, "http.blockpage", vantages=VANTAGES[2:]),
    ]
    sim = WatchSim(rounds_count=160, blocks=blocks, seed=7)
    detector, _, rounds = live(sim)
    replayed = Detector().replay(m for r in rounds for m in r)
    assert len(replayed) == 2
    assert replayed == detector.incidents()


def test_tick_closes_an_incident_whose_vantages_stopped_reporting() -> None:
    sim = WatchSim(rounds_count=80, blocks=[block(("x",), 40, 200, "tls.sni_filter")], seed=8)
    detector, _, _ = live(sim)
    assert len(detector.incidents("open")) == 1
    last = START + minute(79)
    assert detector.tick(last + minute(5)) == []
    [change] = detector.tick(last + minute(16))
    assert change.kind == "closed"
    assert change.incident.end_reason == "no data" and change.incident.ended_at == last
    assert "ended: no data" in change.incident.summary
    assert detector.tick(last + minute(30)) == []


# --- censor-only evidence: one target at one vantage -----------------------------------------


def test_a_censor_only_block_of_one_target_at_one_vantage_opens_in_round_2() -> None:
    one = {"hosts": ("x.com",), "vantages": ("lahore-ptcl",)}
    blocks = [
        # One of X's four hosts, at one network: the weakest share a block can have.
        block(("x",), 50, 80, "dns.nxdomain", **one),
        block(("instagram",), 120, 150, "http.blockpage", vantages=("quetta-telenor",)),
        block(("youtube",), 190, 220, "tls.sni_filter", vantages=("karachi-jazz",)),
        block(("x",), 260, 290, "dns.bogon", **one),
        block(("x",), 330, 360, "dns.injection", **one),
    ]
    sim = WatchSim(rounds_count=390, blocks=blocks, seed=9)
    detector, _, _ = live(sim)
    incidents = detector.incidents()
    assert [(i.platforms, i.vantages, i.method) for i in incidents] == [
        (list(b.platforms), list(b.vantages or ()), b.method) for b in blocks
    ]
    for incident, injected in zip(incidents, blocks, strict=True):
        [series] = incident.series
        assert incident.started_at == injected.start
        assert rounds_seen(sim, injected.start, series.detected_at) == 2
        assert series.closed_at and rounds_seen(sim, injected.end, series.closed_at) <= 2


@pytest.mark.parametrize("method", ["tcp.timeout", "tcp.reset", "tls.timeout", "throttled"])
def test_the_same_block_with_a_weak_method_does_not_open_in_round_2(method: str) -> None:
    injected = block(("instagram",), 50, 70, method, vantages=("quetta-telenor",))
    sim = WatchSim(rounds_count=90, blocks=[injected], seed=9)
    detector, _, _ = live(sim)
    [incident] = detector.incidents()
    assert rounds_seen(sim, injected.start, incident.detected_at) > 2


def test_a_dns_verdict_without_a_control_is_not_censor_only() -> None:
    """A resolver that says nothing may be a flaky resolver: unconfirmed, it counts as one."""
    injected = block(
        ("instagram",), 50, 70, "dns.nxdomain", vantages=("quetta-telenor",), control="none"
    )
    sim = WatchSim(rounds_count=90, blocks=[injected], seed=9)
    detector, _, _ = live(sim)
    [incident] = detector.incidents()
    assert rounds_seen(sim, injected.start, incident.detected_at) > 2
    for method in CENSOR_ONLY:
        confirmed = Verdict(method=method, reason="", control="measured")
        alone = Verdict(method=method, reason="", control="none")
        assert confirmed.censor_only
        assert alone.censor_only == (method in ("tls.sni_filter", "http.blockpage"))
    assert not Verdict(method="tcp.reset", reason="", control="measured").censor_only


@pytest.mark.parametrize("method", list(NOISE_METHODS))
def test_a_weak_failure_of_one_host_two_rounds_in_a_row_does_not_open(method: str) -> None:
    """The worst random failures can do at one vantage: the same host, the same way, twice."""
    injected = block(("instagram",), 30, 32, method, vantages=("quetta-telenor",))
    sim = WatchSim(rounds_count=60, blocks=[injected], noise=0, blip_rate=0, seed=10)
    _, changes, _ = live(sim)
    assert changes == []
