"""Moderation classifier quality: ours against the TF-IDF baseline on the held-out sets.

Trains both (fixed seeds) on RUHSOLD task 1 train and 80% of Davidson, and reports macro-F1
overall and per language route on RUHSOLD task-1 validation, the Davidson held-out 20% and the
hand-written Urdu-script check set; plus the category models' cross-validated macro-F1 on their
training files (RUHSOLD task 2, Davidson's three classes).

    python benchmarks/classifier_quality.py --data DIR [--no-categories]

Targets (issue 6): macro-F1 >= 0.90 on RUHSOLD validation, >= 0.94 on Davidson held-out.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from jalsa.inbox.training import Baseline, category_cv, load_training_data, train

RESULTS = Path(__file__).with_name("results")
TARGETS = {"ruhsold_validation": 0.90, "davidson_heldout": 0.94}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder holding ruhsold/ and davidson/ (third-party data, not in the repository)",
    )
    parser.add_argument("--no-categories", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "classifier_quality.json")
    args = parser.parse_args()

    start = time.perf_counter()
    _, model = train(args.data, Path(tempfile.mkdtemp()), baseline=False)
    train_s = time.perf_counter() - start
    data = load_training_data(args.data)
    baseline = Baseline().fit(data).evaluate(data.frozen_eval)
    ours = model.info["metrics"]

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

    result = {
        "benchmark": "classifier_quality",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": model.version,
        "train_seconds": round(train_s, 1),
        "targets": TARGETS,
        "ours": ours,
        "baseline": baseline,
    }
    if not args.no_categories:
        result["categories_cv"] = category_cv(data)
        for name, r in result["categories_cv"].items():
            print(f"category model {name}: 5-fold CV macro-F1 {r['macro_f1']:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
