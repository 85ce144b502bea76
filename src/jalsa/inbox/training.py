"""Training, evaluation and retraining of the moderation classifier, reproducibly.

Data: RUHSOLD (Roman Urdu, task 1 for abusive/normal, task 2 for the finer categories) and
Davidson's English tweets, read from the folder given with `--data DIR` (or JALSA_DATASETS) and
never copied into the repository. Held out from training: RUHSOLD's task-1 validation file, a
fixed-seed stratified 20% of Davidson, and the test split of the Urdu-script set the team wrote
(`urdu_set`, shipped with this package). Hyper-parameters
were chosen by 5-fold cross-validation on the training files only (benchmarks/RESULTS.md).

A model file is named after its training day and a hash of its data and parameters, and a JSON
sidecar beside it holds its metrics, so the same data and code give the same file name and the
same metrics.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from jalsa.errors import UserError
from jalsa.inbox import contamination
from jalsa.inbox.classifier import Model, RouteModel
from jalsa.inbox.evaluation import SEED, Baseline, evaluate_predictions
from jalsa.inbox.features import PREPROCESSORS, NBLogisticRegression, gate_words, text_features
from jalsa.inbox.language import route
from jalsa.inbox.model_calibration import (
    calibrate,
    fold_splits,
    group_scores,
    held_out_figures,
    merge,
    out_of_fold,
)
from jalsa.inbox.model_files import CURRENT_FILE, MODEL_SUFFIX, sidecar
from jalsa.inbox.urdu_route import fit_urdu_route
from jalsa.inbox.urdu_set import URDU_SET, load_urdu_set

# What `calibrate_fitted` writes into a model's metadata.
CALIBRATION_KEYS = ("calibration", "operating_points", "calibrated_on")

FORMAT = 1

RUHSOLD_TRAIN = "ruhsold/task_1_train.tsv"
RUHSOLD_VALIDATION = "ruhsold/task_1_validation.tsv"
RUHSOLD_CATEGORIES = "ruhsold/task_2_train.tsv"
DAVIDSON = "davidson/labeled_data_dev.csv"
REQUIRED = (RUHSOLD_TRAIN, RUHSOLD_VALIDATION, RUHSOLD_CATEGORIES, DAVIDSON)
# Optional: RUHSOLD's Roman Urdu abusive-word list, extra abusive examples for the Urdu-script
# route (urdu_route.py) when the data folder has it.
RUHSOLD_WORDS = "ruhsold/Hate_Words_RomanUrdu_Lower.txt"

# Chosen by 5-fold cross-validation on the training files (never on the held-out splits).
PARAMS: dict[str, Any] = {
    "format": FORMAT,
    "seed": SEED,
    "davidson_heldout": 0.2,
    "roman_urdu": {"preprocessor": "squeeze", "char": [1, 6], "C": 30.0},
    "english": {"preprocessor": "normalize", "char": [2, 4], "C": 3.0},
    # Urdu script: chosen on the Urdu-script set's dev split (benchmarks/urdu_route.py).
    "urdu_script": {"views": ["script", "roman"], "lexicon": True, "word_list": True, "C": 30.0},
    "categories_C": 10.0,
    "gate": {"preprocessor": "normalize", "C": 10.0},
}

# RUHSOLD task 2 and Davidson classes as score names (task 2's 0 and 1, abusive and normal, are
# the binary model's business).
RUHSOLD_CATEGORY_NAMES = {2: "hate", 3: "sexism", 4: "profanity"}
DAVIDSON_CATEGORY_NAMES = {0: "hate", 1: "profanity"}

Labelled = tuple[list[str], list[int]]  # texts, labels with 1 = abusive/offensive


# Where the datasets are published (their licences forbid copying them into this repository).
SOURCES = {
    "ruhsold": "github.com/haroonshakeel/roman_urdu_hate_speech (MIT)",
    "davidson": "github.com/t-davidson/hate-speech-and-offensive-language (MIT)",
}


def check_data(path: Path | None) -> Path:
    """The data directory, or a UserError naming what is missing and where it comes from."""
    layout = ", ".join(REQUIRED)
    sources = "; ".join(f"{name}/ from {where}" for name, where in SOURCES.items())
    if path is None:
        raise UserError(
            "no training data given: pass --data DIR (or set JALSA_DATASETS) with a folder "
            f"holding {layout} ({sources})."
        )
    if not path.is_dir():
        raise UserError(f"training data folder {path} does not exist. It must hold {layout}.")
    missing = [name for name in REQUIRED if not (path / name).is_file()]
    if missing:
        raise UserError(
            f"training data missing in {path}: {', '.join(missing)}. The folder passed with "
            f"--data must hold {layout} ({sources})."
        )
    return path


def read_ruhsold(path: Path) -> tuple[list[str], list[int]]:
    """RUHSOLD TSV (no header, label after the LAST tab), labels as in the file."""
    texts: list[str] = []
    labels: list[int] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        text, sep, label = line.rpartition("\t")
        if not sep:
            raise UserError(f"{path}: a line without a tab-separated label: {line[:60]!r}")
        texts.append(text)
        labels.append(int(label))
    return texts, labels


def read_word_list(path: Path) -> list[str]:
    """RUHSOLD's abusive-word list: one word a line, header lines start with "_"."""
    words = (line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines())
    return [word for word in words if word and not word.startswith("_")]


