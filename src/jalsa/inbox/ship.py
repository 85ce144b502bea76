"""`jalsa inbox train --data DIR --ship`: build the model that ships inside the package.

Trains exactly what `jalsa inbox train` trains (same data, splits, parameters and seeds), scores
it and the TF-IDF baseline on the held-out sets with paired bootstrap 95% intervals, writes it in
the portable format (`shipped.py`) to `default_model/` beside this file, checks that the written
copy predicts what the trained model predicts, and times loading it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jalsa.inbox.model_calibration import held_out_figures
from jalsa.inbox.shipped import SHIPPED_DIR, check_roundtrip, export_model, load_portable
from jalsa.inbox.training import (
    CALIBRATION_KEYS,
    PARAMS,
    SEED,
    Baseline,
    Labelled,
    TrainingData,
    calibrate_fitted,
    evaluate_model,
    fingerprint,
    fit_model,
    load_training_data,
)

BOOTSTRAP = 2000
BASELINE_MODEL = {"davidson_heldout": "english"}  # the baseline's model per set; else roman_urdu


def _macro_f1(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binary macro-F1 along the last axis (1 = abusive), 0 for a class never seen or said."""
    out = np.zeros(t.shape[:-1])
    for cls in (0, 1):
        tp = ((t == cls) & (p == cls)).sum(-1)
        fp = ((t != cls) & (p == cls)).sum(-1)
        fn = ((t == cls) & (p != cls)).sum(-1)
        denominator = 2 * tp + fp + fn
        out += np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
    return out / 2


def bootstrap(
    y_true: Sequence[int], ours: Sequence[int], baseline: Sequence[int], n: int = BOOTSTRAP
) -> dict[str, Any]:
    """Paired bootstrap over items: 95% intervals of both macro-F1s and of their difference."""
    t, a, b = (np.asarray(v) for v in (y_true, ours, baseline))
    idx = np.random.default_rng(SEED).integers(0, len(t), size=(n, len(t)))
    f_ours, f_base = _macro_f1(t[idx], a[idx]), _macro_f1(t[idx], b[idx])

    def interval(values: np.ndarray) -> list[float]:
        low, high = np.percentile(values, [2.5, 97.5])
        return [round(float(low), 4), round(float(high), 4)]

    return {
        "resamples": n,
        "ours": interval(f_ours),
        "baseline": interval(f_base),
        "difference": interval(f_ours - f_base),
    }


def intervals(model: Any, baseline: Baseline, frozen_eval: dict[str, Labelled]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (texts, labels) in frozen_eval.items():
        ours = [int(p.flagged) for p in model.predict(texts)]
        base_model = baseline.models[BASELINE_MODEL.get(name, "roman_urdu")]
        base = [int(v) for v in base_model.predict(texts)]
        out[name] = bootstrap(labels, ours, base)
    return out


def build(data_path: Path, directory: Path = SHIPPED_DIR) -> dict[str, Any]:
    """Train, evaluate, export to `directory` and check the export; the manifest written."""
    import sklearn

    started = time.perf_counter()
    data: TrainingData = load_training_data(data_path)
    model = fit_model(data)
    day = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    model.version = f"jalsa-default-{day}-{fingerprint(data)}"
    model.info = {}
    calibrate_fitted(model, data)
    trained_s = time.perf_counter() - started
    baseline = Baseline().fit(data)
    info: dict[str, Any] = {
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "train_seconds": round(trained_s, 1),
        "params": PARAMS,
        "trained_with": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "data_hashes": data.hashes,
        "splits": {
            "roman_urdu_train": len(data.roman_urdu[0]),
            "roman_urdu_categories_train": len(data.roman_urdu_categories[0]),
            "english_train": len(data.english[0]),
            **{name: len(texts) for name, (texts, _) in data.frozen_eval.items()},
        },
        **{key: model.info[key] for key in CALIBRATION_KEYS},
        "operating_figures": held_out_figures(model, data.frozen_eval),
        "metrics": evaluate_model(model, data.frozen_eval),
        "baseline": baseline.evaluate(data.frozen_eval),
        "intervals": intervals(model, baseline, data.frozen_eval),
    }
    export_model(model, directory, info)
    probe = [t for texts, _ in data.frozen_eval.values() for t in texts]
    worst = check_roundtrip(model, directory, probe)
    loads = []
    for _ in range(3):
        start = time.perf_counter()
        load_portable(directory)
        loads.append(time.perf_counter() - start)
    size = sum(f.stat().st_size for f in directory.iterdir() if f.is_file())
    return {
        "version": model.version,
        "directory": str(directory),
        "bytes": size,
        "load_seconds": round(min(loads), 3),
        "roundtrip_max_difference": worst,
        "metrics": info["metrics"],
        "baseline": info["baseline"],
        "intervals": info["intervals"],
    }
