"""Moderation quality (issue 20): what the model hides alone, what it sends to a person, and how
it compares with the TF-IDF baselines, every figure on held-out data with its interval.

    python benchmarks/classifier_quality.py --data DIR [--shipped] [--resamples 2000]

DIR (or JALSA_DATASETS) holds ruhsold/ and davidson/; no test or default path needs it. Without
--shipped a model is trained first exactly as `jalsa inbox train` trains it (training splits
only; calibration and operating points chosen out of fold and on the Urdu-script dev split);
with --shipped the model in `src/jalsa/inbox/default_model/` is scored.

Held-out sets (never trained on, never used to choose anything): RUHSOLD task-1 validation (the
RUHSOLD-style split), the fixed 20% of Davidson (the Davidson-style split) and the test split of
the project's Urdu-script set. Per set:

1. **The policy at its defaults** (`default_policy.yaml`, the model's operating points): each
   item is decided as the inbox decides it; per language route, the precision of "hide" (hidden
   items that are abusive), the recall of hide, the recall of hide or review, and the share of
   items sent to review. Targets: precision of hide >= 0.97 per route, review share <= 20%.
   The reference, in the same run: the same policy with `use_model_operating_points: false`
   (its fixed thresholds on the model's scores, as before issue 20).
2. **Macro-F1** of the model's own yes/no against the plain and the CV-tuned TF-IDF baseline
   trained on the same training splits, paired bootstrap intervals, McNemar's test (does the
   accuracy differ?) and a paired permutation test of the macro-F1 difference (does what we
   claim differ?). Target: above the tuned baseline with p < 0.05 on the RUHSOLD- and
   Davidson-style splits; Urdu script >= 0.80.
3. **Calibration**: expected calibration error of the calibrated score per route.

Results: `benchmarks/results/classifier_quality.json`. Intervals: 95%, bootstrap over items.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jalsa.errors import UserError
from jalsa.inbox.calibration import action_figures
from jalsa.inbox.comparison import fit_baselines
from jalsa.inbox.evaluation import compare, model_predictions
from jalsa.inbox.model_calibration import held_out_figures
from jalsa.inbox.policy_file import load_policy
from jalsa.inbox.shipped import load_shipped
from jalsa.inbox.training import check_data, load_training_data, train

RESULTS = Path(__file__).with_name("results")
TARGETS = {"hide_precision": 0.97, "review_share": 0.20, "urdu_script_macro_f1": 0.80}


def decide(
    model: Any, texts: list[str], *, operating_points: bool = True
) -> tuple[list[str], list[str]]:
    """The default policy's action and the model's route for each text, as the inbox decides
    (without `operating_points`: the policy's fixed thresholds on the model's scores, as before
    issue 20)."""
    policy = load_policy()
    if not operating_points:
        policy = policy.model_copy(update={"use_model_operating_points": False})
    predictions = model.predict(texts)
    actions = [
        policy.decide(text, p, model_version=model.version).action
        for text, p in zip(texts, predictions, strict=True)
    ]
    return actions, [p.language for p in predictions]


def by_route(
    actions: list[str], routes: list[str], labels: list[int], resamples: int
) -> dict[str, Any]:
    out = {"all": action_figures(actions, labels, resamples=resamples)}
    for route in sorted(set(routes)):
        idx = [i for i, r in enumerate(routes) if r == route]
        chosen = ([actions[i] for i in idx], [labels[i] for i in idx])
        out[route] = action_figures(*chosen, resamples=resamples)
    return out


def _fmt(figure: dict[str, Any]) -> str:
    value, interval = figure["value"], figure["interval"]
    if value is None:
        return "—"
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else f"{value:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("JALSA_DATASETS") or None)
    parser.add_argument("--shipped", action="store_true", help="score the shipped model")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=RESULTS / "classifier_quality.json")
    args = parser.parse_args()
    try:
        check_data(args.data)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    data = load_training_data(args.data)
    if args.shipped:
        model = load_shipped()
    else:
        _, model = train(args.data, Path(tempfile.mkdtemp()), baseline=False)
    trained_s = time.perf_counter() - started
    baselines = fit_baselines(data, lambda message: print(message, file=sys.stderr))

    result: dict[str, Any] = {
        "benchmark": "classifier_quality",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": model.version,
        "shipped": args.shipped,
        "seconds": round(trained_s, 1),
        "targets": TARGETS,
        "removed_from_training": data.removed,
        "operating_points": model.info.get("operating_points", {}),
        "sets": {},
    }
    for name, (texts, labels) in data.frozen_eval.items():
        actions, routes = decide(model, texts)
        fixed, _ = decide(model, texts, operating_points=False)
        ours, languages = model_predictions(model, texts)
        systems = {"model": ours} | {b: m.predict_set(name, texts) for b, m in baselines.items()}
        result["sets"][name] = {
            "policy": by_route(actions, routes, labels, args.resamples),
            "policy_fixed_thresholds": by_route(fixed, routes, labels, args.resamples),
            "macro_f1": compare(labels, systems, languages, n=args.resamples),
        }
    calibration = held_out_figures(model, data.frozen_eval)
    for name, groups in calibration.items():
        result["sets"][name]["ece"] = {g: r["reliability"]["ece"] for g, r in groups.items()}

    for name, found in result["sets"].items():
        print(f"\n{name}")
        print(f"  {'route':<18}{'n':>6}  {'precision of hide':<24}{'hide recall':<24}"
              f"{'hide or review recall':<24}review share")  # fmt: skip
        for label, key in (("", "policy"), (" (fixed thresholds)", "policy_fixed_thresholds")):
            for route, f in found[key].items():
                print(f"  {route + label:<18}{f['n']:>6}  {_fmt(f['hide_precision']):<24}"
                      f"{_fmt(f['hide_recall']):<24}{_fmt(f['flag_recall']):<24}"
                      f"{_fmt(f['review_share'])}")  # fmt: skip
        block = found["macro_f1"]
        line = [f"model {block['systems']['model']['macro_f1']:.4f}"]
        for other, vs in block["against"].items():
            line.append(
                f"{other} {block['systems'][other]['macro_f1']:.4f} (difference "
                f"{vs['difference']:+.4f} {vs['interval']}, McNemar p {vs['mcnemar']['p']:.2g}, "
                f"permutation p {vs['permutation']['p']:.2g})"
            )
        print("  macro-F1: " + "; ".join(line))
        print(f"  ECE per route: {found.get('ece', {})}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
