"""`jalsa inbox train --data DIR --ship`: build the model that ships inside the package.

Trains exactly what `jalsa inbox train` trains (same data, splits, parameters and seeds), scores
it and the TF-IDF baseline on the held-out sets with paired bootstrap 95% intervals, writes it in
the portable format (`shipped.py`) to `default_model/` beside this file, checks that the written
copy predicts what the trained model predicts, and times loading it.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np

from jalsa.inbox.evaluation import Baseline, bootstrap
from jalsa.inbox.model_calibration import held_out_figures
from jalsa.inbox.shipped import SHIPPED_DIR, check_roundtrip, export_model, load_portable
from jalsa.inbox.training import (
    CALIBRATION_KEYS,
    PARAMS,
    Labelled,
    TrainingData,
    calibrate_fitted,
    evaluate_model,
    fingerprint,
    fit_model,
    load_training_data,
)


def intervals(model: Any, baseline: Baseline, frozen_eval: dict[str, Labelled]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (texts, labels) in frozen_eval.items():
        ours = [int(p.flagged) for p in model.predict(texts)]
        base = baseline.predict_set(name, texts)
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
