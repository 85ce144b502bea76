"""Language identification accuracy on a mixed held-out set, and what routing does to errors.

    python benchmarks/langid_accuracy.py --data DIR [--model DIR] [--out FILE]

The mixed held-out set (nothing in it trained the identifier):
- RUHSOLD task_1_validation, 801 items, gold language read by hand
  (`benchmarks/data/ruhsold_language.tsv`, keys only);
- Davidson's held-out 20% (the classifier's split, `training.load_training_data`), gold english;
- the held-out lines of `src/jalsa/inbox/data/langid_other.txt` (other languages, written for
  jalsa), gold other;
- Urdu-script sentences written for jalsa: the test split of the Urdu-script set
  (`data/urdu_script_set.tsv`) and `data/langid_urdu_script.txt`, gold urdu.

Accuracy overall, per set and per gold language with 95% bootstrap intervals (2,000 resamples),
confusion matrices, for the identifier (`jalsa.inbox.langid`) and for the word-list router
(`jalsa.inbox.language.route`, its urdu and mixed read as urdu, unknown as other). Then the
shipped moderation model's abusive-class error rate on RUHSOLD validation and Davidson held-out
items per route: each route's own expert (english -> the English model, roman_urdu -> the Roman
Urdu model, urdu -> the Urdu-script model, other -> the Latin gate) under either router, and the
classifier as it is (the Latin gate mixes both experts whatever the route). Speed: identifier load
time and comments per second on one core.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jalsa.errors import UserError
from jalsa.inbox import language
from jalsa.inbox.langid import COMMITTED_DIR, LABELS, LanguageIdentifier, text_key
from jalsa.inbox.langid_training import URDU_SCRIPT_FILE, other_split, read_lines
from jalsa.inbox.training import (
    RUHSOLD_VALIDATION,
    load_training_data,
    read_ruhsold,
)
from jalsa.inbox.urdu_set import load_urdu_set

HERE = Path(__file__).resolve().parent
GOLD = HERE / "data" / "ruhsold_language.tsv"
RESULTS = HERE / "results" / "langid_accuracy.json"
RESAMPLES = 2_000
SEED = 20
OLD_ROUTE = {
    "urdu": "urdu",
    "mixed": "urdu",
    "english": "english",
    "roman_urdu": "roman_urdu",
    "unknown": "other",
}


def old_router(texts: Sequence[str]) -> list[str]:
    """The word-list router jalsa used before the identifier."""
    return [OLD_ROUTE[language.word_list_route(t)] for t in texts]


def routing(texts: Sequence[str]) -> list[str]:
    """The classifier's routing as used: the identifier behind script rules, Latin text called
    another language only when the identifier is sure enough and the text long enough."""
    return [OLD_ROUTE[r] for r in language.routes(list(texts))]


def heldout(data: Path) -> tuple[list[str], list[str], list[str], dict[str, Any]]:
    """(texts, gold languages, set names, extra) of the mixed held-out set."""
    from langid_labels import read_labels  # benchmarks/ is on sys.path when run as a script

    gold = read_labels(GOLD)
    training = load_training_data(data)
    val_texts, _ = read_ruhsold(data / RUHSOLD_VALIDATION)
    missing = [t for t in val_texts if text_key(t) not in gold]
    if missing:
        raise UserError(f"{len(missing)} RUHSOLD validation items have no label in {GOLD}")
    texts: list[str] = []
    langs: list[str] = []
    sets: list[str] = []

    def add(name: str, items: Sequence[str], labels: Sequence[str]) -> None:
        texts.extend(items)
        langs.extend(labels)
        sets.extend([name] * len(items))

    add("ruhsold_validation", val_texts, [gold[text_key(t)] for t in val_texts])
    davidson = training.frozen_eval["davidson_heldout"][0]
    add("davidson_heldout", davidson, ["english"] * len(davidson))
    other = other_split()[1]
    add("other_heldout", other, ["other"] * len(other))
    urdu = load_urdu_set("test")[0] + read_lines(URDU_SCRIPT_FILE)
    add("urdu_script", urdu, ["urdu"] * len(urdu))
    return texts, langs, sets, {"ruhsold_validation": val_texts, "davidson": davidson}


def interval(correct: np.ndarray, rng: np.random.Generator) -> list[float]:
    if len(correct) == 0:
        return [float("nan"), float("nan")]
    idx = rng.integers(0, len(correct), size=(RESAMPLES, len(correct)))
    means = correct[idx].mean(axis=1)
    return [round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)]


def accuracy_report(pred: list[str], gold: list[str], sets: list[str]) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    correct = np.array([p == g for p, g in zip(pred, gold, strict=True)], dtype=float)

    def part(mask: np.ndarray) -> dict[str, Any]:
        c = correct[mask]
        return {
            "n": int(mask.sum()),
            "accuracy": round(float(c.mean()), 4) if len(c) else None,
            "ci95": interval(c, rng),
        }

    g = np.array(gold)
    s = np.array(sets)
    per_language = {lab: part(g == lab) for lab in LABELS if (g == lab).any()}
    confusion = {
        lab: {p: int(sum(1 for x, y in zip(pred, gold, strict=True) if y == lab and x == p))
              for p in LABELS}
        for lab in LABELS if (g == lab).any()
    }  # fmt: skip
    return {
        "overall": part(np.ones(len(gold), dtype=bool)),
        "balanced_accuracy": round(
            float(np.mean([v["accuracy"] for v in per_language.values()])), 4
        ),
        "per_language": per_language,
        "per_set": {name: part(s == name) for name in dict.fromkeys(sets)},
        "confusion_gold_by_predicted": confusion,
    }


def paired_difference(a: list[str], b: list[str], gold: list[str]) -> dict[str, Any]:
    """Accuracy of a minus b with a paired bootstrap interval."""
    da = np.array([x == g for x, g in zip(a, gold, strict=True)], dtype=float)
    db = np.array([x == g for x, g in zip(b, gold, strict=True)], dtype=float)
    rng = np.random.default_rng(SEED)
    idx = rng.integers(0, len(gold), size=(RESAMPLES, len(gold)))
    diffs = da[idx].mean(axis=1) - db[idx].mean(axis=1)
    return {
        "difference": round(float(da.mean() - db.mean()), 4),
        "ci95": [round(float(np.percentile(diffs, q)), 4) for q in (2.5, 97.5)],
    }


def route_errors(
    model: Any, texts: list[str], labels: list[int], routers: dict[str, list[str]]
) -> dict[str, Any]:
    """Abusive-class error rate per route: each route's own expert, and the classifier."""
    y = np.array(labels)
    experts = {
        "english": model.routes["english"].score(texts)[0],
        "roman_urdu": model.routes["roman_urdu"].score(texts)[0],
        "urdu": model.routes["urdu_script"].score(texts)[0],
    }
    # the classifier's own yes/no is its uncalibrated score at 0.5 (`Prediction.flagged`)
    classifier = np.array([p.raw if p.raw is not None else 0.0
                           for p in model.predict(texts)])  # fmt: skip
    experts["other"] = classifier  # no expert for other: the Latin gate (as today)

    def rate(wrong: np.ndarray) -> float:
        return round(float(wrong.mean()), 4) if len(wrong) else float("nan")

    out: dict[str, Any] = {"classifier_as_is": {"error_rate": rate((classifier >= 0.5) != y)}}
    for name, routes in routers.items():
        r = np.array(routes)
        own = np.array([experts[lang][i] for i, lang in enumerate(routes)])
        per_route = {}
        for lang in LABELS:
            m = r == lang
            if m.any():
                per_route[lang] = {
                    "n": int(m.sum()),
                    "own_expert_error": rate((own[m] >= 0.5) != y[m]),
                    "classifier_error": rate((classifier[m] >= 0.5) != y[m]),
                }
        out[name] = {"hard_routing_error": rate((own >= 0.5) != y), "per_route": per_route}
    return out


