"""Benchmark: memory and CPU of the vantage agent per probe round.

Runs the real agent (`jalsa watch agent`, a subprocess) for N rounds against a real jalsa
server (uvicorn on loopback, in this process) with the control helper on, probing 10 targets
on a loopback HTTPS site (DNS, TCP, TLS with the real and a control SNI, HTTPS, a 256 KB
throughput sample each), storing to its outbox and uploading every round. CPU seconds and
peak RSS come from the kernel's accounting of the finished child (wait4); the RSS over time
from /proc/PID/status, read every 0.2 s. A run with 0 rounds measures start-up alone, which
is subtracted from the per-round CPU figure.

Usage:
  python benchmarks/watch_agent.py --rounds 30
Results are written down in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "web")]

from webkit import make_team, web_settings  # noqa: E402

from jalsa.store import Store  # noqa: E402
from jalsa.watch.probe import ProbeConfig  # noqa: E402
from jalsa.web.app import create_app  # noqa: E402
from jalsa.web.services import app_services  # noqa: E402
from watch.servers import AppServer, probe_settings, tls_site  # noqa: E402

PLATFORMS = ("x", "facebook", "instagram", "youtube")


def targets_file(folder: Path, port: int, ca: Path, count: int) -> Path:
    lines = []
    for i in range(count):
        lines += [
            "[[targets]]",
            'host = "localhost"',
            f'platform = "{PLATFORMS[i % len(PLATFORMS)]}"',
            f'path = "/page{i}"',
            f"port = {port}",
            f'sample_url = "https://localhost:{port}/big"',
        ]
    lines.append("[probe]")
    for key, value in probe_settings(ca).items():
        lines.append(f"{key} = {json.dumps(value)}")
    path = folder / "targets.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def run_agent(url: str, token: str, targets: Path, data: Path, rounds: int) -> dict[str, Any]:
    env = {**os.environ, "JALSA_CONFIG": str(data / "absent.toml"), "NO_COLOR": "1"}
    start = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "jalsa.cli", "watch", "agent", "--server", url,
            "--token", token, "--name", "bench-1", "--city", "Lahore", "--network", "PTCL",
            "--every", "1", "--targets", str(targets), "--data-dir", str(data),
            "--rounds", str(rounds),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    samples: list[tuple[float, int]] = []
    while process.poll() is None:
        kb = rss_kb(process.pid)
        if kb is not None:
            samples.append((time.monotonic() - start, kb))
        time.sleep(0.2)
        if time.monotonic() - start > 600:
            process.kill()
    # poll() reaped the child; its accounting is read from the children's totals instead.
    output = process.stdout.read().decode() if process.stdout else ""
    return {"seconds": time.monotonic() - start, "rss_samples": samples, "output": output}


def children_usage() -> tuple[float, int]:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/watch_agent.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        with tls_site(folder / "tls") as (port, ca):
            url = f"sqlite:///{folder / 'jalsa.db'}"
            store = Store(url)
            token = make_team(store)["volunteer"].token
            app = create_app(store, web_settings(folder, url, watch_control_private=True))
            app_services(app).watch.probe_config = ProbeConfig.model_validate(probe_settings(ca))
            server = AppServer()
            server.start(app)
            targets = targets_file(folder, port, ca, args.targets)
            cpu0, _ = children_usage()
            run_agent(server.url, token, targets, folder / "idle", 0)
            cpu1, maxrss_idle = children_usage()
            busy = run_agent(server.url, token, targets, folder / "busy", args.rounds)
            cpu2, maxrss_busy = children_usage()
            server.stop()
            store.dispose()
    startup_cpu, total_cpu = cpu1 - cpu0, cpu2 - cpu1
    rss = [kb for _, kb in busy["rss_samples"]]
    # RSS after the first rounds (start-up done) and at the end: growth per round.
    settled = [kb for t, kb in busy["rss_samples"] if t > busy["seconds"] * 0.2]
    result = {
        "rounds": args.rounds,
        "targets_per_round": args.targets,
        "startup_cpu_s": round(startup_cpu, 3),
        "total_cpu_s": round(total_cpu, 3),
        "cpu_s_per_round": round((total_cpu - startup_cpu) / args.rounds, 4),
        "cpu_ms_per_measurement": round(
            (total_cpu - startup_cpu) / args.rounds / args.targets * 1000, 2
        ),
        "wall_s": round(busy["seconds"], 1),
        "rss_mb_first_settled": round(settled[0] / 1024, 1) if settled else None,
        "rss_mb_last": round(rss[-1] / 1024, 1) if rss else None,
        "rss_mb_max_sampled": round(max(rss) / 1024, 1) if rss else None,
        "maxrss_mb_children": round(max(maxrss_idle, maxrss_busy) / 1024, 1),
        "rounds_printed": busy["output"].count(f"{args.targets} targets:"),
        "machine": f"{os.cpu_count()} cores, shared",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(busy["output"].strip().splitlines()[-3:])


if __name__ == "__main__":
    main()
