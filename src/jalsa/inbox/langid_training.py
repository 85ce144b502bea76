"""Training the language identifier (`langid.py`) from the labelled sets, reproducibly.

    python -m jalsa.inbox.langid_training --data DIR --out src/jalsa/inbox/langid_model

Training data, training splits only:
- english: Davidson's tweets on the training side of the classifier's split (the stratified 80%
  with `training.SEED`), plus RUHSOLD task-1 training items annotated english;
- roman_urdu: RUHSOLD task_1_train, less the items annotated english or other. The annotation
  (`data/ruhsold_train_language.tsv`, text keys only) lists the English items: weak labels
  (Roman Urdu and English function words, and a first n-gram model cross-fitted on five folds),
  where the two disagreed read by hand (docs/decisions.md);
- other: the training lines of `data/langid_other.txt`, written for jalsa (no data set of other
  languages is available offline), weighted up so that a few hundred lines count.

Urdu script needs no learnt model (its letters decide, `langid.script_label`). The model is a
multinomial logistic regression on L1-normalised char_wb 1-4-gram counts; its vocabulary is
pruned to the n-grams whose weights differ most between the labels, and it is refitted on them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jalsa.errors import UserError
from jalsa.inbox.langid import LATIN_LABELS, NGRAMS, LanguageIdentifier, text_key, text_ngrams

DATA = Path(__file__).with_name("data")
OTHER_FILE = DATA / "langid_other.txt"
URDU_SCRIPT_FILE = DATA / "langid_urdu_script.txt"
RUHSOLD_TRAIN_LANGUAGE = DATA / "ruhsold_train_language.tsv"
PARAMS: dict[str, Any] = {
    "ngrams": list(NGRAMS),
    "min_df": 2,
    "features": 40_000,
    "C": 100.0,
    "other_weight": 20.0,
}


def read_lines(path: Path) -> list[str]:
    """Data lines of a project text file (comment lines start with #)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def other_split(path: Path = OTHER_FILE) -> tuple[list[str], list[str]]:
    """(training texts, held-out texts) of the other-language file: data line i is held out
    when i % 4 == 3."""
    train: list[str] = []
    test: list[str] = []
    for i, line in enumerate(read_lines(path)):
        text = line.partition("\t")[2] or line
        (test if i % 4 == 3 else train).append(text)
    return train, test


def read_language_labels(path: Path) -> dict[str, str]:
    """key -> language from an annotation file (`benchmarks/langid_labels.py` writes them)."""
    labels: dict[str, str] = {}
    for line in read_lines(path):
        key, _, label = line.partition("\t")
        labels[key] = label.strip()
    return labels


def training_set(data_dir: Path | None) -> tuple[list[str], list[str]]:
    """Texts and labels (LATIN_LABELS) for the Latin model, from training splits only."""
    from jalsa.inbox.training import RUHSOLD_TRAIN, load_training_data, read_ruhsold

    data = load_training_data(data_dir)
    assert data_dir is not None  # load_training_data refuses None
    ruhsold = read_ruhsold(data_dir / RUHSOLD_TRAIN)[0]
    annotated = read_language_labels(RUHSOLD_TRAIN_LANGUAGE)
    texts = list(data.english[0])
    labels = ["english"] * len(texts)
    for text in ruhsold:
        texts.append(text)
        labels.append(annotated.get(text_key(text), "roman_urdu"))
    other = other_split()[0]
    return texts + other, labels + ["other"] * len(other)


def _matrix(texts: Sequence[str], vocabulary: dict[str, int] | None, min_df: int) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.preprocessing import normalize

    vec = CountVectorizer(
        analyzer=text_ngrams, vocabulary=vocabulary, min_df=1 if vocabulary else min_df
    )
    X = vec.fit_transform(texts).astype(np.float64)
    return normalize(X, norm="l1"), vec


def fit_identifier(
    texts: Sequence[str], labels: Sequence[str], params: dict[str, Any] | None = None
) -> LanguageIdentifier:
    """Fit the Latin n-gram model; deterministic for the same data and parameters."""
    from sklearn.linear_model import LogisticRegression

    p = {**PARAMS, **(params or {})}
    y = np.array([LATIN_LABELS.index(label) for label in labels])
    weight = np.where(y == LATIN_LABELS.index("other"), float(p["other_weight"]), 1.0)

    def fit(X: Any) -> Any:
        lr = LogisticRegression(C=float(p["C"]), max_iter=2000)
        return lr.fit(X, y, sample_weight=weight)

    X, vec = _matrix(texts, None, int(p["min_df"]))
    terms = vec.get_feature_names_out()
    if len(terms) > int(p["features"]):
        lr = fit(X)
        spread = lr.coef_.max(axis=0) - lr.coef_.min(axis=0)
        # Stable order: by spread, ties by the n-gram itself.
        order = sorted(range(len(terms)), key=lambda i: (-spread[i], terms[i]))
        keep = sorted(terms[i] for i in order[: int(p["features"])])
        X, vec = _matrix(texts, {t: i for i, t in enumerate(keep)}, 1)
        terms = np.array(keep)
    lr = fit(X)
    if list(lr.classes_) != list(range(len(LATIN_LABELS))):
        raise UserError("the language identifier needs training texts of every Latin label")
    info = {"params": p, "trained_on": {lab: labels.count(lab) for lab in LATIN_LABELS}}
    return LanguageIdentifier(
        [str(t) for t in terms],
        lr.coef_.T.astype(np.float32),
        lr.intercept_.astype(np.float32),
        ngrams=(int(p["ngrams"][0]), int(p["ngrams"][1])),
        info=info,
    )


def build_langid(
    data_dir: Path | None, out_dir: Path | None = None, params: dict[str, Any] | None = None
) -> LanguageIdentifier:
    """Train the identifier on the datasets folder; with `out_dir`, export it there."""
    texts, labels = training_set(data_dir)
    identifier = fit_identifier(texts, labels, params)
    if out_dir is not None:
        identifier.export(out_dir)
    return identifier


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train and export the language identifier.")
    parser.add_argument("--data", type=Path, required=True, help="the datasets folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for langid.npz/.json")
    args = parser.parse_args(argv)
    try:
        identifier = build_langid(args.data, args.out)
    except (UserError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({len(identifier.vocabulary)} n-grams)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
