"""Issue 5's bound with a real censor: the detector opens an incident within 2 probe rounds of a
block and closes it within 2 rounds after the lift.

The lab (netlab.py) is probed round by round from the vantage namespace, every target at once,
against the control helper's observations from the control namespace; each round's
Measurements go to a `Detector`. Rounds are stamped on a synthetic 1-minute grid (round i at
T0 + i minutes), so nothing waits for real minutes.

X has three targets in the lab: x.test, and twitter.test and twimg.test on an address of their
own. The SNI filter resets x.test only -- one failing target a round, which opens in 2 rounds
because `tls.sni_filter` is censor-only evidence. DROP of X's other address is a weak method
(tcp.timeout), which must fail two measurements a round to open in 2 rounds (with one, the
CUSUM needs 4 rounds or more: docs/decisions.md §14); a real platform has several hosts on
several addresses, and a censor that drops one of its addresses drops all its hosts there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jalsa.watch.detector import Detector
from jalsa.watch.incidents import IncidentChange
from jalsa.watch.record import Measurement
from watch.netlab import X_IP, Lab

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
# A throughput sample of 256 kB (a page of 2 kB is too short for a stable rate: "throttled").
TARGETS = [
    {"host": host, "platform": platform, "sample_url": f"https://{host}/big"}
    for host, platform in (
        ("x.test", "x"),
        ("twitter.test", "x"),
        ("twimg.test", "x"),
        ("facebook.test", "facebook"),
        ("instagram.test", "instagram"),
        ("youtube.test", "youtube"),
    )
]


@pytest.fixture(scope="module")
def controls(lab: Lab) -> dict[str, Any]:
    """The control helper's answer: the targets from the uncensored control namespace (the
    lab's platform does not change, so one answer serves every round)."""
    return lab.controls(TARGETS)


class Agent:
    """A vantage agent in the lab, feeding its rounds to a detector as the server does."""

    def __init__(self, lab: Lab, controls: dict[str, Any]) -> None:
        self.lab, self.controls, self.detector, self.index = lab, controls, Detector(), 0

    def round(self) -> tuple[list[Measurement], list[IncidentChange]]:
        at = T0 + timedelta(minutes=self.index)
        self.index += 1
        found = self.lab.probe_round(TARGETS, self.controls, at.isoformat())
        measurements = [Measurement.model_validate(m) for m in found]
        return measurements, self.detector.observe(measurements)


def blocked(measurements: list[Measurement]) -> dict[str, str]:
    return {m.target: m.verdict.method for m in measurements if m.verdict.blocked}


def watch_a_block(
    lab: Lab,
    controls: dict[str, Any],
    block: Callable[[], contextlib.AbstractContextManager[None]],
    expected: dict[str, str],
) -> None:
    """Clean rounds open nothing; the block opens an X incident at the lab vantage within 2
    rounds, with the failing measurements as evidence; the lift closes it within 2 rounds."""
    agent = Agent(lab, controls)
    for _ in range(2):
        measurements, changes = agent.round()
        assert blocked(measurements) == {} and changes == []
    start = T0 + timedelta(minutes=agent.index)
    failing: list[str] = []
    with block():
        for _ in range(2):
            measurements, changes = agent.round()
            assert blocked(measurements) == expected
            failing += [m.id for m in measurements if m.verdict.blocked]
            if changes:
                break
    [opened] = changes
    incident = opened.incident
    assert opened.kind == "opened" and incident.status == "open"
    assert incident.started_at == start
    assert incident.detected_at - start <= timedelta(minutes=1)  # its first or second round
    assert (incident.platforms, incident.vantages) == (["x"], ["lab"])
    assert incident.method == next(iter(expected.values()))
    assert sorted(incident.evidence) == sorted(failing)
    assert incident.evidence_count == len(failing)
    lifted = T0 + timedelta(minutes=agent.index)
    for _ in range(2):
        measurements, changes = agent.round()
        assert blocked(measurements) == {}
        if changes:
            break
    [closed] = changes
    assert closed.kind == "closed" and closed.incident.id == incident.id
    assert closed.incident.end_reason == "lifted" and closed.incident.ended_at == lifted
    assert closed.incident.last_seen_at - lifted <= timedelta(minutes=1)


def test_an_sni_filter_of_one_target_opens_and_closes_within_2_rounds(
    lab: Lab, controls: dict[str, Any]
) -> None:
    watch_a_block(lab, controls, lab.sni_reset, {"x.test": "tls.sni_filter"})


def test_a_drop_of_xs_address_opens_and_closes_within_2_rounds(
    lab: Lab, controls: dict[str, Any]
) -> None:
    expected = {"twitter.test": "tcp.timeout", "twimg.test": "tcp.timeout"}
    watch_a_block(lab, controls, lambda: lab.drop(X_IP), expected)
