"""Datasets of numbered posts for the compaction tests, and the checks every test makes after
a compaction (or a crash in one): each post read exactly once, and a lineage that accounts
for every part (importable as `compactkit`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

import jalsa
from jalsa.conversation.compaction import STAGING, Policy
from jalsa.conversation.dataset import COMPACTING, PostDataset
from jalsa.platforms.post_record import POST_SCHEMA

SRC = str(Path(jalsa.__file__).parent.parent)


def write_parts(dataset: PostDataset, count: int, per_part: int, first: int = 0) -> list[str]:
    """`count` parts of `per_part` posts numbered from `first` (ids "0", "1", ...), with
    text that compresses about as badly as real posts; the parts' names, oldest first."""
    dataset.posts.mkdir(parents=True, exist_ok=True)
    names = []
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        for k in range(count):
            a = first + k * per_part
            name = f"part-20231217T14{k // 60:02d}{k % 60:02d}-{a:08x}.parquet"
            path = str(dataset.posts / name).replace("'", "''")
            con.execute(
                f"""COPY (SELECT 'x' AS platform, i::VARCHAR AS id,
                    'a' || (i % 997)::VARCHAR AS author_id, NULL::VARCHAR AS author_handle,
                    NULL::TIMESTAMPTZ AS author_created_at,
                    TIMESTAMPTZ '2023-12-17 14:00:00+00' + to_seconds(i // 50) AS created_at,
                    md5(i::VARCHAR) || ' ' || md5((i * 7)::VARCHAR) AS text,
                    NULL::VARCHAR AS lang, ['pti']::VARCHAR[] AS hashtags,
                    []::VARCHAR[] AS mentions, []::VARCHAR[] AS urls, NULL::VARCHAR AS reply_to,
                    NULL::VARCHAR AS repost_of, NULL::VARCHAR AS quote_of,
                    NULL::BIGINT AS like_count, NULL::BIGINT AS repost_count,
                    NULL::BIGINT AS reply_count, NULL::BIGINT AS quote_count,
                    NULL::BIGINT AS view_count, 'test' AS source
                    FROM range({a}, {a + per_part}) t(i)) TO '{path}' (FORMAT parquet)"""
            )
            names.append(name)
    written = pq.read_schema(dataset.posts / names[0])  # as DuckDB writes parts
    assert [(f.name, str(f.type).replace("element", "item")) for f in written] == [
        (f.name, str(f.type)) for f in POST_SCHEMA
    ]
    return names


def check_posts(parts: list[Path], total: int) -> None:
    """The parts hold exactly the posts numbered 0 to total - 1, each once."""
    if not parts:
        assert total == 0
        return
    files = ", ".join(f"'{p}'" for p in parts)
    with duckdb.connect() as con:
        count, distinct, low, high = con.execute(
            f"SELECT count(*), count(DISTINCT id), min(id::BIGINT), max(id::BIGINT) "
            f"FROM read_parquet([{files}])"
        ).fetchall()[0]
    assert (count, distinct, low, high) == (total, total, 0, total - 1)


def check_dataset(dataset: PostDataset, originals: list[str], total: int) -> None:
    """What a reader sees is right even mid-compaction: every post once, nothing from the
    staging folder, and every merged part it lists has its lineage (`dataset.lineage()`)."""
    with dataset.snapshot() as parts:
        check_posts(parts, total)
        rows = {p.name: pq.ParquetFile(p).metadata.num_rows for p in parts}
        lineage = {e["merged"]: e for e in dataset.lineage()}  # after the listing
    assert all(p.parent == dataset.posts for p in dataset.parts())

    def originals_of(name: str) -> list[str]:
        if name not in lineage:
            return [name]
        return [o for n in lineage[name]["replaces"] for o in originals_of(n)]

    covered = [o for name in rows for o in originals_of(name)]
    assert sorted(covered) == sorted(originals)  # each original part, by exactly one path
    for name, count in rows.items():
        if name in lineage:
            assert lineage[name]["posts"] == count


def check_finished(dataset: PostDataset, originals: list[str], total: int) -> None:
    """After a compaction that ran to its end: the above, no journal or staging left, no
    replaced part left on disk, and exactly one lineage line per merged part ever published."""
    check_dataset(dataset, originals, total)
    assert not (dataset.posts / COMPACTING).exists()
    assert not (dataset.root / STAGING).exists()
    on_disk = sorted(p.name for p in dataset.posts.glob("part-*.parquet"))
    assert on_disk == sorted(p.name for p in dataset.parts())
    lines = [e["compaction"] for e in dataset.history() if "compaction" in e]
    merged = [e["merged"] for e in lines]
    assert len(merged) == len(set(merged))
    replaced = {n for e in lines for n in e["replaces"]}
    for e in lines:  # published: still there, or merged again later
        assert e["merged"] in on_disk or e["merged"] in replaced
        assert set(e) == {"merged", "replaces", "posts", "at"}
    assert set(on_disk) <= set(originals) | set(merged)


CHILD = """
import json, os, signal, sys, time
from pathlib import Path
from jalsa.conversation import compaction
from jalsa.conversation.compaction import Policy, compact
from jalsa.conversation.dataset import PostDataset

root, policy = sys.argv[1], json.loads(sys.argv[2])
kill_at, pause = int(sys.argv[3]), float(sys.argv[4])
seen = 0

def step(name):
    global seen
    seen += 1
    print(seen, name, flush=True)
    if seen == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(pause)

compaction.on_step = step
policy["tiers"] = tuple(policy["tiers"])
compact(PostDataset(Path(root)), Policy(**policy), threads=1)
print("done", flush=True)
"""


def start_child(
    dataset: PostDataset, policy: Policy, kill_at: int = 0, pause: float = 0.0
) -> subprocess.Popen[str]:
    """A compaction in another process; it SIGKILLs itself after its `kill_at`-th step (0:
    never) and sleeps `pause` seconds after each step. It prints each step."""
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    args = [str(dataset.root), json.dumps(asdict(policy)), str(kill_at), str(pause)]
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *args], env=env, stdout=subprocess.PIPE, text=True
    )


def run_child(dataset: PostDataset, policy: Policy, kill_at: int = 0) -> tuple[bool, list[Any]]:
    """Run the child to its end; whether it was killed, and the steps it printed."""
    child = start_child(dataset, policy, kill_at)
    out, _ = child.communicate(timeout=120)
    killed = child.returncode == -signal.SIGKILL
    assert killed or child.returncode == 0, out
    return killed, [line.split() for line in out.splitlines()]
