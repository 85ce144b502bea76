"""Moderation classifier quality: ours against the TF-IDF baseline on the held-out sets.

Trains both (fixed seeds) on RUHSOLD task 1 train and 80% of Davidson, and reports macro-F1
overall and per language route on RUHSOLD task-1 validation, the Davidson held-out 20% and the
test split of the team's Urdu-script set (`jalsa.inbox.urdu_set`); plus the category models'
cross-validated macro-F1 on their training files (RUHSOLD task 2, Davidson's three classes).
Paired bootstrap 95% intervals of both macro-F1s and of their difference. With --shipped, the
model that ships in the package is scored instead of a freshly trained one (its figures must
equal those in its model.json).

    python benchmarks/classifier_quality.py --data DIR [--shipped] [--no-categories]

DIR (or JALSA_DATASETS) holds ruhsold/ and davidson/; no test or default path needs it.

Targets (issue 6): macro-F1 >= 0.90 on RUHSOLD validation, >= 0.94 on Davidson held-out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from jalsa.errors import UserError
from jalsa.inbox.evaluation import Baseline
from jalsa.inbox.ship import intervals
from jalsa.inbox.shipped import load_shipped
from jalsa.inbox.training import (
    category_cv,
    check_data,
    evaluate_model,
    load_training_data,
    train,
)

RESULTS = Path(__file__).with_name("results")
TARGETS = {"ruhsold_validation": 0.90, "davidson_heldout": 0.94}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("JALSA_DATASETS") or None)
    parser.add_argument("--shipped", action="store_true", help="score the shipped model")
    parser.add_argument("--no-categories", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "classifier_quality.json")
    args = parser.parse_args()
    try:
        check_data(args.data)
    except UserError as exc:
        sys.exit(f"error: {exc}")

    start = time.perf_counter()
    data = load_training_data(args.data)
    if args.shipped:
        model = load_shipped()
        ours = evaluate_model(model, data.frozen_eval)
    else:
        _, model = train(args.data, Path(tempfile.mkdtemp()), baseline=False)
        ours = model.info["metrics"]
    train_s = time.perf_counter() - start
    fitted = Baseline().fit(data)
    baseline = fitted.evaluate(data.frozen_eval)
    bootstrap = intervals(model, fitted, data.frozen_eval)

    print(f"{'set':<22}{'n':>6}{'baseline':>10}{'ours':>8}{'target':>8}")
    for name, result in ours.items():
        target = TARGETS.get(name)
        print(
            f"{name:<22}{result['n']:>6}{baseline[name]['macro_f1']:>10.4f}"
            f"{result['macro_f1']:>8.4f}{'' if target is None else f'{target:>8.2f}'}"
        )
        for lang, r in result["by_language"].items():
            b = baseline[name]["by_language"].get(lang, {}).get("macro_f1", float("nan"))
            print(f"  {lang:<20}{r['n']:>6}{b:>10.4f}{r['macro_f1']:>8.4f}")
        ci = bootstrap[name]
        print(f"  95% intervals: baseline {ci['baseline']}, ours {ci['ours']}, "
              f"difference {ci['difference']}")  # fmt: skip
    if args.shipped:
        recorded = {k: v["macro_f1"] for k, v in model.info["metrics"].items()}
        measured = {k: v["macro_f1"] for k, v in ours.items()}
        print(f"shipped {model.version}: figures equal to its model.json: {recorded == measured}")

    result = {
        "benchmark": "classifier_quality",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": model.version,
        "shipped": args.shipped,
        "seconds": round(train_s, 1),
        "targets": TARGETS,
        "ours": ours,
        "baseline": baseline,
        "intervals": bootstrap,
    }
    if not args.no_categories:
        result["categories_cv"] = category_cv(data)
        for name, r in result["categories_cv"].items():
            print(f"category model {name}: 5-fold CV macro-F1 {r['macro_f1']:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
