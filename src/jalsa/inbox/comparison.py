"""`jalsa inbox evaluate`: a model against the baselines on the same items, and what the model
(and the baselines) were trained on among them.

On the datasets folder the items are the held-out splits of `training.load_training_data`; on a
labelled file (`labelled_file`), the file's rows. The baselines (`evaluation.Baseline` and
`evaluation.TunedBaseline`) are always trained fresh on the training splits of
`training.load_training_data` (the same splits as the shipped model), never copied from a
model's metadata. The statistics are `evaluation.compare`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jalsa.inbox import contamination
from jalsa.inbox.evaluation import (
    Baseline,
    TunedBaseline,
    compare,
    model_predictions,
)
from jalsa.inbox.labelled_file import LabelledFile
from jalsa.inbox.language import route
from jalsa.inbox.training import TrainingData, load_training_data

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    return None


def training_keys(model: Any) -> np.ndarray | None:
    """The keys (`contamination.keys`) of the texts a model was trained on, when it carries
    them: a `training_keys` attribute or `model.info["training_keys"]`; else None."""
    found = getattr(model, "training_keys", None)
    if found is None:
        found = (getattr(model, "info", None) or {}).get("training_keys")
    return None if found is None else contamination.as_keys(found)


def seen_by_model(model: Any, texts: Sequence[str]) -> int | None:
    """How many of `texts` the model was trained on; None when the model does not say."""
    known = training_keys(model)
    return None if known is None else len(contamination.overlap(known, texts))


def baseline_dataset(texts: Sequence[str]) -> str:
    """Which of the baselines' models scores a file: English when most of its texts route to
    English, else Roman Urdu (as a held-out split is scored by its dataset's model). The
    baselines have no routing of their own; routing each item would hand the Roman Urdu
    file's English-looking tweets to the Davidson-trained model and understate the baseline."""
    english = sum(route(t) == "english" for t in texts)
    return "english" if english * 2 > len(texts) else "roman_urdu"


def fit_baselines(data: TrainingData, progress: Progress = _quiet) -> dict[str, Baseline]:
    progress("training the TF-IDF baseline on the training splits...")
    plain = Baseline().fit(data)
    progress("tuning the TF-IDF baseline by 5-fold cross-validation on the training splits...")
    tuned = TunedBaseline().fit(data)
    return {plain.name: plain, tuned.name: tuned}


def _baselines_info(baselines: dict[str, Baseline], data: TrainingData) -> dict[str, Any]:
    return {
        "trained_on": {name: len(texts) for name, texts in data.training_texts().items()},
        "removed_from_training": data.removed,
        "C": {name: b.chosen_C for name, b in baselines.items()},
    }


def compare_held_out(
    model: Any, data_dir: Path | None, progress: Progress = _quiet
) -> dict[str, Any]:
    """The model and both baselines on every held-out split of the datasets folder."""
    progress("reading the datasets...")
    data = load_training_data(data_dir)
    baselines = fit_baselines(data, progress)
    sets: dict[str, Any] = {}
    seen: dict[str, Any] = {}
    for name, (texts, labels) in data.frozen_eval.items():
        progress(f"scoring {name} ({len(texts):,} texts)...")
        ours, routes = model_predictions(model, texts)
        systems = {"model": ours} | {b: m.predict_set(name, texts) for b, m in baselines.items()}
        sets[name] = compare(labels, systems, routes)
        seen[name] = {"n": len(texts), "in_model_training": seen_by_model(model, texts)}
    return {
        "model": model.version,
        "sets": sets,
        "baselines": _baselines_info(baselines, data),
        "contamination": seen,
    }


def compare_file(
    model: Any,
    labelled: LabelledFile,
    train_data: Path | None,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """The model (and, given the datasets folder to train them from, both baselines) on a
    labelled file; per the model's language route, and per the file's language column if any."""
    texts, labels = labelled.texts, labelled.labels
    systems: dict[str, list[int]] = {}
    result: dict[str, Any] = {"model": model.version, "file": labelled.as_dict()}
    seen: dict[str, Any] = {"n": len(texts), "in_model_training": seen_by_model(model, texts)}
    if train_data is not None:
        progress("reading the training splits...")
        data = load_training_data(train_data)
        baselines = fit_baselines(data, progress)
        dataset = baseline_dataset(texts)
        progress(f"scoring the file with the baselines' {dataset} models ({len(texts):,} texts)...")
        for name, baseline in baselines.items():
            systems[name] = baseline.predict(texts, dataset)
        result["baselines"] = _baselines_info(baselines, data) | {"dataset": dataset}
        train_keys = contamination.keys(t for v in data.training_texts().values() for t in v)
        seen["in_baseline_training"] = len(contamination.overlap(train_keys, texts))
    else:
        result["baselines"] = None
    progress(f"scoring the file with the model ({len(texts):,} texts)...")
    ours, routes = model_predictions(model, texts)
    systems = {"model": ours} | systems
    progress("bootstrap intervals and McNemar's test...")
    name = labelled.path.name
    result["sets"] = {name: compare(labels, systems, routes)}
    if labelled.languages is not None:
        by_file = compare(labels, systems, labelled.languages)
        result["sets"][name]["by_file_language"] = by_file["by_language"]
    result["contamination"] = {name: seen}
    return result


def contamination_lines(result: dict[str, Any]) -> list[str]:
    """The contamination report in words, one line per set."""
    lines = []
    for name, seen in result["contamination"].items():
        n, in_model = seen["n"], seen["in_model_training"]
        if in_model is None:
            said = (
                f"{name}: unknown how many of the {n:,} texts were in the model's training data "
                "(the model does not carry its training keys)"
            )
        else:
            said = f"{name}: {in_model:,} of the {n:,} texts were in the model's training data"
        if "in_baseline_training" in seen:
            said += f"; {seen['in_baseline_training']:,} in the baselines' training splits"
        lines.append(said)
    return lines
