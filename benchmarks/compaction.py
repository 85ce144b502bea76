"""Benchmark: compacting the small parts live gathering leaves behind, against DuckDB copying
the same files into one, and the panel's queries before and after.

The posts are generated (`jalsa sim posts`' generator) as part files of about `--per-part`
posts each, as live gathering writes them (one part per ingestion round), and kept under
--workdir. Each measurement runs in a child process of its own (peak resident memory from
`os.wait4`), on a dataset of hard links to those files (compaction removes names, never the
cached files), page cache warm:

  copy        DuckDB alone: COPY (SELECT * FROM read_parquet([every part])) TO one file,
              DuckDB's default Parquet options
  copy-zstd   the same with the options every part is written with (zstd level 1, ...)
  compact     `jalsa.conversation.compaction.compact` with the default policy: parts
              of at most 512 MB, journal, fsync, lineage line, removal of the old parts
  overview    the panel's overview measure (`analyze(..., only=("overview",))`), before and
              after compaction
  panel       the panel's measures (panel.MEASURES: overview, top hashtags, hashtag volume per
              minute, spikes and their evidence), before and after

Also: how long the live gatherer's check takes (`compaction.due`: list the parts, stat each)
on the small parts, and how long each merge held the writer lock (ingestion waits that long).

Usage:
  python benchmarks/compaction.py --posts 10000000 --per-part 5000 --threads 1 2 \\
      --json benchmarks/results/compaction-10M.json
  python benchmarks/compaction.py --posts 200000 --per-part 5000   # a minute
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
DEFAULT_WORKDIR = Path("/tmp/jalsa-bench")
KINDS = ("copy", "copy-zstd", "compact", "overview", "panel")


def small_parts(count: int, per_part: int, seed: int, workdir: Path) -> list[Path]:
    """The generated posts in parts of about `per_part` posts, written by DuckDB with the
    options ingestion writes parts with, made once (complete.json)."""
    from jalsa.conversation.dataset import PART_OPTIONS
    from jalsa.conversation.ingest import connect
    from jalsa.sim.posts.files import write_parquet
    from jalsa.sim.posts.plan import PostSimConfig

    folder = workdir / f"small-{count}-{per_part}-{seed}"
    marker = folder / "complete.json"
    if marker.exists() and json.loads(marker.read_text()).get("written_by") == "duckdb":
        return [folder / name for name in json.loads(marker.read_text())["parts"]]
    print(f"generating {count:,} posts in parts of ~{per_part:,} in {folder} ...", flush=True)
    started = time.perf_counter()
    if marker.exists():  # generated, not yet rewritten
        parts = [folder / name for name in json.loads(marker.read_text())["parts"]]
    else:
        # a part per batch (batches hold whole seconds: about `per_part` posts)
        config = PostSimConfig(count=count, seed=seed, batch_rows=per_part, part_rows=1)
        parts = write_parquet(config, folder, directory=True)
        marker.write_text(json.dumps({"parts": [p.name for p in parts]}))
    con = connect(threads=1)
    for part in parts:  # as `jalsa ingest` writes parts
        tmp = part.with_suffix(".tmp")
        con.execute(f"COPY (SELECT * FROM read_parquet('{part}')) TO '{tmp}' ({PART_OPTIONS})")
        os.replace(tmp, part)
    con.close()
    seconds = round(time.perf_counter() - started, 1)
    info = {"parts": [p.name for p in parts], "seconds": seconds, "written_by": "duckdb"}
    marker.write_text(json.dumps(info))
    print(f"  {len(parts):,} parts in {seconds} s", flush=True)
    return parts


def linked(parts: list[Path], root: Path) -> Path:
    """A dataset folder whose parts are hard links to `parts`."""
    shutil.rmtree(root, ignore_errors=True)
    (root / "posts").mkdir(parents=True)
    for n, part in enumerate(parts):
        os.link(part, root / "posts" / f"part-20231217T000000-{n:08x}.parquet")
    return root


# ----------------------------------------------------------------------------------------
# In the child process
# ----------------------------------------------------------------------------------------


def child(kind: str, root: Path, threads: int, out: Path) -> None:
    from jalsa.conversation.analysis import analyze
    from jalsa.conversation.compaction import Policy, compact
    from jalsa.conversation.dataset import PART_OPTIONS, PostDataset
    from jalsa.conversation.engines import DuckDBEngine
    from jalsa.conversation.ingest import connect
    from jalsa.conversation.panel import MEASURES

    dataset = PostDataset(root)
    parts = dataset.parts()
    result: dict[str, Any] = {"parts_before": len(parts)}
    started = time.perf_counter()
    if kind.startswith("copy"):
        files = ", ".join(f"'{p}'" for p in parts)
        options = PART_OPTIONS if kind == "copy-zstd" else "FORMAT parquet"
        con = connect(root, threads=threads)
        target = root / "copy.parquet"
        rows = con.execute(
            f"COPY (SELECT * FROM read_parquet([{files}])) TO '{target}' ({options})"
        ).fetchall()[0][0]
        con.close()
        result.update(posts=rows, bytes_out=target.stat().st_size)
        target.unlink()
    elif kind == "compact":
        merges = compact(dataset, Policy(), threads=threads) or []
        result.update(
            merges=len(merges),
            posts=sum(m.posts for m in merges),
            bytes_out=sum(m.bytes_out for m in merges),
            locked_seconds=[round(m.locked_seconds, 4) for m in merges],
            merge_seconds=[round(m.seconds, 2) for m in merges],
        )
    else:
        engine = DuckDBEngine(parts, threads=threads)
        analysis = analyze(engine, only=("overview",) if kind == "overview" else MEASURES)
        engine.close()
        overview = analysis.results["overview"][0]
        result.update(posts=int(overview["posts"]), authors=int(overview["authors"]))
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["parts_after"] = len(dataset.parts())
    out.write_text(json.dumps(result))


def run_child(kind: str, root: Path, threads: int) -> dict[str, Any]:
    out = root.parent / f"{root.name}-{kind}.json"
    cmd = [sys.executable, str(HERE), "--child", kind, "--child-root", str(root)]
    cmd += ["--child-threads", str(threads), "--child-out", str(out)]
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"child {kind} failed with status {status}")
    result: dict[str, Any] = json.loads(out.read_text())
    result["peak_mb"] = round(usage.ru_maxrss / 1024)
    out.unlink()
    return result


# ----------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------


def check_cost(root: Path, times: int = 20) -> float:
    """Median seconds of the gatherer's check whether a compaction is due."""
    from jalsa.conversation.compaction import Policy, due
    from jalsa.conversation.dataset import PostDataset

    dataset, policy = PostDataset(root), Policy()
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        due(dataset, policy)
        spent.append(time.perf_counter() - started)
    return statistics.median(spent)


