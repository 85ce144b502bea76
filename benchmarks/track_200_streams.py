"""Benchmark: the tracker polling many streams against the simulator.

Measures, for the tracker process only (the simulator runs in its own process):
  - CPU use as a share of one core (process CPU time / wall time, after a warm-up),
  - lateness of each poll against its schedule (p50, p99, max),
  - resident memory over the run (first and last sample after warm-up, and the slope).

Usage:
  python benchmarks/track_200_streams.py --streams 200 --interval 5 --minutes 3
  python benchmarks/track_200_streams.py --minutes 60 --json results.json   # the hour-long run
Results are written down in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jalsa.config import load_settings
from jalsa.live.tracker import Tracker
from jalsa.sim.runner import spawn_simulator
from jalsa.sim.scenario import AUDIENCE_PLATFORMS, synthetic_id
from jalsa.store import Store
from jalsa.store.repo import add_stream, create_event

KIND = {
    "youtube": "youtube",
    "facebook": "facebook",
    "x_space": "x_space",
    "instagram": "instagram",
}


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_simulator(streams: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The simulator in its own process; returns Settings overrides (youtube_base_url, ...)."""
    proc, env = spawn_simulator("--streams", str(streams), "--at-minute", "30")
    return proc, {k.removeprefix("JALSA_").lower(): v for k, v in env.items()}


async def measure(
    args: argparse.Namespace, store: Store, urls: dict[str, str]
) -> dict[str, object]:
    settings = load_settings(
        **urls,
        youtube_api_key="k",
        facebook_access_token="t",
        instagram_access_token="t",
        x_bearer_token="t",
        youtube_interval=args.interval,
        facebook_interval=args.interval,
        instagram_interval=args.interval,
        x_space_interval=args.interval,
    )
    tracker = Tracker(store, "bench", settings)
    stop = asyncio.Event()
    task = asyncio.create_task(tracker.run(stop=stop))
    await asyncio.sleep(args.warmup)
    tracker.lateness.clear()
    cpu0, wall0, polls0 = cpu_seconds(), time.monotonic(), tracker.written
    memory: list[tuple[float, float]] = []
    end = wall0 + args.minutes * 60
    while time.monotonic() < end:
        memory.append((time.monotonic() - wall0, rss_mb()))
        await asyncio.sleep(min(args.memory_every, max(0.0, end - time.monotonic())))
    cpu1, wall1, polls1 = cpu_seconds(), time.monotonic(), tracker.written
    memory.append((wall1 - wall0, rss_mb()))
    lateness = sorted(tracker.lateness)
    stop.set()
    await task
    slope = statistics.linear_regression([t for t, _ in memory], [m for _, m in memory]).slope
    half = memory[len(memory) // 2 :]
    slope_late = statistics.linear_regression([t for t, _ in half], [m for _, m in half]).slope
    return {
        "streams": args.streams,
        "interval_s": args.interval,
        "measured_minutes": round((wall1 - wall0) / 60, 2),
        "polls": polls1 - polls0,
        "polls_per_s": round((polls1 - polls0) / (wall1 - wall0), 1),
        "cpu_share_of_one_core": round((cpu1 - cpu0) / (wall1 - wall0), 4),
        "lateness_ms": {
            "p50": round(1000 * lateness[len(lateness) // 2], 1),
            "p99": round(1000 * lateness[int(len(lateness) * 0.99)], 1),
            "max": round(1000 * lateness[-1], 1),
            "count": len(lateness),
        },
        "rss_mb": {
            "first": round(memory[0][1], 1),
            "last": round(memory[-1][1], 1),
            "max": round(max(m for _, m in memory), 1),
            "slope_mb_per_hour": round(slope * 3600, 2),
            "slope_second_half_mb_per_hour": round(slope_late * 3600, 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before measuring")
    parser.add_argument("--memory-every", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()

    sim, urls = start_simulator(args.streams)
    try:
        with tempfile.TemporaryDirectory() as folder:
            store = Store(f"sqlite:///{folder}/bench.db")
            with store.session() as s:
                event = create_event(
                    s,
                    name="bench",
                    starts_at=datetime.now(UTC) - timedelta(minutes=30),
                    duration=timedelta(hours=8),
                    timezone="Asia/Karachi",
                    slug="bench",
                )
                for i in range(args.streams):
                    platform = AUDIENCE_PLATFORMS[i % len(AUDIENCE_PLATFORMS)]
                    add_stream(s, event, kind=KIND[platform], external_id=synthetic_id(platform, i))
            result = asyncio.run(measure(args, store, urls))
    finally:
        sim.terminate()
        sim.wait(10)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
