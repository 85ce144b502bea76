"""Moderation classifier throughput on one core, on a realistic mix of comments.

Pins the process to one CPU and BLAS to one thread, then scores the held-out comments (RUHSOLD
validation, the Davidson held-out split, the Urdu-script set's test split) with a sprinkling of
the items a live chat also carries (emoji only, empty, very long, mixed script), in batches of 64
as the inbox service sends them. Target: at least 2,000 comments/s.

    python benchmarks/classifier_speed.py --data DIR [--model FILE | --shipped] [--rounds 3]

The first round meets every word for the first time (empty feature caches), the later rounds
meet them again, as a live chat does; both are reported. Reports comments per second of wall
time and per second of CPU time (the second is what one core does when other work shares the
machine). Without --model the adopted model of JALSA_DATA_DIR is used, or one is trained into
a temporary folder first (about a minute).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import json
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from threadpoolctl import threadpool_limits

from jalsa.errors import UserError
from jalsa.inbox.classifier import Model
from jalsa.inbox.model_files import load_model
from jalsa.inbox.shipped import load_shipped
from jalsa.inbox.training import load_training_data, train

BATCH = 64
RESULTS = Path(__file__).with_name("results")


def realistic_mix(data_dir: Path | None, seed: int = 1) -> list[str]:
    """Held-out comments of every route, plus 2% of the odd items a live chat has."""
    held_out = load_training_data(data_dir).frozen_eval
    texts = [t for texts, _ in held_out.values() for t in texts]
    odd = ["😂😂😂", "", "🔥🔥 #jalsa", "bohat acha، بہت خوب", "x" * 3000, "12345", "👍"]
    rng = random.Random(seed)
    texts += [rng.choice(odd) for _ in range(len(texts) // 50)]
    rng.shuffle(texts)
    return texts


def get_model(path: Path | None, data_dir: Path | None) -> Model:
    if path is not None:
        return load_model(path)
    try:
        return load_model()
    except UserError:
        print("no model loads: training one into a temporary folder...", flush=True)
        return train(data_dir, Path(tempfile.mkdtemp()), baseline=False)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--shipped", action="store_true", help="the model that ships with jalsa")
    parser.add_argument("--data", type=Path, default=os.environ.get("JALSA_DATASETS") or None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0, help="the one core to run on")
    parser.add_argument("--out", type=Path, default=RESULTS / "classifier_speed.json")
    args = parser.parse_args()

    os.sched_setaffinity(0, {args.cpu})
    model = load_shipped() if args.shipped else get_model(args.model, args.data)
    texts = realistic_mix(args.data)
    with threadpool_limits(limits=1):
        model.predict(texts[:BATCH])  # warm-up
        rates: list[float] = []
        cpu_rates: list[float] = []
        batch_ms: list[float] = []
        for _ in range(args.rounds):
            start, cpu_start = time.perf_counter(), time.process_time()
            for i in range(0, len(texts), BATCH):
                t0 = time.perf_counter()
                model.predict(texts[i : i + BATCH])
                batch_ms.append((time.perf_counter() - t0) * 1000)
            rates.append(len(texts) / (time.perf_counter() - start))
            # Per CPU second: what one core can do, whatever else shares the machine.
            cpu_rates.append(len(texts) / (time.process_time() - cpu_start))
        single: list[float] = []
        for text in texts[:500]:
            t0 = time.perf_counter()
            model.predict([text])
            single.append((time.perf_counter() - t0) * 1000)
    batch_ms.sort()
    single.sort()
    result = {
        "benchmark": "classifier_speed",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": model.version,
        "python": platform.python_version(),
        "cpu": args.cpu,
        "comments": len(texts),
        "batch": BATCH,
        "rounds": args.rounds,
        "comments_per_s": [round(r) for r in rates],
        # the first round meets every word for the first time (the feature caches are empty):
        # what the first minutes of an event cost; later rounds are a chat whose words repeat
        "first_round_comments_per_s": round(rates[0]),
        "comments_per_s_median": round(statistics.median(rates)),
        "comments_per_cpu_s_median": round(statistics.median(cpu_rates)),
        "batch_ms_p50": round(batch_ms[len(batch_ms) // 2], 2),
        "batch_ms_p99": round(batch_ms[int(len(batch_ms) * 0.99)], 2),
        "single_item_ms_p50": round(single[len(single) // 2], 2),
        "single_item_ms_p99": round(single[int(len(single) * 0.99)], 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "target_comments_per_s": 2000,
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
