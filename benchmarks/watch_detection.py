"""Benchmark: how fast the disruption detector opens and closes incidents on injected blocks,
and how many false incidents a simulated week of noisy normal measurements gives.

A week of 1-minute rounds, 10 targets x 5 vantages (504,000 measurements), 2% random
failures, one-round vantage blips, latency noise, and blocks of various shapes, among them
one-target blocks at one vantage with censor-only methods (2 rounds) and with a weak one (4).
Delays are in rounds seen: 1 = decided in the block's first round (or the first round after
its end).

Usage:
  python benchmarks/watch_detection.py
  python benchmarks/watch_detection.py --seeds 1 2 3 --noise 0.02
Results are written down in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jalsa.sim.watch import START, Block, WatchSim
from jalsa.watch.detector import Detector
from jalsa.watch.incidents import Incident

ALL = ("x", "facebook", "instagram", "youtube")
DAY = 24 * 60


def at(minute: int) -> datetime:
    return START + timedelta(minutes=minute)


def blocks() -> list[Block]:
    def b(
        name: str, platforms: tuple[str, ...], start: int, minutes: int, method: str, **kw: Any
    ) -> Block:
        return Block(platforms, at(start), at(start + minutes), method, name=name, **kw)

    return [
        b("2023 night: 4 platforms nationwide, SNI, 7 h", ALL, 20 * 60, 7 * 60, "tls.sni_filter"),
        b("all platforms nationwide, TCP timeouts, 1 h", ALL, DAY + 10 * 60, 60, "tcp.timeout"),
        b("X at Lahore/PTCL, SNI, 2 h", ("x",), DAY + 16 * 60, 120, "tls.sni_filter",
          vantages=("lahore-ptcl",)),
        b("X CDN only (2 of 4 hosts) nationwide, TCP reset, 45 min", ("x",), 2 * DAY + 9 * 60,
          45, "tcp.reset", hosts=("abs.twimg.com", "video.twimg.com")),
        b("Facebook at Quetta/Telenor, DNS NXDOMAIN, 30 min", ("facebook",), 2 * DAY + 18 * 60,
          30, "dns.nxdomain", vantages=("quetta-telenor",)),
        b("YouTube video hosts (2 of 3) at Karachi and Peshawar, throttled, 1 h", ("youtube",),
          3 * DAY + 12 * 60, 60, "throttled",
          vantages=("karachi-jazz", "peshawar-zong"),
          hosts=("redirector.googlevideo.com", "i.ytimg.com")),
        b("Instagram at 3 vantages, block page, 40 min", ("instagram",), 4 * DAY + 8 * 60, 40,
          "http.blockpage", vantages=("lahore-ptcl", "karachi-jazz", "islamabad-nayatel")),
        b("Instagram at Islamabad only (1 target), block page, 40 min", ("instagram",),
          4 * DAY + 20 * 60, 40, "http.blockpage", vantages=("islamabad-nayatel",)),
        b("x.com only (1 of X's 4 targets) at Karachi/Jazz, DNS NXDOMAIN, 30 min", ("x",),
          3 * DAY + 20 * 60, 30, "dns.nxdomain", vantages=("karachi-jazz",), hosts=("x.com",)),
        b("Instagram at Peshawar only (1 target), TCP timeouts (weak), 40 min", ("instagram",),
          5 * DAY + 20 * 60, 40, "tcp.timeout", vantages=("peshawar-zong",)),
        b("X and YouTube at Lahore and Karachi, TCP timeouts, 10 min", ("x", "youtube"),
          5 * DAY + 14 * 60, 10, "tcp.timeout", vantages=("lahore-ptcl", "karachi-jazz")),
        b("Facebook nationwide, intermittent (70% of rounds), TCP reset, 30 min", ("facebook",),
          6 * DAY + 11 * 60, 30, "tcp.reset", fail_rate=0.7),
    ]  # fmt: skip


def matches(incident: Incident, block: Block, end: datetime) -> bool:
    over = incident.ended_at or end
    return (
        incident.started_at <= block.end + timedelta(minutes=5)
        and over >= block.start
        and bool(set(incident.platforms) & set(block.platforms))
        and (block.vantages is None or bool(set(incident.vantages) & set(block.vantages)))
    )


def stats(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"max": None, "median": None}
    return {"max": max(values), "median": statistics.median(values)}


def one(seed: int, noise: float, rounds: int) -> dict[str, Any]:
    sim = WatchSim(rounds_count=rounds, blocks=blocks(), noise=noise, seed=seed)
    detector = Detector()
    measurements, detecting, started = 0, 0.0, time.perf_counter()
    for batch in sim.rounds():
        measurements += len(batch)
        t = time.perf_counter()
        detector.observe(batch)
        detecting += time.perf_counter() - t
    total = time.perf_counter() - started
    end = sim.round_at(rounds)
    incidents = detector.incidents()
    matched: set[str] = set()
    report = []
    for block in sim.blocks:
        if block.start >= end:
            continue
        found = [i for i in incidents if matches(i, block, end)]
        matched |= {i.id for i in found}
        affected = sim.affected(block)
        opens, closes, episodes = [], [], 0
        for vantage, platform in affected:
            mine = [
                s
                for i in found
                for s in i.series
                if (s.vantage, s.platform) == (vantage, platform)
                and s.started_at <= block.end + timedelta(minutes=2)
            ]
            episodes += len(mine)
            if not mine:
                continue
            opens.append(sim.index_of(mine[0].detected_at) - sim.index_of(block.start) + 1)
            if mine[-1].closed_at is not None:
                closes.append(sim.index_of(mine[-1].closed_at) - sim.index_of(block.end) + 1)
        report.append(
            {
                "block": block.name,
                "incidents": [i.id for i in found],
                "series_affected": len(affected),
                "series_detected": len(opens),
                "episodes": episodes,
                "open_delay_rounds": stats(opens),
                "close_delay_rounds": stats(closes),
                "started_at_error_rounds": (
                    [sim.index_of(i.started_at) - sim.index_of(block.start) for i in found]
                ),
                "confidence": [i.confidence for i in found],
            }
        )
    false = [i for i in incidents if i.id not in matched]
    weeks = rounds / (7 * DAY)
    return {
        "seed": seed,
        "noise": noise,
        "rounds": rounds,
        "measurements": measurements,
        "blips_set_aside": sum(detector.blips().values()),
        "blocks": report,
        "missed_blocks": sum(1 for b in report if not b["incidents"]),
        "false_incidents": len(false),
        "false_incidents_per_week": round(len(false) / weeks, 2),
        "false": [i.summary for i in false],
        "detector_seconds": round(detecting, 2),
        "measurements_per_second": round(measurements / detecting),
        "total_seconds": round(total, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--noise", type=float, default=0.02)
    parser.add_argument("--rounds", type=int, default=7 * DAY)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/watch_detection.json"))
    args = parser.parse_args()
    runs = []
    for seed in args.seeds:
        run = one(seed, args.noise, args.rounds)
        runs.append(run)
        print(
            f"seed {seed}: {run['measurements']:,} measurements, detector "
            f"{run['measurements_per_second']:,}/s; false incidents {run['false_incidents']}, "
            f"missed blocks {run['missed_blocks']}, blips set aside {run['blips_set_aside']}"
        )
        for b in run["blocks"]:
            o, c = b["open_delay_rounds"], b["close_delay_rounds"]
            print(
                f"  {b['block']}: {b['series_detected']}/{b['series_affected']} series, "
                f"open max {o['max']} median {o['median']}, close max {c['max']} "
                f"median {c['median']}, incidents {len(b['incidents'])}"
            )
        for summary in run["false"]:
            print(f"  false: {summary}")
    weeks = sum(r["rounds"] for r in runs) / (7 * DAY)
    result = {
        "command": "python benchmarks/watch_detection.py "
        + " ".join([f"--seeds {' '.join(map(str, args.seeds))}", f"--noise {args.noise}"]),
        "when": datetime.now().isoformat(timespec="seconds"),
        "weeks": round(weeks, 2),
        "false_incidents_per_week": round(sum(r["false_incidents"] for r in runs) / weeks, 2),
        "missed_blocks": sum(r["missed_blocks"] for r in runs),
        "open_delay_max": max(
            b["open_delay_rounds"]["max"] or 0 for r in runs for b in r["blocks"]
        ),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