def abusive_labels(task1: Sequence[int]) -> list[int]:
    """Task-1 labels (0 abusive, 1 normal) as 1 = abusive."""
    return [1 - y for y in task1]


def read_davidson(path: Path) -> tuple[list[str], list[int]]:
    """Davidson tweets and their class: 0 hate speech, 1 offensive language, 2 neither."""
    texts: list[str] = []
    classes: list[int] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            texts.append(row["tweet"])
            classes.append(int(row["class"]))
    return texts, classes


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class TrainingData:
    """Training and held-out sets. `frozen_eval` never reaches a model's training."""

    roman_urdu: Labelled
    roman_urdu_categories: tuple[list[str], list[int]]
    english: Labelled
    english_classes: list[int]
    frozen_eval: dict[str, Labelled]
    hashes: dict[str, str] = field(default_factory=dict)
    # Validation sets per calibration group, for routes without training data of their own
    # (Urdu script): calibration and operating points are chosen on them, never trained on.
    validation: dict[str, Labelled] = field(default_factory=dict)
    # Training items dropped because a held-out split has their normalised text (for the
    # categories: task-2 items not in task 1's training split), per training set.
    removed: dict[str, int] = field(default_factory=dict)
    abusive_words: list[str] = field(default_factory=list)  # RUHSOLD_WORDS, when present

    def training_texts(self) -> dict[str, list[str]]:
        """Every training split's texts by name (what `contamination` checks and keys)."""
        return {
            "roman_urdu": self.roman_urdu[0],
            "roman_urdu_categories": self.roman_urdu_categories[0],
            "english": self.english[0],
        }

    def subsample(self, n: int, seed: int = SEED) -> TrainingData:
        """A smaller copy (first-n after a seeded shuffle) for quick tests; eval sets kept."""

        def take(texts: list[str], labels: list[int]) -> tuple[list[str], list[int]]:
            order = np.random.default_rng(seed).permutation(len(texts))[:n]
            return [texts[i] for i in order], [labels[i] for i in order]

        en_texts, en_classes = take(self.english[0], self.english_classes)
        return replace(
            self,
            roman_urdu=take(*self.roman_urdu),
            roman_urdu_categories=take(*self.roman_urdu_categories),
            english=(en_texts, [int(c < 2) for c in en_classes]),
            english_classes=en_classes,
            hashes={**self.hashes, "subsample": str(n)},
        )


