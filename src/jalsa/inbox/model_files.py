"""Which moderation model the inbox uses, and where model files live: the model a team trained
with `jalsa inbox train` and adopted (`DATA_DIR/inbox/models`, the file CURRENT names), else the
model that ships with jalsa (`shipped.py`).

Team model files are joblib pickles of `classifier.Model`, each with a JSON sidecar (version,
metrics, data hashes, parameters); the shipped model is in a portable format (`shipped.py`).
"""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path
from typing import Any

from jalsa.config import get_settings
from jalsa.errors import UserError
from jalsa.inbox.classifier import Model
from jalsa.inbox.shipped import load_shipped

MODEL_SUFFIX = ".joblib"
CURRENT_FILE = "CURRENT"


def sidecar(path: Path) -> Path:
    """The JSON file beside a model: version, metrics, data hashes, parameters."""
    return path.with_suffix(".json")


def model_dir(data_dir: Path) -> Path:
    return data_dir / "inbox" / "models"


def current_model_path(directory: Path) -> Path | None:
    """The adopted model: the one CURRENT names, else the newest model file."""
    pointer = directory / CURRENT_FILE
    if pointer.is_file():
        name = pointer.read_text(encoding="utf-8").strip()
        if name:
            return directory / name
    files = sorted(directory.glob(f"model-*{MODEL_SUFFIX}"), key=lambda p: p.stat().st_mtime)
    return files[-1] if files else None


def load_model(path: Path | None = None, *, data_dir: Path | None = None) -> Model:
    """Load a model file, or the adopted model of the data directory, or the shipped model.

    Without `path`, the model the team trained and adopted in `DATA_DIR/inbox/models` (CURRENT)
    is used; when there is none, the model that ships with jalsa (`shipped.py`). A missing or
    unreadable file is a UserError that says how to make one. Team model files are joblib
    pickles: load only files `jalsa inbox train` wrote (never one from a stranger), with the
    scikit-learn that wrote them.
    """
    if path is None:
        if data_dir is None:
            data_dir = get_settings().data_dir
        found = current_model_path(model_dir(data_dir))
        if found is None:
            return load_shipped()
        path = found
    if path.is_dir():
        found = current_model_path(path)
        if found is None:
            raise UserError(
                f"no moderation model in {path}. Train one with `jalsa inbox train --data DIR`."
            )
        path = found
    if not path.is_file():
        raise UserError(
            f"model file {path} does not exist. Train one with `jalsa inbox train --data DIR`."
        )
    info: dict[str, Any] = {}
    meta = sidecar(path)
    if meta.is_file():
        # The model itself is fine without it: its metrics are only shown, never used to score.
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(meta.read_text(encoding="utf-8"))
    model = _unpickle(path, info if isinstance(info, dict) else {})
    model.info = info if isinstance(info, dict) else {}
    return model


def _unpickle(path: Path, info: dict[str, Any]) -> Model:
    """joblib.load, refusing a pickle of another scikit-learn (it can load and score wrongly)."""
    # scikit-learn takes seconds to import: imported when a model is loaded, not at start.
    import joblib
    import sklearn
    from sklearn.exceptions import InconsistentVersionWarning

    built = (info.get("trained_with") or {}).get("scikit-learn")
    retrain = "Train it again with `jalsa inbox train --data DIR`"
    if built and built != sklearn.__version__:
        raise UserError(
            f"model file {path} was trained with scikit-learn {built} and this is "
            f"{sklearn.__version__}: a pickled model only works with the version that wrote it. "
            f"{retrain} (or install scikit-learn=={built})."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            model = joblib.load(path)
    except InconsistentVersionWarning as exc:
        raise UserError(
            f"model file {path} was written by another scikit-learn version ({exc}). {retrain}."
        ) from None
    except Exception as exc:
        raise UserError(
            f"model file {path} is corrupt or from an incompatible version "
            f"({type(exc).__name__}). {retrain}."
        ) from None
    if not isinstance(model, Model):
        raise UserError(
            f"{path} is not a jalsa moderation model. "
            "Train one with `jalsa inbox train --data DIR`."
        )
    return model
