"""How long the shipped moderation model takes to load, each time in a fresh Python process.

Reports, per run, the import of the scikit-learn modules any model needs (the pickle too) and the
load itself (hash check, .npz, vocabulary, rebuilding the estimators); with `--pickle FILE`, the
same model as a joblib pickle (`jalsa inbox train` writes one) for comparison.

    python benchmarks/shipped_model_load.py [--runs 5] [--pickle DATA_DIR/inbox/models/X.joblib]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, sys, time
start = time.perf_counter()
import sklearn.feature_extraction.text, sklearn.linear_model, sklearn.pipeline
imported = time.perf_counter()
if sys.argv[1] == "shipped":
    from jalsa.inbox.shipped import load_shipped
    model = load_shipped()
else:
    import joblib
    model = joblib.load(sys.argv[1])
loaded = time.perf_counter()
model.predict(["tu kutta hai"])
print(json.dumps({"import": imported - start, "load": loaded - imported,
                  "first_predict": time.perf_counter() - loaded}))
"""


def run(what: str, runs: int) -> dict[str, float]:
    rows = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, what], capture_output=True, text=True, check=True
        )
        rows.append(json.loads(out.stdout))
    return {key: round(statistics.median(r[key] for r in rows), 3) for key in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pickle", type=Path)
    args = parser.parse_args()
    from jalsa.inbox.shipped import SHIPPED_DIR

    size = sum(f.stat().st_size for f in SHIPPED_DIR.iterdir() if f.is_file())
    print(f"shipped model: {size / 1e6:.1f} MB in {SHIPPED_DIR}")
    print(f"shipped (portable), median of {args.runs} fresh processes: {run('shipped', args.runs)}")
    if args.pickle:
        print(f"joblib pickle {args.pickle.name}: {run(str(args.pickle), args.runs)}")


if __name__ == "__main__":
    main()
