"""Benchmark: ingest X API v2 JSONL (search pages, 100 tweets each) into an event's post
dataset — normalized, deduplicated, bad lines quarantined, written as Parquet — beside DuckDB's
own `read_json` with explicit columns loading the same file into a table, in the same run.
The target: at least half of DuckDB's rate.

Usage:
  python benchmarks/ingest_x_jsonl.py --posts 5000000
  python benchmarks/ingest_x_jsonl.py --posts 200000 --json /tmp/small.json
The generated file is kept in --workdir and reused. Results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import duckdb

from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.ingest import ingest
from jalsa.sim.posts.plan import PostSimConfig
from jalsa.sim.posts.x_json import write_x_jsonl

# The columns DuckDB's loader is given: the same fields our ingestion takes from a page.
_TWEET = (
    "STRUCT(id VARCHAR, text VARCHAR, author_id VARCHAR, created_at VARCHAR, lang VARCHAR, "
    "entities STRUCT(hashtags STRUCT(tag VARCHAR)[], mentions STRUCT(username VARCHAR)[], "
    "urls STRUCT(url VARCHAR, expanded_url VARCHAR)[]), "
    "referenced_tweets STRUCT(type VARCHAR, id VARCHAR)[], "
    "public_metrics STRUCT(retweet_count BIGINT, reply_count BIGINT, like_count BIGINT, "
    "quote_count BIGINT, impression_count BIGINT))[]"
)
_USERS = "STRUCT(users STRUCT(id VARCHAR, username VARCHAR, created_at VARCHAR)[])"


def warm(path: Path) -> None:
    """Read the file once so both loaders find it in the page cache."""
    with path.open("rb") as f:
        while f.read(64 << 20):
            pass


def duckdb_load(path: Path) -> tuple[float, int]:
    """DuckDB's read_json into a table, explicit columns; seconds and tweets loaded."""
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(
        "CREATE TABLE pages AS SELECT * FROM read_json(?, format = 'newline_delimited', "
        f"columns = {{data: '{_TWEET}', includes: '{_USERS}'}}, "
        "maximum_object_size = 268435456)",
        [str(path)],
    )
    seconds = time.perf_counter() - started
    tweets = int(con.execute("SELECT sum(len(data)) FROM pages").fetchall()[0][0])
    con.close()
    return seconds, tweets


def ours(path: Path, folder: Path) -> tuple[float, int, int]:
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    summary = ingest(PostDataset(folder), [path], "x")
    seconds = time.perf_counter() - started
    return seconds, summary.accepted, summary.quarantined


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / f"x-{args.posts}-{args.seed}.jsonl"
    if not source.exists():
        print(f"generating {args.posts:,} posts as X API v2 JSONL ...", flush=True)
        write_x_jsonl(PostSimConfig(count=args.posts, seed=args.seed), source)
    size = source.stat().st_size
    mb = size / 1e6
    warm(source)
    runs = []
    for attempt in range(args.repeat):
        duck_s, duck_tweets = duckdb_load(source)
        our_s, accepted, quarantined = ours(source, workdir / "dataset")
        runs.append((duck_s, our_s))
        print(
            f"run {attempt + 1}: duckdb read_json {duck_s:.1f} s ({mb / duck_s:,.0f} MB/s), "
            f"jalsa ingest {our_s:.1f} s ({mb / our_s:,.0f} MB/s)",
            flush=True,
        )
    duck_s = min(r[0] for r in runs)
    our_s = min(r[1] for r in runs)
    shutil.rmtree(workdir / "dataset", ignore_errors=True)
    return {
        "posts": args.posts,
        "file_mb": round(mb, 1),
        "repeat": args.repeat,
        "duckdb_read_json": {
            "seconds": round(duck_s, 2),
            "mb_per_s": round(mb / duck_s, 1),
            "tweets": duck_tweets,
        },
        "jalsa_ingest": {
            "seconds": round(our_s, 2),
            "mb_per_s": round(mb / our_s, 1),
            "posts_per_s": round(accepted / our_s),
            "accepted": accepted,
            "quarantined": quarantined,
        },
        "ratio_of_duckdb_rate": round(duck_s / our_s, 3),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs of each")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/jalsa-bench"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