def speed(texts: list[str], model_dir: Path) -> dict[str, Any]:
    """Load time; comments per second on one core in batches of 500, with a fresh identifier
    (every word new to its word cache) and again (warm), on all texts and on short ones."""
    start = time.perf_counter()
    LanguageIdentifier.load(model_dir)
    out: dict[str, Any] = {"load_seconds": round(time.perf_counter() - start, 3)}
    short = [t for t in texts if len(t) <= 80]
    for name, items in (("all", texts), ("short_le_80_chars", short)):
        identifier = LanguageIdentifier.load(model_dir)
        for run in ("cold", "warm"):
            start = time.perf_counter()
            for i in range(0, len(items), 500):
                identifier.predict(items[i : i + 500])
            out[f"{name}_{run}_per_second"] = round(len(items) / (time.perf_counter() - start))
        out[f"{name}_items"] = len(items)
        out[f"{name}_mean_chars"] = round(sum(map(len, items)) / max(1, len(items)), 1)
    out["files_bytes"] = sum(p.stat().st_size for p in model_dir.glob("langid.*"))
    return out


def run(data: Path, model_dir: Path) -> dict[str, Any]:
    from jalsa.inbox.shipped import load_shipped

    identifier = LanguageIdentifier.load(model_dir)
    texts, gold, sets, extra = heldout(data)
    new = identifier.predict(texts)
    old = old_router(texts)
    used = routing(texts) if model_dir == COMMITTED_DIR else None
    result: dict[str, Any] = {
        "command": "python benchmarks/langid_accuracy.py --data DIR",
        "identifier": {k: v for k, v in identifier.info.items() if k != "files"},
        "heldout_items": len(texts),
        "identifier_accuracy": accuracy_report(new, gold, sets),
        "word_list_router_accuracy": accuracy_report(old, gold, sets),
        "identifier_minus_router": paired_difference(new, old, gold),
    }
    if used is not None:
        result["routing_as_used_accuracy"] = accuracy_report(used, gold, sets)
    model = load_shipped()
    training = load_training_data(data)
    errors: dict[str, Any] = {"model": model.version}
    for name, items in (("ruhsold_validation", extra["ruhsold_validation"]),
                        ("davidson_heldout", extra["davidson"])):  # fmt: skip
        labels = training.frozen_eval[name][1]
        routers: dict[str, list[str]] = {
            "word_list_router": old_router(items),
            "identifier": identifier.predict(items),
        }
        if name == "ruhsold_validation":
            gold_lang = read_labels_for(items)
            routers["gold_language"] = gold_lang
        errors[name] = route_errors(model, list(items), list(labels), routers)
    result["route_effect_on_abusive_errors"] = errors
    result["speed"] = speed(extra["ruhsold_validation"] + extra["davidson"], model_dir)
    return result


def read_labels_for(items: Sequence[str]) -> list[str]:
    from langid_labels import read_labels

    gold = read_labels(GOLD)
    return [gold[text_key(t)] for t in items]


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the datasets folder")
    parser.add_argument("--model", type=Path, default=COMMITTED_DIR, help="identifier folder")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    try:
        result = run(args.data, args.model)
    except (UserError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for name in ("identifier_accuracy", "routing_as_used_accuracy", "word_list_router_accuracy"):
        acc = result.get(name)
        if acc is None:
            continue
        out(f"{name}: {acc['overall']} balanced {acc['balanced_accuracy']}")
        for lang, part in acc["per_language"].items():
            out(f"  {lang}: {part}")
    out(f"difference: {result['identifier_minus_router']}")
    out(json.dumps(result["route_effect_on_abusive_errors"], indent=1))
    out(f"speed: {result['speed']}")
    out(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
