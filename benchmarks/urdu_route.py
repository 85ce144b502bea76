"""Candidates for the classifier's Urdu-script route, compared on the Urdu-script set (issue 20).

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/urdu_route.py --data DIR [--test]

Every candidate is trained on RUHSOLD's task_1_train (read from DIR/ruhsold, never copied) and,
where it says so, on the team's Urdu abuse lexicon and RUHSOLD's Roman Urdu abusive-word list
(DIR/ruhsold/Hate_Words_RomanUrdu_Lower.txt); none sees the Urdu-script set. Candidates:

- (a) `skeleton`: the consonant skeleton NB-LR (the route until now);
- (b) `roman`: Urdu script -> `urdu_to_roman` -> the Roman Urdu route's features;
- (c) `script`: char n-grams on folded Urdu script, RUHSOLD transliterated with `roman_to_urdu`;
- (d) `+lex`: the same with the lexicon's hit columns and its phrases as abusive examples;
- (e) the mean of two experts' probabilities.

For each: macro-F1 on the set's dev split at threshold 0.5 with a 95% bootstrap interval
(1,000 resamples), abusive recall per category, normal recall, and texts/s on one core (the dev
texts scored once after a warm-up). The choice is made on dev; `--test` adds the test split's
figure of the candidates named with `--final` (once, at the end).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from jalsa.inbox.training import read_word_list  # noqa: E402
from jalsa.inbox.urdu_lexicon import LexiconMatcher  # noqa: E402
from jalsa.inbox.urdu_route import UrduScriptRoute, fit_urdu_route  # noqa: E402
from jalsa.inbox.urdu_set import CATEGORIES, load_urdu_set_rows  # noqa: E402

SEED = 20
WORD_LIST = "ruhsold/Hate_Words_RomanUrdu_Lower.txt"


def read_ruhsold(path: Path) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, sep, label = line.rpartition("\t")
        if sep and line.strip():
            texts.append(text)
            labels.append(1 - int(label))  # task 1: 0 = abusive
    return texts, labels


def bootstrap_f1(y: np.ndarray, pred: np.ndarray, n: int = 1000) -> tuple[float, float]:
    rng = np.random.default_rng(SEED)
    values = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        values.append(f1_score(y[idx], pred[idx], average="macro", labels=[0, 1]))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


class Mean:
    """The mean of two routes' probabilities (candidate e)."""

    def __init__(self, *routes: UrduScriptRoute) -> None:
        self.routes = routes

    def score(self, texts: list[str]) -> tuple[np.ndarray, list[dict[str, float]]]:
        return np.mean([r.score(texts)[0] for r in self.routes], axis=0), []


class LexiconRule:
    """Abusive exactly when the lexicon finds a phrase (a reference, not a candidate)."""

    def __init__(self) -> None:
        self.matcher = LexiconMatcher.from_entries()

    def score(self, texts: list[str]) -> tuple[np.ndarray, list[dict[str, float]]]:
        return np.array([float(bool(self.matcher.hits(t))) for t in texts]), []


def evaluate(name: str, model: object, split: str) -> dict[str, object]:
    rows = load_urdu_set_rows(split)
    texts = [r.text for r in rows]
    y = np.array([r.abusive for r in rows])
    model.score(texts[:50])  # type: ignore[attr-defined]  # warm-up
    start = time.perf_counter()
    proba, _ = model.score(texts)  # type: ignore[attr-defined]
    seconds = time.perf_counter() - start
    pred = (np.asarray(proba) >= 0.5).astype(int)
    recall = {}
    for category in CATEGORIES:
        idx = [i for i, r in enumerate(rows) if r.category == category]
        hit = pred[idx] == (0 if category == "none" else 1)
        recall[category] = float(hit.mean()) if idx else float("nan")
    return {
        "name": name,
        "f1": float(f1_score(y, pred, average="macro", labels=[0, 1])),
        "ci": bootstrap_f1(y, pred),
        "recall": recall,
        "speed": len(texts) / seconds,
    }


def table(results: list[dict[str, object]], split: str) -> str:
    cats = [c for c in CATEGORIES if c != "none"]
    head = f"| candidate | {split} macro-F1 [95% CI] | " + " | ".join(cats)
    lines = [head + " | normal kept | texts/s |", "|---" * (len(cats) + 4) + "|"]
    for r in results:
        low, high = r["ci"]  # type: ignore[misc]
        recall = r["recall"]
        cells = " | ".join(f"{recall[c]:.2f}" for c in cats)  # type: ignore[index]
        lines.append(
            f"| {r['name']} | {r['f1']:.3f} [{low:.3f}, {high:.3f}] | {cells} | "
            f"{recall['none']:.2f} | {r['speed']:,.0f} |"  # type: ignore[index]
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the datasets folder")
    parser.add_argument("--test", action="store_true", help="also score --final on test")
    parser.add_argument("--final", default="", help="candidates for --test, separated by ;")
    parser.add_argument("--only", default="", help="candidates to run (substrings), separated by ;")
    args = parser.parse_args(argv)
    train = args.data / "ruhsold" / "task_1_train.tsv"
    words = args.data / WORD_LIST
    if not train.is_file() or not words.is_file():
        print(f"error: {args.data} must hold ruhsold/task_1_train.tsv and {WORD_LIST}")
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    texts, labels = read_ruhsold(train)
    word_list = read_word_list(words)

    def fit(views: tuple[str, ...], lexicon: bool, extra: bool = False) -> UrduScriptRoute:
        extra_phrases = word_list if extra else ()
        return fit_urdu_route(
            texts, labels, views=views, lexicon=lexicon, extra_phrases=extra_phrases
        )

    builders = {
        "lexicon rule (reference)": lambda: LexiconRule(),
        "(a) skeleton": lambda: fit(("skeleton",), False),
        "(b) roman": lambda: fit(("roman",), False),
        "(c) script": lambda: fit(("script",), False),
        "(d) skeleton+lex": lambda: fit(("skeleton",), True),
        "(d) roman+lex": lambda: fit(("roman",), True),
        "(d) script+lex": lambda: fit(("script",), True),
        "(d) script+lex+wordlist": lambda: fit(("script",), True, True),
        "(d) roman+lex+wordlist": lambda: fit(("roman",), True, True),
        "(e) script+lex, roman+lex": lambda: fit(("script", "roman"), True),
        "(e) script+lex, skeleton+lex": lambda: fit(("script", "skeleton"), True),
        "(e) script+lex, roman+lex, +wordlist": lambda: fit(("script", "roman"), True, True),
    }
    only = {n.strip() for n in args.only.split(";") if n.strip()}
    final = {n.strip() for n in args.final.split(";") if n.strip()}
    dev, test = [], []
    for name, build in builders.items():
        if only and not any(o in name for o in only):
            continue
        model = build()
        dev.append(evaluate(name, model, "dev"))
        print(table(dev[-1:], "dev").splitlines()[-1], flush=True)
        if args.test and any(f in name for f in final):
            test.append(evaluate(name, model, "test"))
    print()
    print(table(dev, "dev"))
    if test:
        print()
        print(table(test, "test"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
