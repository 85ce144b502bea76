"""Calibrated scores and operating points: when the classifier's word alone may hide a comment.

A classifier's raw score is not a probability: NB-weighted logistic regression with a weak
penalty says 0.99 far more often than it is right 99% of the time. Per language route, the raw
abusive score is mapped to a calibrated probability (`Calibration`, fitted on predictions for
text the model was not trained on), and an `OperatingPoint` says where the model hides on its
own and where a person should look:

- **hide** from the lowest calibrated score at which, on validation data, the precision of
  hiding is at least `target_precision` with `confidence` (a one-sided Jeffreys lower bound, so
  a route with little validation data gets a stricter threshold, and a route without enough
  evidence gets none: its model never hides alone);
- **review** (the band below hide) from the lowest score that keeps the band within
  `review_budget` of all items: doubtful comments go to a person instead of being hidden or let
  through.

Everything here is plain numbers (JSON in a model's metadata), applied without scikit-learn.
`reliability()` gives the reliability curve that checks a calibration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

TARGET_PRECISION = 0.97
CONFIDENCE = 0.90
REVIEW_BUDGET = 0.15
# A hide threshold needs at least this many validation items above it.
MIN_HIDDEN = 20
# Isotonic regression needs many items to beat a two-parameter fit; below this, Platt only.
ISOTONIC_MIN = 1_000
_EPS = 1e-6

Method = Literal["identity", "platt", "platt_gate", "isotonic"]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Calibration:
    """A monotone map from a route's raw score to a calibrated probability.

    `platt`: sigmoid(a * L + b) with L = logit(raw). `platt_gate`: sigmoid(a * L + b + c * g +
    d * g * L), where g is the gate's probability that Latin text is like RUHSOLD (Pakistani
    tweets) rather than Davidson's (US tweets): the same raw score means less abuse in one
    than in the other, and one route holds both. `isotonic`: linear interpolation through the
    knots (x, y), flat outside them.
    """

    method: Method = "identity"
    a: float = 1.0
    b: float = 0.0
    c: float = 0.0
    d: float = 0.0
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    n: int = 0

    def apply(
        self,
        raw: Sequence[float] | np.ndarray,
        gate: Sequence[float | None] | np.ndarray | None = None,
    ) -> np.ndarray:
        p = np.asarray(raw, dtype=np.float64)
        if self.method in ("platt", "platt_gate"):
            logit = _logit(p)
            z = self.a * logit + self.b
            if self.method == "platt_gate":
                g = _gates(gate, len(p))
                z = z + self.c * g + self.d * g * logit
            return 1.0 / (1.0 + np.exp(-z))
        if self.method == "isotonic" and self.x:
            return np.interp(p, self.x, self.y)
        return p

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["x"], out["y"] = list(self.x), list(self.y)
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Calibration:
        return cls(
            method=raw.get("method", "identity"),
            **{k: float(raw.get(k, 1.0 if k == "a" else 0.0)) for k in ("a", "b", "c", "d")},
            x=tuple(float(v) for v in raw.get("x", ())),
            y=tuple(float(v) for v in raw.get("y", ())),
            n=int(raw.get("n", 0)),
        )


def _gates(gate: Sequence[float | None] | np.ndarray | None, n: int) -> np.ndarray:
    """Gate weights as an array; a missing one (no gate) counts as undecided, 0.5."""
    if gate is None:
        return np.full(n, 0.5)
    return np.array([0.5 if g is None else float(g) for g in gate], dtype=np.float64)


def _fit_platt(raw: np.ndarray, y: np.ndarray, w: np.ndarray, g: np.ndarray) -> Calibration:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e4, max_iter=1000)
    lr.fit(_logit(raw).reshape(-1, 1), y, sample_weight=w)
    return Calibration("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]), n=len(y))


def _fit_platt_gate(raw: np.ndarray, y: np.ndarray, w: np.ndarray, g: np.ndarray) -> Calibration:
    from sklearn.linear_model import LogisticRegression

    logit = _logit(raw)
    lr = LogisticRegression(C=1e4, max_iter=1000)
    lr.fit(np.column_stack([logit, g, g * logit]), y, sample_weight=w)
    a, c, d = (float(v) for v in lr.coef_[0])
    if a <= 0 or a + d <= 0:  # not increasing in the raw score for every gate: not usable
        return _fit_platt(raw, y, w, g)
    return Calibration("platt_gate", a=a, b=float(lr.intercept_[0]), c=c, d=d, n=len(y))


def _fit_isotonic(raw: np.ndarray, y: np.ndarray, w: np.ndarray, g: np.ndarray) -> Calibration:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(raw, y, sample_weight=w)
    x = tuple(round(float(v), 6) for v in iso.X_thresholds_)
    fitted = tuple(round(float(v), 6) for v in iso.y_thresholds_)
    return Calibration("isotonic", x=x, y=fitted, n=len(y))


def _log_loss(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.average(y * np.log(p) + (1 - y) * np.log(1 - p), weights=w))


def fit_calibration(
    raw: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    gate: Sequence[float | None] | None = None,
    sources: Sequence[str] | None = None,
    seed: int = 0,
) -> Calibration:
    """The calibration of one route from raw scores of text the model was not trained on.

    Candidates: Platt scaling; with gate weights that vary, Platt scaling that reads the gate
    too; with 1,000+ items, isotonic regression. The one with the lowest log-loss in 5-fold
    cross-validation wins, each source of items weighing the same (so the Pakistani tweets of
    the English route count as much as the many US ones). Too few items or a single class:
    identity.
    """
    p, y = np.asarray(raw, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    if len(y) < 30 or y.min() == y.max():
        return Calibration(n=len(y))
    g = _gates(gate, len(p))
    names = np.asarray(sources if sources is not None else [""] * len(y))
    weights = np.ones(len(y))
    for name in set(names.tolist()):
        mask = names == name
        weights[mask] = len(y) / (mask.sum() * len(set(names.tolist())))
    fits = {"platt": _fit_platt}
    if gate is not None and float(np.ptp(g)) > 0.1:
        fits["platt_gate"] = _fit_platt_gate
    if len(y) >= ISOTONIC_MIN:
        fits["isotonic"] = _fit_isotonic
    if len(fits) == 1:
        return _fit_platt(p, y, weights, g)
    order = np.random.default_rng(seed).permutation(len(y))
    folds = np.array_split(order, 5)
    losses = dict.fromkeys(fits, 0.0)
    for k, test in enumerate(folds):
        train = np.concatenate([f for j, f in enumerate(folds) if j != k])
        for name, fit in fits.items():
            fitted = fit(p[train], y[train], weights[train], g[train])
            losses[name] += _log_loss(fitted.apply(p[test], g[test]), y[test], weights[test])
    best = min(losses, key=lambda name: losses[name])
    return fits[best](p, y, weights, g)


def reliability(
    p: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray, bins: int = 10
) -> dict[str, Any]:
    """The reliability curve (per equal-width bin: items, mean score, share abusive), the
    expected calibration error (ECE, weighted by items) and the Brier score."""
    p, y = np.asarray(p, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        if not n:
            continue
        mean_p, observed = float(p[mask].mean()), float(y[mask].mean())
        ece += n / max(len(p), 1) * abs(mean_p - observed)
        rows.append(
            {
                "bin": [round(float(edges[b]), 2), round(float(edges[b + 1]), 2)],
                "n": n,
                "mean_score": round(mean_p, 4),
                "share_abusive": round(observed, 4),
            }
        )
    brier = float(np.mean((p - y) ** 2)) if len(p) else math.nan
    return {"bins": rows, "ece": round(ece, 4), "brier": round(brier, 4), "n": len(p)}


def precision_lower_bound(hits: Any, n: Any, confidence: float = CONFIDENCE) -> Any:
    """One-sided Jeffreys lower bound of a proportion (hits of n) at `confidence`, for one
    count (a float; 0.0 for n = 0) or arrays of them (the bound `hide_threshold` uses)."""
    from scipy.stats import beta

    if np.ndim(n) == 0:
        return 0.0 if n == 0 else float(beta.ppf(1 - confidence, hits + 0.5, n - hits + 0.5))
    return beta.ppf(1 - confidence, hits + 0.5, n - hits + 0.5)


@dataclass(frozen=True)
class OperatingPoint:
    """Where a route's calibrated abusive score hides (None: never alone) and reviews."""

    hide: float | None
    review: float
    target_precision: float = TARGET_PRECISION
    confidence: float = CONFIDENCE
    review_budget: float = REVIEW_BUDGET
    chosen_on: str = ""
    n: int = 0

    def action(self, p: float) -> Literal["hide", "review", "allow"]:
        if self.hide is not None and p >= self.hide:
            return "hide"
        return "review" if p >= self.review else "allow"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> OperatingPoint:
        hide = raw.get("hide")
        return cls(
            hide=None if hide is None else float(hide),
            review=float(raw["review"]),
            target_precision=float(raw.get("target_precision", TARGET_PRECISION)),
            confidence=float(raw.get("confidence", CONFIDENCE)),
            review_budget=float(raw.get("review_budget", REVIEW_BUDGET)),
            chosen_on=str(raw.get("chosen_on", "")),
            n=int(raw.get("n", 0)),
        )


