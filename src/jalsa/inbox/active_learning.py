"""Active learning: which comments moderators should label next.

A label teaches the model most where it is least sure: near the scores where its decision
changes. `least_sure()` scores the candidates (comments no person has decided about) with the
model in use and ranks them by their distance to the nearest threshold of their route's
operating point (hide or review), measured in log-odds so that 0.97 against 0.99 counts as much
as 0.5 against 0.73; a route without an operating point is measured against 0.5. Languages take
turns in the list, so the weakest route (Urdu script, with the fewest labels) is not crowded
out by the busiest. Moderators label an item by deciding about it; `jalsa inbox labels` then
exports every person's decision as training labels for `jalsa inbox train --labels`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from jalsa.inbox.scores import as_scores

_EPS = 1e-4


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Ask:
    """One comment to label: how sure the model is and about what."""

    item: Any
    language: str
    abusive: float
    margin: float  # log-odds to the nearest threshold: the smaller, the less sure
    near: str  # which threshold: "hide", "review" or "0.5"


def margin(p: float, point: dict[str, float | None] | Any) -> tuple[float, str]:
    """The distance (in log-odds) from `p` to the nearest threshold of the operating point."""
    thresholds = {name: point.get(name) for name in ("hide", "review")} if point else {}
    found = {name: t for name, t in thresholds.items() if t is not None}
    if not found:
        found = {"0.5": 0.5}
    return min((abs(_logit(p) - _logit(t)), name) for name, t in found.items())


def least_sure(model: Any, items: Sequence[Any], limit: int = 50) -> list[Ask]:
    """The `limit` items the model is least sure about, languages taking turns.

    `items` have a `text`; items the model cannot score (emoji only, another script) are left
    out: a label would not teach it anything."""
    predictions = model.predict([item.text for item in items])
    by_language: dict[str, list[Ask]] = {}
    for item, prediction in zip(items, predictions, strict=True):
        scores = as_scores(prediction, None, None)
        if scores is None or not scores.categories or scores.status not in ("ok", "too_long"):
            continue
        p = scores.categories.get("abusive", max(scores.categories.values()))
        distance, near = margin(p, scores.operating_point)
        ask = Ask(item, scores.language, p, distance, near)
        by_language.setdefault(scores.language, []).append(ask)
    ranked = [sorted(asks, key=lambda a: a.margin) for _, asks in sorted(by_language.items())]
    turns = [ask for group in zip_longest(*ranked) for ask in group if ask is not None]
    return turns[:limit]
