"""Evaluation statistics of the moderation classifier, in one place: scores, the baselines, the
paired bootstrap, McNemar's test, and the comparison of a model with the baselines.

The baselines are fitted on the same training splits as the model (`training.load_training_data`)
and scored on the same items: plain TF-IDF (character 2-5-grams + word 1-2-grams) with logistic
regression at C = 1, and the same with C chosen by stratified 5-fold cross-validation on the
training split only. A comparison gives, per set and per language route, each system's macro-F1
with a 95% paired-bootstrap interval, the interval of the model's gain over each baseline,
McNemar's exact test on the items where the two disagree in being right, and the precision and
recall of the abusive class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from jalsa.inbox.language import route

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from jalsa.inbox.training import TrainingData

# The project's one random seed: training's splits and models, the baselines' cross-validation
# and the bootstrap (`training.SEED` is this constant).
SEED = 20231217
BOOTSTRAP = 2000
TUNED_C = (0.3, 1.0, 3.0, 10.0, 30.0)
CV_FOLDS = 5
# The baseline's model for each held-out set of `training.load_training_data`; a set not named
# here is Roman Urdu. Items of any other file go to the model of their language route.
BASELINE_MODEL = {"davidson_heldout": "english"}
BASELINES = ("baseline", "tuned_baseline")


# -- scores -----------------------------------------------------------------------------------


def scores(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, Any]:
    """Macro-F1, per-class precision/recall/F1 and the confusion matrix (rows: true normal,
    true abusive)."""
    y_true = list(y_true)
    y_pred = list(y_pred)
    p, r, f, n = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1], zero_division=0.0)
    return {
        "n": len(y_true),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=[0, 1], average="macro",
                                         zero_division=0.0)), 4),
        "normal": {"precision": round(float(p[0]), 4), "recall": round(float(r[0]), 4),
                   "f1": round(float(f[0]), 4), "support": int(n[0])},
        "abusive": {"precision": round(float(p[1]), 4), "recall": round(float(r[1]), 4),
                    "f1": round(float(f[1]), 4), "support": int(n[1])},
        "confusion": confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
    }  # fmt: skip


def evaluate_predictions(
    languages: Sequence[str], y_true: Sequence[int], y_pred: Sequence[int]
) -> dict[str, Any]:
    """Scores for a set, overall and per language route."""
    result = scores(y_true, y_pred)
    by_language: dict[str, Any] = {}
    for lang in sorted(set(languages)):
        idx = [i for i, value in enumerate(languages) if value == lang]
        by_language[lang] = scores([y_true[i] for i in idx], [y_pred[i] for i in idx])
    result["by_language"] = by_language
    return result


# -- the baselines ----------------------------------------------------------------------------


class Baseline:
    """The reference: plain TF-IDF (char 2-5-grams + word 1-2-grams) logistic regression,
    one per dataset (Roman Urdu, English), no routing of its own."""

    name = "baseline"

    def __init__(self) -> None:
        self.models: dict[str, Pipeline] = {}
        self.chosen_C: dict[str, float] = {}

    @staticmethod
    def _features() -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        return FeatureUnion(
            [
                ("char", TfidfVectorizer(analyzer="char", ngram_range=(2, 5))),
                ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2))),
            ]
        )

    def _fit_one(self, name: str, texts: list[str], labels: list[int]) -> Pipeline:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        self.chosen_C[name] = 1.0
        pipe = Pipeline([("features", self._features()), ("lr", LogisticRegression(max_iter=2000))])
        return pipe.fit(texts, labels)

    def fit(self, data: TrainingData) -> Baseline:
        for name, (texts, labels) in (("roman_urdu", data.roman_urdu), ("english", data.english)):
            self.models[name] = self._fit_one(name, list(texts), list(labels))
        return self

    def predict(self, texts: Sequence[str], dataset: str | None = None) -> list[int]:
        """1 = abusive per text: by the model of `dataset` ("roman_urdu" or "english"), or with
        no dataset by the model of each text's language route (English to English, all else
        to Roman Urdu)."""
        texts = list(texts)
        if dataset is not None:
            return [int(v) for v in self.models[dataset].predict(texts)]
        out = [0] * len(texts)
        groups: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            groups.setdefault("english" if route(text) == "english" else "roman_urdu", []).append(i)
        for name, idx in groups.items():
            for i, v in zip(idx, self.models[name].predict([texts[i] for i in idx]), strict=True):
                out[i] = int(v)
        return out

    def predict_set(self, set_name: str, texts: Sequence[str]) -> list[int]:
        """Predictions for a held-out set of `training.load_training_data` by its dataset."""
        return self.predict(texts, BASELINE_MODEL.get(set_name, "roman_urdu"))

    def evaluate(self, frozen_eval: Mapping[str, tuple[list[str], list[int]]]) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for name, (texts, labels) in frozen_eval.items():
            y_pred = self.predict_set(name, texts)
            results[name] = evaluate_predictions([route(t) for t in texts], labels, y_pred)
        return results


class TunedBaseline(Baseline):
    """The baseline with C chosen from `TUNED_C` by stratified `CV_FOLDS`-fold cross-validation
    (macro-F1, seed `SEED`) on the training split only. The TF-IDF vocabulary is fitted once on
    the whole training split (no label is used for it); the folds choose C, then the model is
    refitted on the whole training split."""

    name = "tuned_baseline"

    def _fit_one(self, name: str, texts: list[str], labels: list[int]) -> Pipeline:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        features = self._features()
        X = features.fit_transform(texts)
        C = choose_C(X, np.asarray(labels, dtype=np.int64))
        self.chosen_C[name] = C
        lr = LogisticRegression(C=C, max_iter=2000).fit(X, labels)
        return Pipeline([("features", features), ("lr", lr)])


def choose_C(X: Any, y: np.ndarray, grid: Sequence[float] = TUNED_C) -> float:
    """The C of `grid` with the best mean macro-F1 over stratified folds (seed `SEED`; the
    smaller C on a tie); 1.0 when a class has fewer than two items."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    folds = min(CV_FOLDS, int(np.bincount(y, minlength=2).min()))
    if folds < 2:
        return 1.0
    totals = np.zeros(len(grid))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(X, y):
        for k, C in enumerate(grid):
            predicted = (
                LogisticRegression(C=C, max_iter=2000).fit(X[train], y[train]).predict(X[test])
            )
            totals[k] += _macro_f1(y[test], predicted)
    return float(grid[int(np.argmax(totals))])


