"""The code of conduct as moderators read it: what hides, what waits for a person, and what the
model's own operating points promise per language.

`policy_view(policy, model)` gathers, for the policy page, each category's thresholds, each
language's caps and, per language route of the model, its hide and review thresholds with the
precision and recall of hiding and the share of items sent to review, measured on held-out data
(with 95% intervals) and on the validation data they were chosen on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jalsa.inbox.policy import Policy

ROUTE_TITLES = {
    "english": "English",
    "english_us_style": "English like US tweets",
    "roman_urdu": "Roman Urdu",
    "urdu": "Urdu script",
}


@dataclass(frozen=True)
class Figure:
    """A measured share with its 95% interval (None: not measured)."""

    value: float | None
    low: float | None = None
    high: float | None = None

    @classmethod
    def of(cls, raw: object) -> Figure:
        if not isinstance(raw, Mapping):
            return cls(None)
        interval = raw.get("interval") or [None, None]
        return cls(raw.get("value"), interval[0], interval[1])


@dataclass(frozen=True)
class RouteView:
    route: str
    title: str
    hide: float | None
    review: float | None
    chosen_on: str
    measured_on: str
    n: int
    hide_precision: Figure
    hide_recall: Figure
    flag_recall: Figure
    review_share: Figure


@dataclass(frozen=True)
class PolicyView:
    version: str
    name: str
    categories: list[dict[str, Any]]
    languages: list[dict[str, Any]]
    operating_points: bool
    model: str
    target_precision: float | None
    routes: list[RouteView] = field(default_factory=list)


def _pooled(figures: Mapping[str, Any], group: str) -> tuple[str, Any] | None:
    """The set with the most items of this route (`group`; "" when `figures` are one route's
    already), and its figures."""
    best: tuple[str, Any] | None = None
    for name, groups in figures.items():
        found = (groups.get(group) if group else groups) if isinstance(groups, Mapping) else None
        if found and (best is None or found["figures"]["n"] > best[1]["figures"]["n"]):
            best = (name, found)
    return best


def policy_view(policy: Policy, model: Any | None) -> PolicyView:
    """Everything the policy page shows (`model`: the classifier in use, or None)."""
    categories = [
        {
            "name": name,
            "description": rule.description,
            "thresholds": [(t.score, t.action) for t in rule.thresholds],
        }
        for name, rule in policy.categories.items()
    ]
    languages = [
        {"name": name, "max_action": rule.max_action} for name, rule in policy.languages.items()
    ]
    info = getattr(model, "info", None) or {}
    points = info.get("operating_points") or {}
    chosen = info.get("calibrated_on") or {}
    held_out = info.get("operating_figures") or {}
    routes = []
    target = None
    for group, point in sorted(points.items()):
        target = point.get("target_precision", target)
        measured = _pooled(held_out, group) or _pooled(chosen.get(group, {}).get("sources", {}), "")
        source, figures = (
            (f"held out: {measured[0]}", measured[1]["figures"]) if measured else ("", {})
        )
        routes.append(
            RouteView(
                route=group,
                title=ROUTE_TITLES.get(group, group),
                hide=point.get("hide"),
                review=point.get("review"),
                chosen_on=str(point.get("chosen_on", "")),
                measured_on=source,
                n=int(figures.get("n", 0)),
                hide_precision=Figure.of(figures.get("hide_precision")),
                hide_recall=Figure.of(figures.get("hide_recall")),
                flag_recall=Figure.of(figures.get("flag_recall")),
                review_share=Figure.of(figures.get("review_share")),
            )
        )
    describe = getattr(model, "describe", None)
    return PolicyView(
        version=policy.version,
        name=policy.name,
        categories=categories,
        languages=languages,
        operating_points=policy.use_model_operating_points,
        model=describe() if callable(describe) else "no classifier: rules only",
        target_precision=target,
        routes=routes,
    )
