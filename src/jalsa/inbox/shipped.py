"""The moderation model that ships inside the package, in a portable format.

A data directory without a model its team trained (`DATA_DIR/inbox/models` with CURRENT) is
moderated with this one. It is built from the datasets by one command,

    jalsa inbox train --data DIR --ship

which trains the same model `jalsa inbox train` does, evaluates it on the held-out sets beside
the TF-IDF baseline, and writes it to `default_model/` in the source tree (docs/model-card.md).

The format is not a pickle (docs/decisions.md §23): every fitted number is written out —
vocabularies as a gzipped JSON list per vectorizer, IDF weights, naive-Bayes ratios and
regression coefficients as arrays in an .npz — and the loader rebuilds the scikit-learn objects
through their public parameters and attributes. A new scikit-learn does not break it, and loading
runs no code from the file. `model.json` holds the metadata and the sha256 of the two data files;
the loader refuses files that do not match it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from jalsa.errors import UserError
from jalsa.inbox.classifier import Model, RouteModel
from jalsa.inbox.npz import write_npz

FORMAT = 1
SHIPPED_DIR = Path(__file__).with_name("default_model")
MANIFEST = "model.json"
ARRAYS = "arrays.npz"
VOCABULARY = "vocabulary.json.gz"
TRAINING_KEYS = "training.keys"  # in ARRAYS: the keys of the texts the model was trained on
NAME = "jalsa default moderation model"
BUILD_COMMAND = "jalsa inbox train --data DIR --ship"
# Exported and reloaded predictions must agree to this (they are equal: every number is kept in
# the dtype it was fitted in).
TOLERANCE = 1e-9


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- export -----------------------------------------------------------------------------------


def _vectorizer(
    prefix: str, vec: Any, arrays: dict[str, np.ndarray], vocab: dict[str, Any]
) -> None:
    terms = [""] * len(vec.vocabulary_)
    for term, index in vec.vocabulary_.items():
        terms[index] = term
    vocab[prefix] = terms
    arrays[f"{prefix}.idf"] = np.asarray(vec.idf_)


def _linear(prefix: str, lr: Any, arrays: dict[str, np.ndarray]) -> None:
    # Kept in the dtype they were fitted in (float32, as the features), so the copy is exact.
    arrays[f"{prefix}.coef"] = np.asarray(lr.coef_)
    arrays[f"{prefix}.intercept"] = np.asarray(lr.intercept_)
    arrays[f"{prefix}.classes"] = np.asarray(lr.classes_)


def _preprocessor_name(fn: Any) -> str:
    # features.py imports scikit-learn (seconds): here and below it is imported when a model is
    # exported or loaded, not when jalsa starts.
    from jalsa.inbox.features import PREPROCESSORS

    for name, known in PREPROCESSORS.items():
        if known is fn:
            return name
    raise ValueError(f"preprocessor {fn!r} has no name in features.PREPROCESSORS")


def export_model(model: Model, directory: Path, info: dict[str, Any]) -> Path:
    """Write `model` in the portable format to `directory`; `info` goes into the manifest."""
    import sklearn

    arrays: dict[str, np.ndarray] = {}
    vocab: dict[str, Any] = {}
    routes: dict[str, Any] = {}
    from jalsa.inbox import urdu_route

    for name, rm in model.routes.items():
        if isinstance(rm, urdu_route.UrduScriptRoute):  # its own parts (urdu_route.export)
            routes[name] = urdu_route.export(rm, name, arrays, vocab)
            continue
        prepare, union = rm.features.named_steps["prepare"], rm.features.named_steps["features"]
        char, word = union.transformer_list[0][1], union.transformer_list[1][1]
        _vectorizer(f"{name}.char", char, arrays, vocab)
        _vectorizer(f"{name}.word", word, arrays, vocab)
        arrays[f"{name}.nb_ratio"] = np.asarray(rm.abusive.ratio_)
        _linear(f"{name}.abusive", rm.abusive.model_, arrays)
        if rm.categories is not None:
            _linear(f"{name}.categories", rm.categories, arrays)
        routes[name] = {
            "preprocessor": _preprocessor_name(prepare.kw_args["fn"]),
            "char": list(char.analyzer.ngram_range),
            "nb_alpha": rm.abusive.alpha,
            "categories": rm.categories is not None,
            "category_names": {str(k): v for k, v in rm.category_names.items()},
        }
    if model.gate is not None:
        _vectorizer("gate.words", model.gate.named_steps["words"], arrays, vocab)
        _linear("gate.lr", model.gate.named_steps["lr"], arrays)
    directory.mkdir(parents=True, exist_ok=True)
    keys = getattr(model, "training_keys", None)
    if keys is not None:
        arrays[TRAINING_KEYS] = np.asarray(keys, dtype=np.uint64)
    write_npz(directory / ARRAYS, arrays)
    blob = json.dumps(vocab, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    (directory / VOCABULARY).write_bytes(gzip.compress(blob, compresslevel=9, mtime=0))
    manifest = {
        "format": FORMAT,
        "name": NAME,
        "version": model.version,
        "built_by": BUILD_COMMAND,
        "built_with": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "routes": routes,
        "gate": model.gate is not None,
        "files": {f: sha256(directory / f) for f in (ARRAYS, VOCABULARY)},
        **{k: v for k, v in info.items() if k not in ("format", "name", "version", "files")},
    }
    path = directory / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# -- load -------------------------------------------------------------------------------------


def _fixed_vectorizer(vec: Any, terms: list[str], idf: np.ndarray) -> Any:
    vec.set_params(vocabulary=dict(zip(terms, range(len(terms)), strict=True)))
    vec.idf_ = idf  # scikit-learn's supported way to give a vectorizer its IDF weights
    return vec


def _fixed_linear(lr: Any, arrays: Any, prefix: str) -> Any:
    lr.classes_ = arrays[f"{prefix}.classes"]
    lr.coef_ = arrays[f"{prefix}.coef"]
    lr.intercept_ = arrays[f"{prefix}.intercept"]
    lr.n_features_in_ = lr.coef_.shape[1]
    return lr


def _rebuild(manifest: dict[str, Any], arrays: Any, vocab: dict[str, list[str]]) -> Model:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from jalsa.inbox import urdu_route
    from jalsa.inbox.features import PREPROCESSORS, NBLogisticRegression, gate_words, text_features

    routes: dict[str, RouteModel] = {}
    for name, spec in manifest["routes"].items():
        if spec.get("kind") == urdu_route.KIND:
            routes[name] = urdu_route.rebuild(spec, name, arrays, vocab)
            continue
        features = text_features(PREPROCESSORS[spec["preprocessor"]], char_range=spec["char"])
        union = features.named_steps["features"]
        for part, vec in union.transformer_list:
            _fixed_vectorizer(vec, vocab[f"{name}.{part}"], arrays[f"{name}.{part}.idf"])
        abusive = NBLogisticRegression(alpha=spec["nb_alpha"])
        abusive.ratio_ = arrays[f"{name}.nb_ratio"]
        abusive.model_ = _fixed_linear(LogisticRegression(), arrays, f"{name}.abusive")
        abusive.classes_ = abusive.model_.classes_
        categories = (
            _fixed_linear(LogisticRegression(), arrays, f"{name}.categories")
            if spec["categories"]
            else None
        )
        names = {int(k): v for k, v in spec["category_names"].items()}
        routes[name] = RouteModel(features, abusive, categories, names)
    gate = None
    if manifest["gate"]:
        words = _fixed_vectorizer(gate_words(), vocab["gate.words"], arrays["gate.words.idf"])
        gate = Pipeline(
            [("words", words), ("lr", _fixed_linear(LogisticRegression(), arrays, "gate.lr"))]
        )
    model = Model(version=manifest["version"], routes=routes, gate=gate, info=manifest)
    model.training_keys = arrays.get(TRAINING_KEYS)
    return model


def load_portable(directory: Path) -> Model:
    """Load a model `export_model` wrote; a missing, altered or unreadable file is a UserError
    that says what to do."""
    fix = (
        f"Reinstall jalsa, rebuild it with `{BUILD_COMMAND}`, or train your own with "
        "`jalsa inbox train --data DIR`."
    )
    path = directory / MANIFEST
    if not path.is_file():
        raise UserError(f"no shipped moderation model in {directory}. {fix}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"the model manifest {path} is unreadable ({exc}). {fix}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise UserError(
            f"{path} is in model format {found!r}; this jalsa reads format {FORMAT}. {fix}"
        )
    for name, expected in manifest.get("files", {}).items():
        file = directory / name
        if not file.is_file() or sha256(file) != expected:
            raise UserError(f"{file} is missing or does not match its sha256 in {path}. {fix}")
    if set(manifest.get("files", {})) != {ARRAYS, VOCABULARY}:
        raise UserError(f"{path} does not list the hashes of {ARRAYS} and {VOCABULARY}. {fix}")
    try:
        with np.load(directory / ARRAYS, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        vocab = json.loads(gzip.decompress((directory / VOCABULARY).read_bytes()))
        return _rebuild(manifest, arrays, vocab)
    except Exception as exc:
        import sklearn

        built = manifest.get("built_with", {}).get("scikit-learn", "?")
        raise UserError(
            f"the model in {directory} could not be rebuilt ({type(exc).__name__}: {exc}); it "
            f"was built with scikit-learn {built}, this is {sklearn.__version__}. {fix}"
        ) from None


def load_shipped() -> Model:
    """The model that ships with jalsa."""
    return load_portable(SHIPPED_DIR)


def shipped_manifest() -> dict[str, Any] | None:
    """The shipped model's metadata (without loading it), or None when there is none."""
    try:
        data = json.loads((SHIPPED_DIR / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_roundtrip(model: Model, directory: Path, texts: list[str]) -> float:
    """Largest difference between `model` and its exported copy on `texts`; raises when it is
    over TOLERANCE (the export lost something)."""
    loaded = load_portable(directory)
    before = [p.categories for p in model.predict(texts)]
    after = [p.categories for p in loaded.predict(texts)]
    worst = 0.0
    for a, b in zip(before, after, strict=True):
        if set(a) != set(b):
            raise RuntimeError(f"exported model gives other categories: {sorted(a)} / {sorted(b)}")
        worst = max([worst, *(abs(a[k] - b[k]) for k in a)])
    if worst > TOLERANCE:
        raise RuntimeError(f"exported model differs from the trained one by {worst:.2e}")
    return worst
