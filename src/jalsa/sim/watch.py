"""Simulated probe measurements with injected blocks, for the detector's tests and benchmark.

V vantages probe the T targets once per round (1 minute). Normal rounds carry noise: each
measurement fails on its own with a small probability (a random method: timeouts, resets), a
vantage's link sometimes drops for one round (every target times out: a blip), and latency
varies. Blocks are injected with their platforms, vantages (or nationwide), start, end, method
and optionally a subset of targets (partial blocks); the blocks are the ground truth.

Measurements are built lazily, one round of all vantages at a time, with `model_construct`
(no validation: the generator makes them right), so a week of 504,000 fits in seconds.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from jalsa.watch.record import (
    DEFAULT_TARGETS,
    Measurement,
    Observations,
    Target,
    Vantage,
    Verdict,
)

DEFAULT_VANTAGES: tuple[Vantage, ...] = (
    Vantage(name="lahore-ptcl", city="Lahore", network="PTCL"),
    Vantage(name="karachi-jazz", city="Karachi", network="Jazz"),
    Vantage(name="islamabad-nayatel", city="Islamabad", network="Nayatel"),
    Vantage(name="peshawar-zong", city="Peshawar", network="Zong"),
    Vantage(name="quetta-telenor", city="Quetta", network="Telenor"),
)

# Random failures of normal rounds, with their weights.
NOISE_METHODS = {"tcp.timeout": 5, "tls.timeout": 2, "http.failure": 2, "tcp.reset": 1}
START = datetime(2026, 12, 1, tzinfo=UTC)
Control = Literal["measured", "reference", "none"]


@dataclass(frozen=True)
class Block:
    """An injected block: these platforms (or targets) fail from these vantages in
    [start, end). `vantages=None` is nationwide; `hosts=None` blocks every target of the
    platforms; `fail_rate` below 1 makes a blocked target fail in only that share of rounds;
    `control` overrides the verdicts' control ("none": the vantage reached no control, so a
    censor-only method is unconfirmed)."""

    platforms: tuple[str, ...]
    start: datetime
    end: datetime
    method: str = "tls.sni_filter"
    vantages: tuple[str, ...] | None = None
    hosts: tuple[str, ...] | None = None
    fail_rate: float = 1.0
    control: Control | None = None
    name: str = ""

    def blocks(self, vantage: str, target: Target, at: datetime) -> bool:
        return (
            self.start <= at < self.end
            and target.platform in self.platforms
            and (self.vantages is None or vantage in self.vantages)
            and (self.hosts is None or target.host in self.hosts)
        )


@dataclass
class WatchSim:
    """A seeded run of simulated measurements; iterate `rounds()`."""

    rounds_count: int = 60
    start: datetime = START
    round_interval: timedelta = timedelta(minutes=1)
    vantages: tuple[Vantage, ...] = DEFAULT_VANTAGES
    targets: tuple[Target, ...] = DEFAULT_TARGETS
    blocks: list[Block] = field(default_factory=list)
    noise: float = 0.02  # share of normal measurements that fail at random
    blip_rate: float = 0.002  # share of a vantage's rounds in which its link drops for a round
    latency_ms: float = 80.0
    seed: int = 0

    def round_at(self, index: int) -> datetime:
        return self.start + index * self.round_interval

    def index_of(self, at: datetime) -> int:
        return int((at - self.start) / self.round_interval)

    def rounds(self) -> Iterator[list[Measurement]]:
        """Yield one list per round: every vantage's measurements of every target."""
        rng = random.Random(self.seed)
        empty = Observations()
        verdicts: dict[tuple[str, str], Verdict] = {}
        noise_methods, noise_weights = list(NOISE_METHODS), list(NOISE_METHODS.values())
        last_blip = {v.name: -2 for v in self.vantages}

        def verdict(method: str, control: Control) -> Verdict:
            found = verdicts.get((method, control))
            if found is None:
                found = verdicts[method, control] = Verdict.model_construct(
                    method=method, reason=f"simulated: {method}", control=control
                )
            return found

        for index in range(self.rounds_count):
            round_at = self.round_at(index)
            out: list[Measurement] = []
            for vantage in self.vantages:
                blip = rng.random() < self.blip_rate and last_blip[vantage.name] < index - 1
                if blip:
                    last_blip[vantage.name] = index
                for t, target in enumerate(self.targets):
                    started = round_at + timedelta(seconds=2 * t + rng.random())
                    latency: float | None = self.latency_ms * rng.lognormvariate(0, 0.3)
                    control: Control = "measured" if rng.random() < 0.95 else "reference"
                    method = "ok"
                    block = next(
                        (b for b in self.blocks if b.blocks(vantage.name, target, round_at)), None
                    )
                    if blip:
                        method, control, latency = "tcp.timeout", "none", None
                    elif block is not None and (
                        block.fail_rate >= 1 or rng.random() < block.fail_rate
                    ):
                        method, control = block.method, block.control or control
                        latency = None if "timeout" in method else latency
                    elif rng.random() < self.noise:
                        method = rng.choices(noise_methods, noise_weights)[0]
                        latency = None
                    seconds = (latency or 10_000.0) / 1000
                    out.append(
                        Measurement.model_construct(
                            id=f"{vantage.name}-{index}-{target.host}",
                            target=target.host,
                            platform=target.platform,
                            vantage=vantage,
                            round_at=round_at,
                            started_at=started,
                            finished_at=started + timedelta(seconds=seconds),
                            observations=empty,
                            control=None,
                            verdict=verdict(method, control),
                            latency_ms=latency,
                            source="sim",
                        )
                    )
            yield out

    def affected(self, block: Block) -> list[tuple[str, str]]:
        """The (vantage, platform) series a block touches."""
        names = [v.name for v in self.vantages]
        pairs = [
            (v, t.platform)
            for v in (block.vantages or names)
            for t in self.targets
            if t.platform in block.platforms and (block.hosts is None or t.host in block.hosts)
        ]
        return list(dict.fromkeys(pairs))
