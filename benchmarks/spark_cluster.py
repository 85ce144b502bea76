"""Benchmark: the full conversation analysis on a Spark standalone cluster against DuckDB, on
the same generated posts in the same run.

Issue 21's figure: "Spark cluster against DuckDB on 10M posts: figures equal, times reported."
The posts come from `jalsa sim posts --count N --hours H --out DIR/` (cached under --workdir).
The cluster is the one the tests start (jalsa.sim.spark_cluster: a master and --workers
workers on 127.0.0.1 from the pyspark package's launcher), so the work runs in executors, in
their own JVMs, reading the part files by absolute path. Each engine runs in a child process
(a fresh interpreter running this script with `--child`):

  duckdb  analyze(open_engine("duckdb", parts)): the default engine, all cores.
  spark   analyze(open_engine("spark", parts, spark=SparkOptions(master=...))): the session
          (driver JVM, executors on the workers, a first task) timed apart from the analysis.

Every figure of the two analyses is compared with jalsa.conversation.agreement.differences,
the comparison the conformance tests use (equal rows; floats to 9 significant digits; each
engine's HyperLogLog author estimate within 4 standard errors of the exact count). On this
2-core machine the cluster has what DuckDB has: two cores (one per worker), with the driver
and the daemons beside them.

Usage:
  python benchmarks/spark_cluster.py --posts 1000000
  python benchmarks/spark_cluster.py                      # 10 million posts
  python benchmarks/spark_cluster.py --posts 1000000 --json benchmarks/results/spark_cluster.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from analyze_posts import DEFAULT_VOICES

from jalsa.conversation.agreement import differences
from jalsa.conversation.analysis import Voices, analyze
from jalsa.conversation.engines import open_engine
from jalsa.conversation.spark_session import SparkOptions, parse_conf
from jalsa.sim.spark_cluster import StandaloneCluster

HERE = Path(__file__).resolve()
DEFAULT_WORKDIR = Path("/tmp/jalsa-bench")


def posts(count: int, seed: int, hours: float, workdir: Path) -> list[Path]:
    """`jalsa sim posts` into a folder of part files, made once and reused (complete.json
    marks a finished set)."""
    folder = workdir / f"sim-posts-{count}-{seed}-{hours:g}h"
    marker = folder / "complete.json"
    if not marker.exists():
        print(f"generating {count:,} posts with jalsa sim posts in {folder} ...", flush=True)
        command = [sys.executable, "-m", "jalsa.cli", "sim", "posts", "--count", str(count)]
        command += ["--hours", f"{hours:g}", "--seed", str(seed), "--out", f"{folder}/"]
        subprocess.run(command, check=True)
        marker.write_text(json.dumps({"posts": count, "seed": seed, "hours": hours}))
    return sorted(folder.glob("*.parquet"))


def child(engine: str, parts: list[Path], out: Path, args: argparse.Namespace) -> None:
    voices = Voices.parse(args.voice)
    spark = None
    if engine == "spark":
        conf = {"spark.executor.memory": args.executor_memory} | parse_conf(args.conf)
        spark = SparkOptions(master=args.master, conf=conf, executor_wait=600)
    started = time.perf_counter()
    runner = open_engine(engine, parts, spark=spark)
    opened = time.perf_counter()
    try:
        result = analyze(runner, voices=voices)
    finally:
        runner.close()
    done = time.perf_counter()
    data = result.as_dict() | {
        "opened_s": round(opened - started, 2),
        "analysis_s": round(done - opened, 2),
        "total_s": round(done - started, 2),
    }
    out.write_text(json.dumps(data, default=str))


def run_child(engine: str, folder: Path, out: Path, args: argparse.Namespace, master: str) -> Any:
    command = [sys.executable, str(HERE), "--child", engine, "--child-dir", str(folder)]
    command += ["--child-out", str(out), "--master", master]
    command += ["--executor-memory", args.executor_memory]
    command += [x for v in args.voice for x in ("--voice", v)]
    command += [x for c in args.conf for x in ("--conf", c)]
    print(f"{engine}: running ...", flush=True)
    began = time.perf_counter()
    subprocess.run(command, check=True, timeout=args.timeout)
    data = json.loads(out.read_text())
    print(
        f"{engine}: {data['total_s']} s ({data['opened_s']} s to open, "
        f"{data['analysis_s']} s analysis; {time.perf_counter() - began:.1f} s with the child's "
        "start)",
        flush=True,
    )
    return data


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    parts = posts(args.posts, args.seed, args.hours, args.workdir)
    folder = parts[0].parent
    load_before = os.getloadavg()
    duck = run_child("duckdb", folder, args.workdir / "spark-bench-duckdb.json", args, "")
    root = args.workdir / f"spark-cluster-{os.getpid()}"
    cluster = StandaloneCluster(
        root, workers=args.workers, cores=args.worker_cores, memory=args.worker_memory
    )
    began = time.perf_counter()
    with cluster:
        print(f"cluster: {cluster.master_url} in {time.perf_counter() - began:.1f} s", flush=True)
        out = args.workdir / "spark-bench-spark.json"
        spark = run_child("spark", folder, out, args, cluster.master_url)
        apps = cluster.state()["activeapps"] + cluster.state()["completedapps"]
    shutil.rmtree(root, ignore_errors=True)  # the executors' spill and shuffle files
    found = differences(duck, spark)
    return {
        "posts": args.posts,
        "hours": args.hours,
        "seed": args.seed,
        "parts": len(parts),
        "cluster": {
            "workers": args.workers,
            "cores_per_worker": args.worker_cores,
            "worker_memory": args.worker_memory,
            "executor_memory": args.executor_memory,
            "applications": [a["id"] for a in apps],
            "conf": args.conf,
        },
        "duckdb_s": {k: duck[k] for k in ("opened_s", "analysis_s", "total_s")},
        "spark_s": {k: spark[k] for k in ("opened_s", "analysis_s", "total_s")},
        "spark_over_duckdb": round(spark["total_s"] / duck["total_s"], 2),
        "every_figure_equal": not found,
        "differences": found,
        "seconds_per_measure": {"duckdb": duck["seconds"], "spark": spark["seconds"]},
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10_000_000)
    parser.add_argument("--hours", type=float, default=7.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--voice", action="append", help="NAME=#tag,phrase (repeat)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-cores", type=int, default=1)
    parser.add_argument("--worker-memory", default="3g")
    parser.add_argument("--executor-memory", default="2g")
    parser.add_argument("--conf", action="append", default=[], help="Spark KEY=VALUE (repeat)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per engine")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--child", choices=("duckdb", "spark"), help=argparse.SUPPRESS)
    parser.add_argument("--child-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--master", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.voice = args.voice or DEFAULT_VOICES
    if args.child:
        child(args.child, sorted(args.child_dir.glob("*.parquet")), args.child_out, args)
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    report = benchmark(args)
    shown = {k: v for k, v in report.items() if k != "seconds_per_measure"}
    print(json.dumps(shown, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["every_figure_equal"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
