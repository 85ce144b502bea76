"""Per-category precision, recall and F1 of the moderation model on held-out data, with intervals.

    python benchmarks/classifier_categories.py --data DIR [--shipped] [--resamples 2000]

The model's category scores (`hate`, `sexism`, `profanity`, and `threat` for Urdu script) each
read as a yes/no at 0.5, against held-out labels that have categories:

- RUHSOLD task-1 validation items whose text is also in `task_2_train.tsv` (task 2's five
  classes: the category model is trained only on task-2 texts that are in task 1's training
  split, so these are unseen); `profanity` is task 2's "profane/untargeted";
- Davidson's held-out 20%: class 0 is `hate`, class 1 (offensive language) is `profanity`;
- the test split of the project's Urdu-script set, which labels abuse, profanity, hate, sexism
  and threat.

Plus, per set and language route, the abusive yes/no (precision, recall, F1). Intervals: 95%
bootstrap over items. Results: benchmarks/results/classifier_categories.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from jalsa.errors import UserError
from jalsa.inbox.contamination import text_key
from jalsa.inbox.shipped import load_shipped
from jalsa.inbox.training import (
    RUHSOLD_CATEGORIES,
    check_data,
    load_training_data,
    read_davidson,
    read_ruhsold,
    train,
)
from jalsa.inbox.urdu_set import load_urdu_set_rows

RESULTS = Path(__file__).with_name("results")
TASK2 = {0: "abusive", 1: "none", 2: "hate", 3: "sexism", 4: "profanity"}


def prf(truth: np.ndarray, said: np.ndarray, resamples: int, seed: int = 0) -> dict[str, Any]:
    """Precision, recall and F1 of a yes/no against the truth, with bootstrap intervals."""

    def figures(idx: np.ndarray) -> tuple[float, float, float]:
        t, s = truth[idx], said[idx]
        tp = float((t & s).sum())
        p = tp / s.sum() if s.sum() else np.nan
        r = tp / t.sum() if t.sum() else np.nan
        f = 2 * tp / (t.sum() + s.sum()) if t.sum() + s.sum() else np.nan
        return p, r, f

    whole = figures(np.arange(len(truth)))
    rng = np.random.default_rng(seed)
    samples = np.array([figures(rng.integers(0, len(truth), len(truth))) for _ in range(resamples)])
    out: dict[str, Any] = {"n": len(truth), "positives": int(truth.sum())}
    for k, name in enumerate(("precision", "recall", "f1")):
        column = samples[:, k][~np.isnan(samples[:, k])]
        low, high = np.percentile(column, [2.5, 97.5]) if len(column) else (np.nan, np.nan)
        out[name] = {
            "value": None if np.isnan(whole[k]) else round(float(whole[k]), 3),
            "interval": None if np.isnan(low) else [round(float(low), 3), round(float(high), 3)],
        }
    return out


def held_out_with_categories(data_dir: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Per held-out set: texts and each one's category ("none" for normal)."""
    data = load_training_data(data_dir)
    val_texts, _ = data.frozen_eval["ruhsold_validation"]
    task2 = dict(
        zip(map(text_key, read_ruhsold(data_dir / RUHSOLD_CATEGORIES)[0]),
            read_ruhsold(data_dir / RUHSOLD_CATEGORIES)[1], strict=True)
    )  # fmt: skip
    ruhsold = [(t, TASK2[task2[text_key(t)]]) for t in val_texts if text_key(t) in task2]
    tweets, classes = read_davidson(data_dir / "davidson" / "labeled_data_dev.csv")
    class_of: dict[int, int] = {}
    for tweet, klass in zip(tweets, classes, strict=True):
        class_of.setdefault(text_key(tweet), klass)
    names = {0: "hate", 1: "profanity", 2: "none"}
    davidson = [(t, names[class_of[text_key(t)]]) for t in data.frozen_eval["davidson_heldout"][0]]
    urdu = [(r.text, r.category) for r in load_urdu_set_rows("test")]
    return {
        "ruhsold_validation_in_task2": ([t for t, _ in ruhsold], [c for _, c in ruhsold]),
        "davidson_heldout": ([t for t, _ in davidson], [c for _, c in davidson]),
        "urdu_script_test": ([t for t, _ in urdu], [c for _, c in urdu]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("JALSA_DATASETS") or None)
    parser.add_argument("--shipped", action="store_true")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=RESULTS / "classifier_categories.json")
    args = parser.parse_args()
    try:
        check_data(args.data)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    model = (
        load_shipped()
        if args.shipped
        else train(args.data, Path(tempfile.mkdtemp()), baseline=False)[1]
    )
    result: dict[str, Any] = {"model": model.version, "sets": {}}
    for name, (texts, categories) in held_out_with_categories(args.data).items():
        predictions = model.predict(texts)
        truth = np.array(categories)
        abusive_truth = truth != "none"
        said = np.array([p.flagged for p in predictions])
        routes = np.array([p.language for p in predictions])
        found: dict[str, Any] = {"abusive": {"all": prf(abusive_truth, said, args.resamples)}}
        for route in sorted(set(routes)):
            mask = routes == route
            if mask.sum() >= 20:
                found["abusive"][route] = prf(abusive_truth[mask], said[mask], args.resamples)
        for category in sorted(set(categories) - {"none", "abusive", "abuse"}):
            scores = np.array([p.categories.get(category, 0.0) for p in predictions])
            found[category] = prf(truth == category, scores >= 0.5, args.resamples)
        result["sets"][name] = found
        print(f"\n{name} ({len(texts)} items)")
        for what, block in found.items():
            rows = block.items() if what == "abusive" else [("all", block)]
            for route, f in rows:
                print(f"  {what:<10} {route:<12} n={f['n']:<5} positives={f['positives']:<5} "
                      + "  ".join(f"{k} {f[k]['value']} {f[k]['interval']}"
                                  for k in ("precision", "recall", "f1")))  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
