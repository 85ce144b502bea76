"""Calibrating a trained moderation model: validation scores, calibration, operating points.

The scores a model is calibrated on must come from text it was not trained on. For the Latin
routes they are out-of-fold: the training data is cut into folds, a model is trained on all
folds but one and scores the one left out (`out_of_fold`), so every training item gets an
honest score and the final model is still trained on all of it. For Urdu script, which has no
training data of its own, they are the project's Urdu-script validation split. Scores are
grouped by the route the item actually takes (`classifier.CALIBRATION_GROUP`), so routing
errors are calibrated too; then per group a `Calibration` is fitted and an `OperatingPoint`
chosen on the calibrated scores (`calibration.py`), and both are written into the model's
metadata with the reliability curves and figures they were chosen on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from jalsa.inbox.calibration import (
    CONFIDENCE,
    REVIEW_BUDGET,
    TARGET_PRECISION,
    choose_for_sources,
    fit_calibration,
    operating_figures,
    reliability,
)
from jalsa.inbox.classifier import Model, calibration_group

Scored = tuple[list[float], list[int], list[float | None]]  # raw scores, labels, gate weights
GroupScores = dict[str, dict[str, Scored]]  # group: source: scored items
FOLDS = 5
# A source of validation data with fewer items of a route is pooled with the route's largest.
MIN_SOURCE_ITEMS = 200


def group_scores(
    model: Model, texts: Sequence[str], labels: Sequence[int], source: str
) -> GroupScores:
    """Raw abusive scores of labelled items from one source, grouped by the route each item
    takes."""
    out: GroupScores = {}
    for prediction, label in zip(model.predict(texts), labels, strict=True):
        group = calibration_group(prediction.language, prediction.gate)
        if group is None or prediction.raw is None:
            continue  # nothing scored (emoji only), or a route without a model
        scores, ys, gates = out.setdefault(group, {}).setdefault(source, ([], [], []))
        scores.append(float(prediction.raw))
        ys.append(int(label))
        gates.append(prediction.gate)
    return out


def merge(*parts: GroupScores) -> GroupScores:
    out: GroupScores = {}
    for part in parts:
        for group, sources in part.items():
            for source, (scores, ys, gates) in sources.items():
                into = out.setdefault(group, {}).setdefault(source, ([], [], []))
                into[0].extend(scores)
                into[1].extend(ys)
                into[2].extend(gates)
    return out


def fold_splits(
    data: Any, folds: int = FOLDS, seed: int = 0
) -> Iterator[tuple[Any, dict[str, tuple[list[str], list[int]]]]]:
    """(training data without fold k, {source: (texts, labels) of fold k}) for each fold.

    `data` is a `training.TrainingData`; the Roman Urdu and English training sets are each cut
    into stratified folds (the category sets are kept whole: they do not touch the abusive
    score)."""
    from sklearn.model_selection import StratifiedKFold

    def cuts(labels: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(labels)), labels))

    ru_texts, ru_labels = data.roman_urdu
    en_texts, en_labels = data.english
    en_classes = data.english_classes
    for (ru_in, ru_out), (en_in, en_out) in zip(cuts(ru_labels), cuts(en_labels), strict=True):
        part = replace(
            data,
            roman_urdu=([ru_texts[i] for i in ru_in], [ru_labels[i] for i in ru_in]),
            english=([en_texts[i] for i in en_in], [en_labels[i] for i in en_in]),
            english_classes=[en_classes[i] for i in en_in],
        )
        held = {
            ROMAN_URDU_SOURCE: ([ru_texts[i] for i in ru_out], [ru_labels[i] for i in ru_out]),
            ENGLISH_SOURCE: ([en_texts[i] for i in en_out], [en_labels[i] for i in en_out]),
        }
        yield part, held


ROMAN_URDU_SOURCE = "Roman Urdu training data, out of fold"
ENGLISH_SOURCE = "English training data, out of fold"


def out_of_fold(
    splits: Iterable[tuple[Any, Mapping[str, tuple[list[str], list[int]]]]],
    fit: Callable[[Any], Model],
    progress: Callable[[str], None] | None = None,
) -> GroupScores:
    """Every held-out fold scored by a model trained without it (`fit` trains one)."""
    parts = []
    for k, (training_part, held) in enumerate(splits, start=1):
        if progress is not None:
            size = sum(len(texts) for texts, _ in held.values())
            progress(f"fold {k}: training and scoring {size:,} held-out items")
        model = fit(training_part)
        parts += [group_scores(model, t, y, source) for source, (t, y) in held.items()]
    return merge(*parts)


def calibrate(
    model: Model,
    validation: GroupScores,
    *,
    target_precision: float = TARGET_PRECISION,
    confidence: float = CONFIDENCE,
    review_budget: float = REVIEW_BUDGET,
) -> dict[str, Any]:
    """Fit each group's calibration (on all its validation items) and operating point (one
    that holds on each source: `calibration.choose_for_sources`), record them in the model,
    and return what they were chosen on: per source, reliability before and after and the
    figures at the operating point. A group without validation items gets neither: its scores
    stay raw and the policy's thresholds and language caps judge it."""
    calibrations = {}
    points = {}
    report: dict[str, Any] = {}
    for group, sources in sorted(validation.items()):
        raw = [v for scores, _, _ in sources.values() for v in scores]
        labels = [v for _, ys, _ in sources.values() for v in ys]
        gates = [v for _, _, gs in sources.values() for v in gs]
        names = [name for name, (ys, _, _) in sources.items() for _ in ys]
        gate = gates if any(g is not None for g in gates) else None
        calibration = fit_calibration(raw, labels, gate=gate, sources=names)
        calibrated = {name: (calibration.apply(r, g), y) for name, (r, y, g) in sources.items()}
        point = choose_for_sources(
            calibrated,
            target_precision=target_precision,
            confidence=confidence,
            review_budget=review_budget,
            min_items=MIN_SOURCE_ITEMS,
        )
        calibrations[group], points[group] = calibration, point
        report[group] = {
            "chosen_on": point.chosen_on,
            "calibration": calibration.method,
            "operating_point": point.to_json(),
            "sources": {
                name: {
                    "reliability_raw": reliability(sources[name][0], y),
                    "reliability": reliability(p, y),
                    "figures": operating_figures(p, y, point),
                }
                for name, (p, y) in calibrated.items()
            },
        }
    model.set_calibration(calibrations, points)
    model.info["calibrated_on"] = report
    return report


def held_out_figures(model: Model, sets: Mapping[str, tuple[list[str], list[int]]]) -> dict:
    """Per held-out set and route group: reliability of the calibrated score and what the
    operating point does (precision and recall of hide, review share) with intervals."""
    out: dict[str, Any] = {}
    points = model.operating_points()
    calibrations = model.calibration()
    for name, (texts, labels) in sets.items():
        per_group: dict[str, Any] = {}
        for group, sources in sorted(group_scores(model, texts, labels, name).items()):
            point, calibration = points.get(group), calibrations.get(group)
            if point is None or calibration is None:
                continue
            raw, ys, gates = sources[name]
            calibrated = calibration.apply(raw, gates)
            per_group[group] = {
                "reliability": reliability(calibrated, ys),
                "figures": operating_figures(calibrated, ys, point),
            }
        out[name] = per_group
    return out
