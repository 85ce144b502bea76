"""Benchmark: the cost of one refresh of the conversation panel after a new part of 10,000
posts arrives, on datasets of 1 and 10 million posts (65 million with `--posts 65000000`):
the live figures (`panel.live_summary`: the new part's partial aggregates merged into the
state kept from before) side by side with the full recomputation the panel did before
(`panel.summarize`: the batch measures over every part), in the same run.

Issue 21's target: the refresh cost flat in the size of the dataset.

Each measurement runs in its own child process (this script with `--child`), so its peak
resident memory is its own:

  live  a panel that has been running: the state is loaded from the stored partials and the
        figures (with every spike's evidence) computed once, then the new part is published
        and ONE refresh is timed. Peak RSS during the refresh is the process's high-water
        mark reset just before it (/proc/self/clear_refs), so it includes the state held.
        Also reported: what the refresh read (partials, parts for spike evidence) and the
        restart cost (loading the state from the partials).
  full  panel.summarize over every part, the new one included (a fresh process: the
        process's peak RSS).

The measurements alternate (live, full, live, full, ...) `--repeat` times; the table gives
the median and the best. Before them, the first build of the partials (once per part,
stored beside the dataset and reused by later runs) is timed too, and so is the partial of
the new part against ingesting the same 10,000 posts with `jalsa ingest` into an empty
dataset (the question whether ingest should compute partials as it publishes a part).

Usage:
  python benchmarks/conversation_refresh.py --posts 1000000 10000000 --repeat 3 \\
      --json benchmarks/results/conversation_refresh.json
Generated posts are kept under --workdir (default /tmp/jalsa-bench-refresh/) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
DEFAULT_WORKDIR = Path("/tmp/jalsa-bench-refresh")
NEW_NAME = "part-zzzz-new.parquet"  # sorts after the generated parts


# -- data ------------------------------------------------------------------------------------


def dataset_dir(workdir: Path, count: int) -> Path:
    """An event folder with `count` generated posts of a 7-hour rally as its parts (the
    generator's files of 5 million rows, linked in), generated once."""
    from jalsa.sim.posts.files import write_parquet
    from jalsa.sim.posts.plan import PostSimConfig

    generated = workdir / f"posts-{count}-7h"
    if not (generated / "done").exists():
        started = time.perf_counter()
        write_parquet(PostSimConfig(count=count, seed=1, hours=7.0), generated, directory=True)
        (generated / "done").write_text(f"{time.perf_counter() - started:.1f} s\n")
    event = workdir / f"event-{count}"
    posts = event / "posts"
    posts.mkdir(parents=True, exist_ok=True)
    for source in sorted(generated.glob("part-*.parquet")):
        target = posts / source.name
        if not target.exists():
            os.link(source, target)
    return event


def new_part(workdir: Path, rows: int) -> Path:
    """`rows` posts in the last 5 seconds of the rally (a live part, as gathering writes)."""
    from jalsa.sim.posts.files import write_parquet
    from jalsa.sim.posts.plan import DEFAULT_START, PostSimConfig

    path = workdir / f"new-{rows}.parquet"
    if not path.exists():
        start = DEFAULT_START + timedelta(hours=7) - timedelta(seconds=5)
        config = PostSimConfig(count=rows, seed=2, start=start, hours=5 / 3600)
        write_parquet(config, path)
    return path


# -- the children ----------------------------------------------------------------------------


def peak_rss_reset() -> None:
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child_live(event: Path, new: Path) -> dict[str, Any]:
    from jalsa.conversation import panel
    from jalsa.conversation.dataset import PostDataset
    from jalsa.conversation.live_figures import LiveFigures

    dataset = PostDataset(event)
    started = time.perf_counter()
    figures = LiveFigures(dataset)
    before = panel.live_summary(figures, "bench")
    load_seconds = time.perf_counter() - started
    state_mb = status_kb("VmRSS") / 1024
    target = dataset.posts / NEW_NAME
    os.link(new, target)
    try:
        report_box: list[Any] = []
        refresh = figures.refresh

        def recorded() -> Any:
            report = refresh()
            report_box.append(report)
            return report

        figures.refresh = recorded  # type: ignore[method-assign]
        warm_up()
        peak_rss_reset()
        started = time.perf_counter()
        after = panel.live_summary(figures, "bench")
        seconds = time.perf_counter() - started
        peak_mb = status_kb("VmHWM") / 1024
    finally:
        target.unlink()
        (event / "partials" / NEW_NAME).unlink(missing_ok=True)
    report = report_box[0]
    assert before.overview and after.overview
    return {
        "seconds": seconds,
        "peak_mb": peak_mb,
        "state_mb": state_mb,
        "load_seconds": load_seconds,
        "posts": after.overview.posts,
        "new_posts": after.overview.posts - before.overview.posts,
        "read": report.read,
        "computed": report.computed,
        "evidence_parts": report.evidence_parts,
        "spikes": len(after.spikes),
        "figures": figures_of(after),
    }


def warm_up() -> None:
    """What a running server paid once, at its first refresh: DuckDB imports pandas the
    first time an Arrow table is registered (0.8 s here), which the state loaded from stored
    partials has not done yet."""
    import duckdb
    import pyarrow as pa

    with duckdb.connect() as con:
        con.register("warm", pa.table({"a": [1]}))


def child_full(event: Path, new: Path) -> dict[str, Any]:
    from jalsa.conversation import panel
    from jalsa.conversation.dataset import PostDataset

    dataset = PostDataset(event)
    target = dataset.posts / NEW_NAME
    os.link(new, target)
    try:
        started = time.perf_counter()
        result = panel.summarize("bench", dataset.parts())
        seconds = time.perf_counter() - started
    finally:
        target.unlink()
    assert result.overview
    return {
        "seconds": seconds,
        "peak_mb": status_kb("VmHWM") / 1024,
        "posts": result.overview.posts,
        "spikes": len(result.spikes),
        "figures": figures_of(result),
    }


def figures_of(result: Any) -> dict[str, Any]:
    """The exact figures both ways must agree on (authors: the batch's exact count must lie
    within the live estimate's bounds, checked by the parent)."""
    o = result.overview
    return {
        "posts": o.posts,
        "kinds": [o.originals, o.reposts, o.replies, o.quotes],
        "authors": o.authors,
        "authors_bounds": o.authors_bounds.model_dump() if o.authors_bounds else None,
        "top_hashtags": [(t.tag, t.posts) for t in result.top_hashtags],
        "spikes": [(s.tag, s.first_epoch, s.last_epoch, s.posts) for s in result.spikes],
        "evidence": [[p.id for p in s.top_posts] for s in result.spikes],
    }


def child_first_build(event: Path, new: Path) -> dict[str, Any]:
    """The partials of every part, computed and stored (once; later runs reuse them), and
    the new part's partial against ingesting its posts into an empty dataset."""
    from jalsa.conversation import partials
    from jalsa.conversation.dataset import PostDataset
    from jalsa.conversation.ingest import ingest

    dataset = PostDataset(event)
    builds = {}
    for part in dataset.parts():
        if partials.read(dataset, part.name, part.stat().st_size) is None:
            started = time.perf_counter()
            partials.store(dataset, partials.compute(part))
            builds[part.name] = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as scratch:
        fresh = PostDataset(Path(scratch) / "event")
        started = time.perf_counter()
        summary = ingest(fresh, [new], fmt="posts")
        ingest_seconds = time.perf_counter() - started
        part = fresh.posts / str(summary.part)
        started = time.perf_counter()
        partials.store(fresh, partials.compute(part))
        partial_seconds = time.perf_counter() - started
    return {
        "first_build_seconds": builds,
        "ingest_10k_seconds": ingest_seconds,
        "partial_10k_seconds": partial_seconds,
    }


CHILDREN = {"live": child_live, "full": child_full, "build": child_first_build}


def run_child(kind: str, event: Path, new: Path) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, str(HERE), "--child", kind, str(event), str(new)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the run ---------------------------------------------------------------------------------


def measure(workdir: Path, count: int, rows: int, repeat: int) -> dict[str, Any]:
    event = dataset_dir(workdir, count)
    new = new_part(workdir, rows)
    build = run_child("build", event, new)
    print(f"{count:,} posts: first build {build}", flush=True)
    live, full = [], []
    for _ in range(repeat):
        live.append(run_child("live", event, new))
        full.append(run_child("full", event, new))
        print(
            f"  live {live[-1]['seconds']:.3f} s {live[-1]['peak_mb']:.0f} MB, "
            f"full {full[-1]['seconds']:.2f} s {full[-1]['peak_mb']:.0f} MB",
            flush=True,
        )
    check(live[0]["figures"], full[0]["figures"])
    keep = ("read", "computed", "evidence_parts", "load_seconds", "state_mb", "spikes")
    return {
        "posts": count,
        "new_posts": live[0]["new_posts"],
        "live": summary(live) | {k: live[0][k] for k in keep},
        "full": summary(full),
        **build,
        "load": os.getloadavg(),
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "seconds_median": statistics.median(r["seconds"] for r in runs),
        "seconds_best": min(r["seconds"] for r in runs),
        "peak_mb_median": statistics.median(r["peak_mb"] for r in runs),
        "runs": [{"seconds": r["seconds"], "peak_mb": r["peak_mb"]} for r in runs],
    }


def check(live: dict[str, Any], full: dict[str, Any]) -> None:
    """The live figures are the batch figures (authors within the sketch's bounds)."""
    for name in ("posts", "kinds", "top_hashtags", "spikes", "evidence"):
        got, want = live[name], full[name]
        if json.dumps(got) != json.dumps(want):
            raise SystemExit(f"live and full figures differ in {name}: {got!r} != {want!r}")
    bounds = live["authors_bounds"]
    if not bounds["lower"] <= full["authors"] <= bounds["upper"]:
        raise SystemExit(f"authors {full['authors']} outside the live bounds {bounds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--new", type=int, default=10_000, help="posts in the new part")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--clean", action="store_true", help="remove the stored partials first")
    parser.add_argument(
        "--child", nargs=3, metavar=("KIND", "EVENT", "NEW"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        kind, event, new = args.child
        print(json.dumps(CHILDREN[kind](Path(event), Path(new))))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for count in args.posts:
        if args.clean:
            shutil.rmtree(args.workdir / f"event-{count}" / "partials", ignore_errors=True)
        results.append(measure(args.workdir, count, args.new, args.repeat))
    print()
    print(
        "| posts | live refresh (median / best) | peak RSS | full recompute (median / best) "
        "| peak RSS | full / live |"
    )
    print("|---|---|---|---|---|---|")
    for r in results:
        live, full = r["live"], r["full"]
        print(
            f"| {r['posts']:,} | {live['seconds_median']:.3f} / {live['seconds_best']:.3f} s "
            f"| {live['peak_mb_median']:.0f} MB | {full['seconds_median']:.2f} / "
            f"{full['seconds_best']:.2f} s | {full['peak_mb_median']:.0f} MB "
            f"| {full['seconds_median'] / live['seconds_median']:.0f}x |"
        )
    print(f"load average at the end: {os.getloadavg()}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