def load_training_data(path: Path | None) -> TrainingData:
    """Read both datasets and make the fixed held-out splits, every training split disjoint
    from every held-out split (`contamination`).

    A training item whose normalised text is also in a held-out split is dropped from the
    training side; the counts are in `removed`. The category model's RUHSOLD task-2 file is
    another random split of the same tweets (its items overlap task 1's validation and hidden
    test files), so only its texts that are also in task 1's training file are kept.
    """
    path = check_data(path)
    ru_texts, ru_labels = read_ruhsold(path / RUHSOLD_TRAIN)
    val_texts, val_labels = read_ruhsold(path / RUHSOLD_VALIDATION)
    cat_texts, cat_labels = read_ruhsold(path / RUHSOLD_CATEGORIES)
    tweets, classes = read_davidson(path / DAVIDSON)
    en_train, en_test, cls_train, cls_test = train_test_split(
        tweets, classes, test_size=PARAMS["davidson_heldout"], random_state=SEED, stratify=classes
    )
    urdu_texts, urdu_labels = load_urdu_set("test")
    frozen_eval: dict[str, Labelled] = {
        "ruhsold_validation": (val_texts, abusive_labels(val_labels)),
        "davidson_heldout": (list(en_test), [int(c < 2) for c in cls_test]),
        "urdu_script_test": (urdu_texts, urdu_labels),
    }
    held_out = contamination.keys(t for texts, _ in frozen_eval.values() for t in texts)
    removed: dict[str, int] = {}
    ru_texts, ru_labels, removed["roman_urdu"] = contamination.drop_seen(
        ru_texts, ru_labels, held_out
    )
    en_texts, en_classes, removed["english"] = contamination.drop_seen(
        list(en_train), list(cls_train), held_out
    )
    cat_texts, cat_labels, removed["roman_urdu_categories"] = contamination.keep_seen(
        cat_texts, cat_labels, contamination.keys(ru_texts)
    )
    words = path / RUHSOLD_WORDS
    word_hash = {RUHSOLD_WORDS: file_hash(words)} if words.is_file() else {}
    data = TrainingData(
        roman_urdu=(ru_texts, abusive_labels(ru_labels)),
        roman_urdu_categories=(cat_texts, cat_labels),
        english=(en_texts, [int(c < 2) for c in en_classes]),
        english_classes=en_classes,
        frozen_eval=frozen_eval,
        hashes={name: file_hash(path / name) for name in REQUIRED}
        | {URDU_SET.name: file_hash(URDU_SET)}
        | word_hash,
        removed=removed,
        validation={"urdu_script_dev": load_urdu_set("dev")},
        abusive_words=read_word_list(words) if words.is_file() else [],
    )
    held = {k: v[0] for k, v in (frozen_eval | data.validation).items()}
    contamination.assert_disjoint(data.training_texts(), held)
    return data


# -- training ---------------------------------------------------------------------------------


def _route_model(
    params: dict[str, Any],
    texts: list[str],
    labels: list[int],
    categories: tuple[list[str], list[int]] | None,
    category_names: dict[int, str],
    categories_C: float,
) -> RouteModel:
    features = text_features(
        PREPROCESSORS[params["preprocessor"]], char_range=tuple(params["char"])
    )
    X = features.fit_transform(texts)
    abusive = NBLogisticRegression(C=params["C"]).fit(X, labels)
    category_model = None
    if categories is not None:
        category_model = LogisticRegression(C=categories_C, max_iter=3000)
        category_model.fit(features.transform(categories[0]), categories[1])
    return RouteModel(features, abusive, category_model, dict(category_names))


def fit_model(
    data: TrainingData, extra: Sequence[tuple[str, int]] = (), *, categories: bool = True
) -> Model:
    """Train every route model; `extra` (text, 1 = abusive) are moderators' labels, each added
    to the training set of its language route. Without `categories`, only the Latin routes'
    abusive score (the out-of-fold models calibration is fitted on score Latin text only)."""
    ru_texts, ru_labels = list(data.roman_urdu[0]), list(data.roman_urdu[1])
    en_texts, en_labels = list(data.english[0]), list(data.english[1])
    script_texts: list[str] = []
    script_labels: list[int] = []
    for text, label in extra:
        lang = route(text)
        if lang == "english":
            en_texts.append(text)
            en_labels.append(int(label))
        elif lang == "roman_urdu":
            ru_texts.append(text)
            ru_labels.append(int(label))
        elif lang in ("urdu", "mixed"):
            script_texts.append(text)
            script_labels.append(int(label))
    en_cls = data.english_classes
    categories_C = PARAMS["categories_C"]
    ru_categories = data.roman_urdu_categories if categories else None
    routes = {
        "roman_urdu": _route_model(
            PARAMS["roman_urdu"], ru_texts, ru_labels, ru_categories,
            RUHSOLD_CATEGORY_NAMES, categories_C,
        ),
        "english": _route_model(
            PARAMS["english"], en_texts, en_labels,
            (data.english[0], en_cls) if categories else None,
            DAVIDSON_CATEGORY_NAMES, categories_C,
        ),
    }  # fmt: skip
    if categories:  # the out-of-fold models of calibration score Latin text only
        # Urdu script: RUHSOLD in Urdu script and in Roman, the team's lexicon (no Urdu-script
        # labelled data exists), plus any Urdu-script labels moderators gave.
        routes["urdu_script"] = fit_urdu_route(
            ru_texts, ru_labels, script_texts, script_labels,
            views=PARAMS["urdu_script"]["views"], lexicon=PARAMS["urdu_script"]["lexicon"],
            extra_phrases=data.abusive_words if PARAMS["urdu_script"]["word_list"] else (),
            C=PARAMS["urdu_script"]["C"],
        )  # fmt: skip
    model = Model(version="unsaved", routes=routes, gate=fit_gate(ru_texts, en_texts))
    if categories:  # a model that is kept (not an out-of-fold one) says what it saw
        trained_on = [*data.training_texts().values(), [t for t, _ in extra], data.abusive_words]
        model.training_keys = contamination.keys(t for texts in trained_on for t in texts)
    return model


