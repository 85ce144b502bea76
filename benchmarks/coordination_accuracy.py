"""Benchmark: how well the conversation analysis finds what the generator injected — the
coordinated campaign's accounts (precision and recall of each sign and of the `coordinated`
mark) and the hashtag bursts (found as spikes, and when).

Usage:
  python benchmarks/coordination_accuracy.py --posts 1000000
  python benchmarks/coordination_accuracy.py --posts 200000 --seeds 1 2 3
Results are written down in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from jalsa.conversation.analysis import analyze, precision_recall
from jalsa.conversation.engines import DuckDBEngine
from jalsa.sim.posts.files import write_parquet
from jalsa.sim.posts.plan import PostSimConfig
from jalsa.sim.posts.truth import ground_truth

SIGNS = ("copied_text", "fast_posting", "new_account_burst", "coordinated")


def one(posts: int, seed: int, folder: Path) -> dict[str, Any]:
    config = PostSimConfig(count=posts, seed=seed)
    parts = write_parquet(config, folder / f"posts-{seed}/")
    truth = ground_truth(config).to_dict()
    started = time.perf_counter()
    result = analyze(
        DuckDBEngine(parts),
        only=("overview", "coordinated_accounts", "tag_spikes", "spike_evidence"),
    )
    seconds = time.perf_counter() - started
    accounts = result.results["coordinated_accounts"]
    members = truth["campaign_members"]
    signs = {
        sign: precision_recall([a["author_id"] for a in accounts if a[sign]], members)
        for sign in SIGNS
    }
    start_minute = int(config.start.timestamp()) // 60
    bursts = []
    for burst in truth["bursts"]:
        found = [
            s
            for s in result.spikes
            if s["tag"] == burst["hashtag"]
            and s["first_minute"] - start_minute <= burst["end_minute"]
            and s["last_minute"] - start_minute >= burst["start_minute"]
        ]
        bursts.append(
            {
                "hashtag": burst["hashtag"],
                "minutes": [burst["start_minute"], burst["end_minute"]],
                "found": bool(found),
                "spike_minutes": [
                    [s["first_minute"] - start_minute, s["last_minute"] - start_minute]
                    for s in found
                ],
            }
        )
    injected = {b["hashtag"] for b in truth["bursts"]}
    return {
        "seed": seed,
        "posts": posts,
        "members": len(members),
        "signs": signs,
        "share_of_posts": {
            k: round(v["share_of_posts"] or 0.0, 4) for k, v in result.coordination.items()
        },
        "true_campaign_share": round(truth["campaign_posts"] / posts, 4),
        "bursts": bursts,
        "bursts_found": sum(b["found"] for b in bursts),
        "spikes": len(result.spikes),
        "spikes_of_other_tags": sum(1 for s in result.spikes if s["tag"] not in injected),
        "analysis_seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jalsa-coord-") as tmp:
        runs = [one(args.posts, seed, Path(tmp)) for seed in args.seeds]
    text = json.dumps(runs, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