def _descending(p: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    scores, y = np.asarray(p, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    order = np.argsort(-scores, kind="stable")
    return scores[order], y[order]


def hide_threshold(p: Any, labels: Any, target_precision: float, confidence: float) -> float | None:
    """The lowest score whose hidden set (every item at or above it) has a precision lower
    bound of at least `target_precision`, with at least MIN_HIDDEN items; None if none has."""
    s, t = _descending(p, labels)
    if not len(s):
        return None
    last_of_value = np.flatnonzero(np.append(s[1:] != s[:-1], True))  # cut after each score
    counts = last_of_value + 1
    hits = np.cumsum(t)[last_of_value]
    bound = precision_lower_bound(hits, counts, confidence)
    passing = np.flatnonzero((counts >= MIN_HIDDEN) & (bound >= target_precision))
    return float(s[last_of_value[passing[-1]]]) if len(passing) else None


def review_threshold(p: Any, hide: float | None, review_budget: float) -> float:
    """The lowest score that keeps the items between it and `hide` within `review_budget` of
    all items (a run of equal scores is not split, unless it is all the band would hold)."""
    s = np.sort(np.asarray(p, dtype=np.float64))[::-1]
    n = len(s)
    hide_index = int((s >= hide).sum()) if hide is not None else 0
    review_index = min(n, hide_index + math.floor(review_budget * n))
    end = review_index
    while end < n and end > hide_index and s[end - 1] == s[end]:
        end -= 1
    if end > hide_index:
        review_index = end
    if review_index > hide_index:
        return float(s[review_index - 1])
    return hide if hide is not None else 1.0


def choose_operating_point(
    p: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    target_precision: float = TARGET_PRECISION,
    confidence: float = CONFIDENCE,
    review_budget: float = REVIEW_BUDGET,
    chosen_on: str = "",
) -> OperatingPoint:
    """The operating point of one route from calibrated scores of validation items: hide from
    `hide_threshold`, review from `review_threshold`."""
    return choose_for_sources(
        {chosen_on: (p, labels)},
        target_precision=target_precision,
        confidence=confidence,
        review_budget=review_budget,
    )


def choose_for_sources(
    sources: Mapping[str, tuple[Any, Any]],
    *,
    target_precision: float = TARGET_PRECISION,
    confidence: float = CONFIDENCE,
    review_budget: float = REVIEW_BUDGET,
    min_items: int = 0,
) -> OperatingPoint:
    """One operating point that holds on every source of validation data at once.

    A route's comments come from different places (the English route gets US tweets and
    Pakistani political tweets, with very different shares of abuse), and the promise must
    hold for each: hide is the strictest of the sources' hide thresholds (none if any source
    with at least `min_items` items cannot promise the precision), review the strictest that
    keeps each source's band within the budget. Sources with fewer items are pooled with the
    largest."""
    kept = {name: part for name, part in sources.items() if len(part[1]) >= min_items}
    if not kept:
        kept = dict(sources)
    small = [part for name, part in sources.items() if name not in kept]
    if small:
        largest = max(kept, key=lambda name: len(kept[name][1]))
        parts = [kept[largest], *small]
        kept[largest] = (
            np.concatenate([np.asarray(a, dtype=np.float64) for a, _ in parts]),
            np.concatenate([np.asarray(b, dtype=np.int64) for _, b in parts]),
        )
    hides = [hide_threshold(p, y, target_precision, confidence) for p, y in kept.values()]
    hide = None if any(h is None for h in hides) else max(h for h in hides if h is not None)
    review = max(review_threshold(p, hide, review_budget) for p, _ in kept.values())
    if hide is not None:
        review = min(review, hide)
    return OperatingPoint(
        hide=hide,
        review=review,
        target_precision=target_precision,
        confidence=confidence,
        review_budget=review_budget,
        chosen_on=" and ".join(name for name in sources if name),
        n=sum(len(y) for _, y in sources.values()),
    )


def operating_figures(
    p: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    point: OperatingPoint,
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """What a route's operating point does on labelled items (`action_figures` of its
    actions)."""
    actions = [point.action(float(v)) for v in np.asarray(p, dtype=np.float64)]
    return action_figures(actions, labels, resamples=resamples, seed=seed)


def action_figures(
    actions: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """What hide/review/allow decisions do on labelled items, with 95% bootstrap intervals:
    precision and recall of hide, recall of hide or review, and the shares hidden and reviewed
    (whether an operating point or a whole policy made them)."""
    y = np.asarray(labels, dtype=np.int64)
    hide = np.array([a == "hide" for a in actions], dtype=bool)
    review = np.array([a == "review" for a in actions], dtype=bool)

    def figures(idx: np.ndarray) -> np.ndarray:
        h, r, t = hide[idx], review[idx], y[idx]
        positives = max(int(t.sum()), 1)
        return np.array(
            [
                (h & (t == 1)).sum() / h.sum() if h.sum() else np.nan,
                (h & (t == 1)).sum() / positives,
                ((h | r) & (t == 1)).sum() / positives,
                h.mean() if len(t) else np.nan,
                r.mean() if len(t) else np.nan,
            ]
        )

    names = ("hide_precision", "hide_recall", "flag_recall", "hide_share", "review_share")
    whole = figures(np.arange(len(y)))
    out: dict[str, Any] = {"n": len(y), "abusive": int(y.sum()), "hidden": int(hide.sum())}
    if not len(y):
        return out
    idx = np.random.default_rng(seed).integers(0, len(y), size=(resamples, len(y)))
    samples = np.array([figures(row) for row in idx])
    for k, name in enumerate(names):
        value = whole[k]
        column = samples[:, k][~np.isnan(samples[:, k])]
        low, high = np.percentile(column, [2.5, 97.5]) if len(column) else (np.nan, np.nan)
        out[name] = {
            "value": None if np.isnan(value) else round(float(value), 4),
            "interval": None if np.isnan(low) else [round(float(low), 4), round(float(high), 4)],
        }
    return out
