"""Contamination checks: is an evaluation text also in a training set?

A text's key is a 64-bit hash of its normalised form, so trivial copies (a retweet marker, a
handle or link, other punctuation, spacing, case, letters repeated for emphasis, Unicode
compatibility forms, Urdu diacritics) match. Training splits are made disjoint from the held-out
splits by dropping the matching items from the training side (`training.load_training_data`);
`jalsa inbox evaluate` reports how many of a file's texts a model was trained on when the model
carries its training keys.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from jalsa.errors import UserError

_LINKS = re.compile(r"https?://\S+|www\.\S+|@\w+|&#?\w+;?")
_RETWEET = re.compile(r"(?<!\w)rt(?!\w)")
_NOT_LETTERS = re.compile(r"[\W_]+")  # punctuation, symbols, emoji, spaces, combining marks
_REPEATS = re.compile(r"(.)\1+")


class Contaminated(UserError):
    """An evaluation text is also in a training set."""


def normalise(text: str) -> str:
    """The text as its key sees it: NFKC, casefolded, without links, handles, HTML entities,
    retweet markers, punctuation, symbols, diacritics and spaces, runs of a letter squeezed."""
    text = unicodedata.normalize("NFKC", html.unescape(text)).casefold()
    text = _RETWEET.sub(" ", _LINKS.sub(" ", text))
    text = _NOT_LETTERS.sub("", text)
    return _REPEATS.sub(r"\1", text)


def text_key(text: str) -> int:
    """A 64-bit key (0 <= key < 2**64) of the normalised text. A text that normalises to
    nothing (emoji only, a bare link) is keyed by its whole stripped text instead, so that
    different emoji-only comments do not all match each other."""
    norm = normalise(text)
    material = "n:" + norm if norm else "r:" + unicodedata.normalize("NFKC", text).strip()
    digest = hashlib.blake2b(material.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _keys_of(texts: Iterable[str]) -> np.ndarray:
    return np.fromiter((text_key(t) for t in texts), dtype=np.uint64)


def keys(texts: Iterable[str]) -> np.ndarray:
    """The sorted unique keys of `texts` (numpy uint64): what a model stores of its training
    data to let an evaluation say which texts it has seen."""
    return np.unique(_keys_of(texts))


def as_keys(values: object) -> np.ndarray:
    """Keys given as an array or a list of ints, as a sorted unique uint64 array."""
    return np.unique(np.asarray(values, dtype=np.uint64).ravel())


def overlap(train_keys: object, texts: Sequence[str]) -> list[int]:
    """Indices of the `texts` whose key is among `train_keys`."""
    found = np.isin(_keys_of(texts), as_keys(train_keys))
    return [int(i) for i in np.flatnonzero(found)]


def assert_disjoint(
    train: Mapping[str, Sequence[str]], evaluation: Mapping[str, Sequence[str]]
) -> None:
    """Raise `Contaminated` naming every (training set, evaluation set) pair that shares a
    normalised text, with how many of the evaluation set's texts are in the training set."""
    problems = []
    train_keys = {name: keys(texts) for name, texts in train.items()}
    for eval_name, texts in evaluation.items():
        eval_keys = _keys_of(texts)
        for train_name, known in train_keys.items():
            shared = int(np.isin(eval_keys, known).sum())
            if shared:
                problems.append(
                    f"{shared:,} of the {len(texts):,} texts of {eval_name!r} are in the "
                    f"training set {train_name!r}"
                )
    if problems:
        raise Contaminated("evaluation texts seen in training: " + "; ".join(problems))


def drop_seen(
    texts: Sequence[str], labels: Sequence[int], seen: np.ndarray
) -> tuple[list[str], list[int], int]:
    """The items whose key is not in `seen` (sorted uint64 keys), and how many were dropped."""
    keep = ~np.isin(_keys_of(texts), seen)
    kept_texts = [t for t, k in zip(texts, keep, strict=True) if k]
    kept_labels = [int(y) for y, k in zip(labels, keep, strict=True) if k]
    return kept_texts, kept_labels, int(len(texts) - keep.sum())


def keep_seen(
    texts: Sequence[str], labels: Sequence[int], allowed: np.ndarray
) -> tuple[list[str], list[int], int]:
    """The items whose key IS in `allowed`, and how many were dropped."""
    keep = np.isin(_keys_of(texts), allowed)
    kept_texts = [t for t, k in zip(texts, keep, strict=True) if k]
    kept_labels = [int(y) for y, k in zip(labels, keep, strict=True) if k]
    return kept_texts, kept_labels, int(len(texts) - keep.sum())