# -- statistics -------------------------------------------------------------------------------


def _f1(tp: Any, fp: Any, fn: Any) -> Any:
    """One class's F1 from its counts (arrays or numbers), 0 for a class never seen or said."""
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def _macro_f1(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binary macro-F1 along the last axis (1 = abusive), 0 for a class never seen or said."""
    out = np.zeros(t.shape[:-1])
    for cls in (0, 1):
        tp = ((t == cls) & (p == cls)).sum(-1)
        fp = ((t != cls) & (p == cls)).sum(-1)
        fn = ((t == cls) & (p != cls)).sum(-1)
        out += _f1(tp, fp, fn)
    return out / 2


def _interval(values: np.ndarray) -> list[float]:
    low, high = np.percentile(values, [2.5, 97.5])
    return [round(float(low), 4), round(float(high), 4)]


def bootstrap_f1(
    y_true: Sequence[int],
    systems: Mapping[str, Sequence[int]],
    n: int = BOOTSTRAP,
    seed: int = SEED,
) -> dict[str, np.ndarray]:
    """Paired bootstrap over items: each system's macro-F1 in `n` resamples of the items (the
    same resamples for every system).

    Macro-F1 depends only on how many items fall in each cell of (true label, every system's
    prediction), so a resample of the items is drawn as multinomial counts of those cells: the
    same distribution as drawing items with replacement, at a cost that does not grow with the
    number of items."""
    t = np.asarray(y_true, dtype=np.int64)
    names = list(systems)
    preds = np.asarray([systems[name] for name in names], dtype=np.int64).reshape(len(names), -1)
    if len(t) == 0:
        return {name: np.zeros(n) for name in names}
    code = t.copy()
    for row in preds:
        code = code * 2 + row
    cells, counts = np.unique(code, return_counts=True)
    draws = np.random.default_rng(seed).multinomial(len(t), counts / counts.sum(), size=n)
    cell_true = (cells >> len(names)) & 1
    out: dict[str, np.ndarray] = {}
    for k, name in enumerate(names):
        cell_pred = (cells >> (len(names) - 1 - k)) & 1
        f1 = np.zeros(n)
        for cls in (0, 1):
            tp = draws[:, (cell_true == cls) & (cell_pred == cls)].sum(1)
            fp = draws[:, (cell_true != cls) & (cell_pred == cls)].sum(1)
            fn = draws[:, (cell_true == cls) & (cell_pred != cls)].sum(1)
            f1 += _f1(tp, fp, fn)
        out[name] = f1 / 2
    return out


def bootstrap(
    y_true: Sequence[int], ours: Sequence[int], baseline: Sequence[int], n: int = BOOTSTRAP
) -> dict[str, Any]:
    """Paired bootstrap over items: 95% intervals of both macro-F1s and of their difference."""
    f1 = bootstrap_f1(y_true, {"ours": ours, "baseline": baseline}, n)
    return {
        "resamples": n,
        "ours": _interval(f1["ours"]),
        "baseline": _interval(f1["baseline"]),
        "difference": _interval(f1["ours"] - f1["baseline"]),
    }


def mcnemar(y_true: Sequence[int], ours: Sequence[int], other: Sequence[int]) -> dict[str, Any]:
    """McNemar's exact test: `b` items only ours gets right, `c` only the other gets right;
    p is the two-sided binomial probability of a split at least as uneven as b : c if either
    system were as likely to be the one right (1.0 when they never disagree)."""
    from scipy.stats import binomtest

    t, a, o = (np.asarray(v, dtype=np.int64) for v in (y_true, ours, other))
    b = int(((a == t) & (o != t)).sum())
    c = int(((a != t) & (o == t)).sum())
    p = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)
    return {"b": b, "c": c, "discordant": b + c, "p": p}


PERMUTATIONS = 10_000


def permutation_test(
    y_true: Sequence[int],
    ours: Sequence[int],
    other: Sequence[int],
    n: int = PERMUTATIONS,
    seed: int = SEED,
) -> dict[str, Any]:
    """Paired approximate randomization test of the macro-F1 difference: under the null that
    the two systems are exchangeable, each item's pair of predictions is swapped with
    probability 1/2; p is the share of `n` such shuffles (plus the observed one) whose absolute
    difference is at least the observed one. McNemar's test asks whether the *accuracies*
    differ; this asks what a macro-F1 claim needs (Dror et al., ACL 2018). Only the items the
    two systems disagree on can change, so only those are shuffled."""
    t, a, b = (np.asarray(v, dtype=np.int64) for v in (y_true, ours, other))
    observed = float(_macro_f1(t, a) - _macro_f1(t, b))
    differ = np.flatnonzero(a != b)
    if not len(differ):
        return {"difference": round(observed, 4), "p": 1.0, "permutations": n}
    rng = np.random.default_rng(seed)
    # Only the disagreeing items move; the others add the same counts to every shuffle.
    same = a == b
    t_d, a_d, b_d = t[differ], a[differ], b[differ]
    fixed = {
        (cls, side): (
            int(((t == cls) & (a == cls) & same).sum()),  # tp
            int(((t != cls) & (a == cls) & same).sum()),  # fp
            int(((t == cls) & (a != cls) & same).sum()),  # fn
        )
        for cls in (0, 1)
        for side in ("a", "b")
    }
    shuffled = np.empty(n)
    for start in range(0, n, 1000):
        swap = rng.integers(0, 2, size=(min(1000, n - start), len(differ))).astype(bool)
        pa, pb = np.where(swap, b_d, a_d), np.where(swap, a_d, b_d)
        f1 = {"a": np.zeros(len(swap)), "b": np.zeros(len(swap))}
        for side, pred in (("a", pa), ("b", pb)):
            for cls in (0, 1):
                tp0, fp0, fn0 = fixed[(cls, side)]
                tp = tp0 + ((t_d == cls) & (pred == cls)).sum(1)
                fp = fp0 + ((t_d != cls) & (pred == cls)).sum(1)
                fn = fn0 + ((t_d == cls) & (pred != cls)).sum(1)
                f1[side] += _f1(tp, fp, fn)
        shuffled[start : start + len(swap)] = (f1["a"] - f1["b"]) / 2
    extreme = int((np.abs(shuffled) >= abs(observed) - 1e-12).sum())
    return {"difference": round(observed, 4), "p": (extreme + 1) / (n + 1), "permutations": n}


def _block(
    y_true: list[int], systems: Mapping[str, list[int]], reference: str, n: int
) -> dict[str, Any]:
    f1 = bootstrap_f1(y_true, systems, n)
    out: dict[str, Any] = {"n": len(y_true), "systems": {}, "against": {}}
    for name, pred in systems.items():
        s = scores(y_true, pred)
        out["systems"][name] = {
            "macro_f1": s["macro_f1"],
            "interval": _interval(f1[name]),
            "abusive": s["abusive"],
            "normal": s["normal"],
            "confusion": s["confusion"],
        }
    for name, pred in systems.items():
        if name == reference:
            continue
        point = out["systems"][reference]["macro_f1"] - out["systems"][name]["macro_f1"]
        out["against"][name] = {
            "difference": round(point, 4),
            "interval": _interval(f1[reference] - f1[name]),
            "mcnemar": mcnemar(y_true, systems[reference], pred),
            "permutation": permutation_test(y_true, systems[reference], pred),
        }
    return out


def compare(
    y_true: Sequence[int],
    systems: Mapping[str, Sequence[int]],
    languages: Sequence[str],
    *,
    reference: str = "model",
    n: int = BOOTSTRAP,
) -> dict[str, Any]:
    """`reference` (the model) against every other system on the same items: overall and per
    language (the model's route, or a language column of the file), each system's macro-F1
    with its bootstrap interval, the abusive class's precision and recall, and per other system
    the difference's interval and McNemar's test."""
    y = [int(v) for v in y_true]
    preds = {name: [int(v) for v in pred] for name, pred in systems.items()}
    if reference not in preds:
        raise ValueError(f"no predictions of the reference system {reference!r}")
    result = _block(y, preds, reference, n)
    result["by_language"] = {}
    for lang in sorted(set(languages)):
        idx = [i for i, value in enumerate(languages) if value == lang]
        sub = {name: [pred[i] for i in idx] for name, pred in preds.items()}
        result["by_language"][lang] = _block([y[i] for i in idx], sub, reference, n)
    return result


def model_predictions(model: Any, texts: Sequence[str]) -> tuple[list[int], list[str]]:
    """The model's 1 = abusive per text and its language route; an item without a score (emoji
    only, empty) counts as predicted normal, as in `training.evaluate_model`."""
    predictions = model.predict(list(texts))
    return [int(p.flagged) for p in predictions], [p.language for p in predictions]
