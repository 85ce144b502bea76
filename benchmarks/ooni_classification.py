"""Benchmark: our classifier on OONI's labelled web_connectivity QA scenarios and on real OONI
measurements — the method expected from each scenario's name, ours, and OONI's own verdict.

Targets (issue 5): at least 95% of the blocking scenarios get the expected method; no blocking
verdict on the accessible ones; the websiteDown* ones are `down`.

The data is OONI's (CC BY-NC-SA 4.0), not in the repository: `--data DIR` names a folder with
  ooni_wc05_synthetic/  the QA scenarios: github.com/ooni/data,
                        oonipipeline/tests/data/wc05_qa/*.json
  ooni_measurements/    real measurements (*.json; fingerprints_*.json there are skipped), from
                        ooni/backend fastpath/fastpath/tests/data/ and ooni/probe-cli
                        internal/minipipeline/testdata/webconnectivity/manual/youtube/
(see "Datasets for evaluation" in the README).

Usage:
  python benchmarks/ooni_classification.py --data DIR [--json out.json]
Results are written down in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from jalsa.watch.ooni import QA_EXPECTED, Problem, import_and_compare, summarize
from jalsa.watch.record import BLOCKING

ROOT = Path(__file__).resolve().parents[1]


QA_FOLDER, REAL_FOLDER = "ooni_wc05_synthetic", "ooni_measurements"


def missing(data: Path) -> str | None:
    """What `data` lacks for this benchmark, in words; None when it has it all."""
    if not data.is_dir():
        return (
            f"{data} is not a folder (--data names the folder holding {QA_FOLDER}/ "
            f"and {REAL_FOLDER}/)"
        )
    lacking = []
    qa, real = data / QA_FOLDER, data / REAL_FOLDER
    if not qa.is_dir():
        lacking.append(
            f"{QA_FOLDER}/ (OONI's web_connectivity QA scenarios, ooni/data "
            "oonipipeline/tests/data/wc05_qa/*.json)"
        )
    elif not any(qa.glob("*.json")):
        lacking.append(f"the scenarios in {QA_FOLDER}/ (it holds no *.json)")
    if not real.is_dir():
        lacking.append(f"{REAL_FOLDER}/ (real OONI measurements, *.json)")
    if not lacking:
        return None
    return (
        f"{data} lacks " + "; and ".join(lacking) + ' (see the README\'s "Datasets for evaluation")'
    )


def run(data: Path) -> dict[str, Any]:
    qa, real = data / QA_FOLDER, data / REAL_FOLDER
    files = sorted(qa.glob("*.json")) + sorted(
        p for p in real.glob("*.json") if not p.name.startswith("fingerprints_")
    )
    started = time.perf_counter()
    rows, problems, comparisons = [], [], []
    for path in files:
        for item in import_and_compare([path]):
            if isinstance(item, Problem):
                problems.append(str(item))
                continue
            measurement, comparison = item
            comparisons.append(comparison)
            rows.append(
                {
                    "file": path.stem,
                    "set": "qa" if path.parent == qa else "real",
                    "expected": QA_EXPECTED.get(path.stem),
                    "ours": measurement.verdict.method,
                    "ours_as_ooni": comparison.category,
                    "ooni": comparison.ooni,
                    "ooni_flags": list(comparison.ooni_flags),
                    "agrees_with_ooni": comparison.agrees,
                    "reason": measurement.verdict.reason,
                }
            )
    seconds = time.perf_counter() - started
    qa_rows = [r for r in rows if r["set"] == "qa"]
    blocking = [r for r in qa_rows if r["expected"] in BLOCKING]
    accessible = [r for r in qa_rows if r["expected"] == "ok"]
    down = [r for r in qa_rows if r["file"].startswith("websiteDown")]
    summary = summarize(comparisons, problems=len(problems))
    return {
        "measurements": len(rows),
        "seconds": round(seconds, 3),
        "qa_scenarios": len(qa_rows),
        "qa_expected_share": _share(r["ours"] == r["expected"] for r in qa_rows),
        "blocking_scenarios": len(blocking),
        "blocking_right_share": _share(r["ours"] == r["expected"] for r in blocking),
        "accessible_scenarios": len(accessible),
        "accessible_false_blocking": sum(r["ours"] in BLOCKING for r in accessible),
        "website_down_as_down": f"{sum(r['ours'] == 'down' for r in down)}/{len(down)}",
        "agreement_with_ooni_share": round(summary.agreement or 0.0, 4),
        "agreement_qa": f"{sum(r['agrees_with_ooni'] for r in qa_rows)}/{len(qa_rows)}",
        "agreement_real": (
            f"{sum(r['agrees_with_ooni'] for r in rows if r['set'] == 'real')}/"
            f"{sum(r['set'] == 'real' for r in rows)}"
        ),
        "unknown": sum(r["ours"] == "unknown" for r in rows),
        "disagreements": [
            {k: r[k] for k in ("file", "ours", "ooni", "ooni_flags", "reason")}
            for r in rows
            if not r["agrees_with_ooni"]
        ],
        "methods": summary.methods,
        "problems": problems,
        "rows": rows,
    }


def _share(hits: Any) -> float:
    values = list(hits)
    return round(sum(values) / len(values), 4) if values else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        metavar="DIR",
        help=f"folder holding {QA_FOLDER}/ and {REAL_FOLDER}/ (OONI's data, not in the repository)",
    )
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "results" / "ooni_classification.json"
    )
    args = parser.parse_args()
    data = args.data.resolve()
    why = missing(data)
    if why:
        sys.exit(why)
    result = run(data)
    print(f"{'file':58} {'expected':15} {'ours':15} {'OONI':13} agrees")
    for r in result["rows"]:
        mark = "" if r["expected"] in (None, r["ours"]) else "  <- differs from expected"
        print(
            f"{r['file'][:58]:58} {r['expected'] or '-':15} {r['ours']:15} {r['ooni']:13} "
            f"{'yes' if r['agrees_with_ooni'] else 'no'}{mark}"
        )
    for key in (
        "measurements",
        "qa_expected_share",
        "blocking_scenarios",
        "blocking_right_share",
        "accessible_scenarios",
        "accessible_false_blocking",
        "website_down_as_down",
        "agreement_with_ooni_share",
        "agreement_qa",
        "agreement_real",
        "unknown",
        "seconds",
    ):
        print(f"{key}: {result[key]}")
    for problem in result["problems"]:
        print(f"problem: {problem}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