def fit_gate(roman_urdu: list[str], english: list[str]) -> Pipeline:
    """The Latin-script gate: P(text is like RUHSOLD) against P(like Davidson).

    Word unigrams alone tell the two corpora apart as well as character n-grams do (99.4% by
    cross-validation) at three times the speed.
    """
    params = PARAMS["gate"]
    lr = LogisticRegression(C=params["C"], max_iter=3000)
    gate = Pipeline([("words", gate_words()), ("lr", lr)])
    return gate.fit(roman_urdu + english, [1] * len(roman_urdu) + [0] * len(english))


def library_versions() -> dict[str, str]:
    """The versions a pickled model depends on (its sidecar records them; the loader checks)."""
    import sklearn

    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__}


def fingerprint(data: TrainingData, extra: Sequence[tuple[str, int]] = ()) -> str:
    """Hash of the data files, the moderators' labels, the parameters and library versions."""
    import sklearn

    blob = json.dumps(
        {
            "data": data.hashes,
            "extra": hashlib.sha256(
                json.dumps([[t, int(y)] for t, y in extra], ensure_ascii=False).encode()
            ).hexdigest(),
            "params": PARAMS,
            "sklearn": sklearn.__version__,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


# -- evaluation -------------------------------------------------------------------------------


def evaluate_model(model: Model, frozen_eval: dict[str, Labelled]) -> dict[str, Any]:
    """Every held-out set through `Model.predict`, so routing errors count too. An item without
    a score (emoji only) counts as predicted normal."""
    results: dict[str, Any] = {}
    for name, (texts, labels) in frozen_eval.items():
        predictions = model.predict(texts)
        y_pred = [int(p.flagged) for p in predictions]
        results[name] = evaluate_predictions([p.language for p in predictions], labels, y_pred)
    return results


def category_cv(data: TrainingData, folds: int = 5) -> dict[str, Any]:
    """Cross-validated macro-F1 of the category models on their training files (RUHSOLD task 2
    and Davidson's three classes), the only honest figure for them: RUHSOLD task 2 has no
    validation file of its own, and task 1's validation file overlaps its training split."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    out: dict[str, Any] = {}
    sets = {
        "ruhsold_task2": (PARAMS["roman_urdu"], data.roman_urdu_categories),
        "davidson_3class": (PARAMS["english"], (data.english[0], data.english_classes)),
    }
    for name, (params, (texts, labels)) in sets.items():
        pipe = Pipeline(
            [
                ("features", text_features(PREPROCESSORS[params["preprocessor"]],
                                           char_range=tuple(params["char"]))),
                ("lr", LogisticRegression(C=PARAMS["categories_C"], max_iter=3000)),
            ]
        )  # fmt: skip
        cv = StratifiedKFold(folds, shuffle=True, random_state=SEED)
        pred = cross_val_predict(pipe, texts, labels, cv=cv)
        classes = sorted(set(labels))
        p, r, f, n = precision_recall_fscore_support(labels, pred, labels=classes, zero_division=0)
        out[name] = {
            "macro_f1": round(float(f1_score(labels, pred, average="macro")), 4),
            "per_class": {str(c): {"precision": round(float(p[i]), 4),
                                   "recall": round(float(r[i]), 4),
                                   "f1": round(float(f[i]), 4), "support": int(n[i])}
                          for i, c in enumerate(classes)},
        }  # fmt: skip
    return out


# -- files ------------------------------------------------------------------------------------


def save_model(model: Model, directory: Path, *, adopt: bool = True) -> Path:
    """Write `model-<day>-<hash>.joblib` and its JSON sidecar; `adopt` makes it CURRENT."""
    import joblib

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{model.version}{MODEL_SUFFIX}"
    tmp = path.with_suffix(".tmp")
    joblib.dump(model, tmp, compress=3)
    tmp.replace(path)
    sidecar(path).write_text(json.dumps(model.info, indent=2, ensure_ascii=False) + "\n")
    if adopt:
        adopt_model(path)
    return path


def adopt_model(path: Path) -> None:
    (path.parent / CURRENT_FILE).write_text(path.name + "\n", encoding="utf-8")


def train(
    data_path: Path | None,
    out_dir: Path,
    *,
    baseline: bool = True,
    today: dt.date | None = None,
) -> tuple[Path, Model]:
    """`jalsa inbox train`: fit, evaluate on the held-out sets, save and adopt."""
    data = load_training_data(data_path)
    model = fit_model(data)
    day = (today or dt.datetime.now(dt.UTC).date()).strftime("%Y%m%d")
    model.version = f"model-{day}-{fingerprint(data)}"
    model.info = {
        "version": model.version,
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "params": PARAMS,
        "trained_with": library_versions(),
        "data_hashes": data.hashes,
    }
    calibrate_fitted(model, data)
    model.info["metrics"] = evaluate_model(model, data.frozen_eval)
    model.info["operating_figures"] = held_out_figures(model, data.frozen_eval)
    if baseline:
        model.info["baseline"] = Baseline().fit(data).evaluate(data.frozen_eval)
    return save_model(model, out_dir), model


def calibrate_fitted(
    model: Model, data: TrainingData, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Calibrate a model trained on `data` and choose its operating points: the Latin routes on
    out-of-fold scores of the training data, other routes on `data.validation`."""
    fit = partial(fit_model, categories=False)
    validation = out_of_fold(fold_splits(data, seed=SEED), fit, progress)
    for name, (texts, labels) in data.validation.items():
        validation = merge(validation, group_scores(model, texts, labels, name))
    return calibrate(model, validation)


# -- retraining with moderators' labels -------------------------------------------------------


@dataclass
class Candidate:
    """A model retrained with moderators' labels and whether it replaced the current one."""

    model: Model
    metrics: dict[str, Any]
    current_metrics: dict[str, Any]
    adopted: bool
    reasons: list[str]
    path: Path | None = None


def retrain(
    base_data: TrainingData,
    extra_labels: Sequence[tuple[str, int]],
    frozen_eval: dict[str, Labelled] | None,
    current: Model,
    *,
    out_dir: Path | None = None,
    tolerance: float = 0.0,
) -> Candidate:
    """Train on the base data plus moderators' labels; adopt only if not worse on any frozen set.

    "Not worse" is per set: the candidate's macro-F1 on every frozen evaluation set must be at
    least the current model's (minus `tolerance`). The frozen sets are never trained on, so a
    batch of careless or hostile labels cannot talk its way into production. Labels are
    (text, 1 = abusive / 0 = normal).
    """
    frozen = frozen_eval if frozen_eval is not None else base_data.frozen_eval
    clean = [(t, int(bool(y))) for t, y in extra_labels if isinstance(t, str) and t.strip()]
    frozen_texts = {t for texts, _ in frozen.values() for t in texts}
    clean = [(t, y) for t, y in clean if t not in frozen_texts]  # never train on a frozen item
    model = fit_model(base_data, clean)
    fp = fingerprint(base_data, clean)
    model.version = f"model-{dt.datetime.now(dt.UTC):%Y%m%d}-{fp}"
    model.info = {}
    calibrate_fitted(model, base_data)
    metrics = evaluate_model(model, frozen)
    current_metrics = evaluate_model(current, frozen)
    reasons = []
    adopted = True
    for name in frozen:
        new, old = metrics[name]["macro_f1"], current_metrics[name]["macro_f1"]
        ok = new >= old - tolerance
        adopted &= ok
        reasons.append(f"{name}: {new:.4f} vs current {old:.4f} ({'ok' if ok else 'worse'})")
    model.info = {
        "version": model.version,
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "params": PARAMS,
        "trained_with": library_versions(),
        "data_hashes": base_data.hashes,
        "moderator_labels": len(clean),
        **{k: v for k, v in model.info.items() if k in CALIBRATION_KEYS},
        "metrics": metrics,
        "adoption": {"adopted": adopted, "against": current.version, "reasons": reasons},
    }
    path = save_model(model, out_dir, adopt=adopted) if out_dir is not None else None
    return Candidate(model, metrics, current_metrics, adopted, reasons, path)