def warm(parts: list[Path]) -> float:
    size = 0
    for part in parts:
        size += len(part.read_bytes())
    return size / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10_000_000)
    parser.add_argument("--per-part", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--child-root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.child_root, args.child_threads, args.child_out)
        return
    if args.posts < 1 or args.per_part < 1 or any(t < 1 for t in args.threads):
        parser.error("--posts, --per-part and --threads must be at least 1")
    parts = small_parts(args.posts, args.per_part, args.seed, args.workdir)
    mb = warm(parts)
    root = args.workdir / "compaction-run"
    report: dict[str, Any] = {
        "posts": args.posts,
        "parts": len(parts),
        "mb": round(mb, 1),
        "load_average": os.getloadavg(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "check_seconds": round(check_cost(linked(parts, root)), 5),
        "runs": [],
    }
    print(f"{len(parts):,} parts, {mb:,.0f} MB; check: {report['check_seconds'] * 1000:.1f} ms")
    for threads in args.threads:
        for repeat in range(args.repeat):
            run: dict[str, Any] = {"threads": threads, "repeat": repeat}
            for kind in ("copy", "copy-zstd", "overview", "panel"):
                run[kind if kind.startswith("copy") else kind + "_before"] = run_child(
                    kind, linked(parts, root), threads
                )
            run["compact"] = run_child("compact", linked(parts, root), threads)
            for kind in ("overview", "panel"):
                run[kind + "_after"] = run_child(kind, root, threads)
            posts = {run[k]["posts"] for k in run if isinstance(run[k], dict)}
            assert posts == {args.posts}, posts  # every measure saw every post, once
            assert run["overview_before"]["authors"] == run["overview_after"]["authors"]
            report["runs"].append(run)
            show(run)
    report["load_average_end"] = os.getloadavg()
    shutil.rmtree(root, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
        print(f"written: {args.json}")


def show(run: dict[str, Any]) -> None:
    t = run["threads"]
    c = run["compact"]
    print(f"threads {t}:")
    for kind in ("copy", "copy-zstd", "compact"):
        r = run[kind]
        print(
            f"  {kind:10} {r['seconds']:8.1f} s  {r['bytes_out'] / 1e6:8.1f} MB out  "
            f"peak {r['peak_mb']:,} MB"
        )
    print(
        f"  compact: {c['merges']} merges, parts {c['parts_before']:,} -> {c['parts_after']:,}, "
        f"writer lock held at most {max(c['locked_seconds'] or [0]) * 1000:.1f} ms"
    )
    for kind in ("overview", "panel"):
        before, after = run[kind + "_before"], run[kind + "_after"]
        print(
            f"  {kind:10} before {before['seconds']:7.2f} s ({before['parts_before']:,} parts), "
            f"after {after['seconds']:7.2f} s ({after['parts_before']:,} parts)"
        )


if __name__ == "__main__":
    main()
