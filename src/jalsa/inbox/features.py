"""Text normalisation and the NB-weighted logistic regression the moderation models use.

Everything a saved model refers to lives here under a stable import path: a joblib model file
stores these functions and classes by name, so renaming one breaks every saved model.
"""

from __future__ import annotations

import html
import re
import weakref
from array import array
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.preprocessing import normalize as normalize_rows
from sklearn.utils.extmath import softmax
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_RETWEET = re.compile(r"\brt\b")
_REPEAT3 = re.compile(r"(.)\1{2,}")
_REPEAT2 = re.compile(r"(.)\1+")
_SPACE = re.compile(r"\s+")
_LATIN_WORD = re.compile(r"[a-z]+")
_INNER_VOWELS = re.compile(r"[aeiouwy]")

# Urdu script to Latin letters, one letter for one sound, without the short vowels Urdu script
# does not write. The `skeleton` below drops vowels from both sides, so "تم" and "tum" meet as
# "tm", and "بکواس" and "bakwas" as "bks".
_URDU_TO_LATIN = str.maketrans(
    {
        "ا": "a", "آ": "a", "أ": "a", "إ": "a", "ب": "b", "پ": "p", "ت": "t", "ٹ": "t",
        "ث": "s", "ج": "j", "چ": "ch", "ح": "h", "خ": "kh", "د": "d", "ڈ": "d", "ذ": "z",
        "ر": "r", "ڑ": "r", "ز": "z", "ژ": "zh", "س": "s", "ش": "sh", "ص": "s", "ض": "z",
        "ط": "t", "ظ": "z", "ع": "a", "غ": "gh", "ف": "f", "ق": "q", "ک": "k", "ك": "k",
        "گ": "g", "ل": "l", "م": "m", "ن": "n", "ں": "n", "و": "o", "ؤ": "o", "ہ": "h",
        "ھ": "h", "ۂ": "h", "ۃ": "h", "ة": "h", "ه": "h", "ء": "", "ی": "i", "ي": "i",
        "ى": "i", "ئ": "i", "ے": "e", "ۓ": "e", "،": ",", "؟": "?", "۔": ".",
        "\u064b": "", "\u064c": "", "\u064d": "", "\u064e": "", "\u064f": "", "\u0650": "",
        "\u0651": "", "\u0652": "", "\u0670": "",
        "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4", "۵": "5", "۶": "6", "۷": "7",
        "۸": "8", "۹": "9",
    }
)  # fmt: skip


def normalize(text: str) -> str:
    """Lower case, HTML entities decoded, URLs and @handles made generic, long runs shortened.

    Tweets carry HTML entities and handles that say nothing about abuse; "sooooo" and "soo"
    should share their n-grams.
    """
    text = html.unescape(html.unescape(text)).lower()
    text = _URL.sub(" url ", text)
    text = _MENTION.sub(" @user ", text)
    text = _RETWEET.sub(" ", text)
    text = _REPEAT3.sub(r"\1\1", text)
    return _SPACE.sub(" ", text).strip()


def squeeze(text: str) -> str:
    """`normalize`, then every doubled letter made single.

    Roman Urdu has no fixed spelling: "harrami"/"harami", "achha"/"acha" are the same word.
    """
    return _REPEAT2.sub(r"\1", normalize(text))


def transliterate(text: str) -> str:
    """Urdu-script letters to Latin letters (other characters unchanged)."""
    return text.translate(_URDU_TO_LATIN)


def skeleton(text: str) -> str:
    """Consonant skeleton of each word, the same for Urdu script and its Roman spellings.

    Urdu script leaves short vowels out, and Roman Urdu spells vowels in many ways
    ("bhenchod", "bhnchod", "bahenchod"), so both are compared without vowels (and without
    w/y, which stand for vowels in both).
    """
    text = squeeze(transliterate(text))
    return " ".join(
        stripped for word in _LATIN_WORD.findall(text) if (stripped := _INNER_VOWELS.sub("", word))
    )


# Preprocessors by the name the training parameters and the shipped model's manifest use.
PREPROCESSORS = {"squeeze": squeeze, "normalize": normalize, "skeleton": skeleton}


def word_ngrams(word: str, low: int, high: int) -> list[str]:
    """Character n-grams of one word padded with spaces, exactly as scikit-learn's "char_wb"."""
    padded = f" {word} "
    size = len(padded)
    grams: list[str] = []
    for n in range(low, high + 1):
        if n >= size:  # the whole padded word, once, for this and every longer n
            grams.append(padded)
            break
        grams += [padded[i : i + n] for i in range(size - n + 1)]
    return grams


class CharWordBoundary:
    """The "char_wb" analyzer with the n-grams of each distinct word cached.

    Chat words repeat (a few thousand make most of a live chat), and building their n-grams
    again for every comment was half of the classifier's time. The cache is bounded and is not
    saved with the model.
    """

    MAX_CACHED = 200_000
    MAX_WORD = 40  # longer "words" (a URL, a wall of letters) are split each time, not kept

    def __init__(self, preprocessor: Any, ngram_range: tuple[int, int]) -> None:
        self.preprocessor = preprocessor
        self.ngram_range = tuple(ngram_range)
        self._cache: dict[str, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        low, high = self.ngram_range
        cache = self._cache
        grams: list[str] = []
        for word in self.preprocessor(text).split():
            found = cache.get(word)
            if found is None:
                found = word_ngrams(word, low, high)
                if len(cache) < self.MAX_CACHED and len(word) <= self.MAX_WORD:
                    cache[word] = found
            grams.extend(found)
        return grams

    def __getstate__(self) -> dict[str, Any]:
        return {"preprocessor": self.preprocessor, "ngram_range": self.ngram_range}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.preprocessor = state["preprocessor"]
        self.ngram_range = tuple(state["ngram_range"])
        self._cache = {}


def apply_each(texts: Any, fn: Any) -> list[str]:
    """`fn` on every text (the first step of `text_features`)."""
    return [fn(text) for text in texts]


def text_features(preprocessor: Any, *, char_range: tuple[int, int] = (1, 6)) -> Pipeline:
    """Character n-grams within words plus word 1-2-grams, sublinear TF-IDF.

    Character n-grams carry the spelling variants and inflections, word pairs carry phrases
    ("teri maa") whose words alone are harmless. The text is preprocessed once for both.
    """
    union = FeatureUnion(
        [
            (
                "char",
                TfidfVectorizer(
                    analyzer=CharWordBoundary(str.strip, char_range),
                    sublinear_tf=True,
                    min_df=2,
                    dtype=np.float32,
                ),
            ),
            (
                "word",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    lowercase=False,
                    token_pattern=r"(?u)\b\w+\b",
                    dtype=np.float32,
                ),
            ),
        ]
    )
    prepare = FunctionTransformer(apply_each, kw_args={"fn": preprocessor})
    return Pipeline([("prepare", prepare), ("features", union)])


def _tfidf(vectorizer: TfidfVectorizer, documents: list[str]) -> Any:
    """`vectorizer.transform(documents)`, the same numbers, without the input validation
    scikit-learn repeats on every call (a quarter of the classifier's time on the inbox's
    batches of 64): counts, sublinear tf, idf, l2 rows, exactly as `TfidfTransformer` does."""
    X = _counts(vectorizer, documents)
    if vectorizer.sublinear_tf:
        np.log(X.data, X.data)
        X.data += 1.0
    X.data *= vectorizer.idf_[X.indices]
    if vectorizer.norm == "l2":
        inplace_csr_row_normalize_l2(X)  # what `normalize` runs, after its validation
        return X
    return normalize_rows(X, norm=vectorizer.norm, copy=False) if vectorizer.norm else X


# Per "char_wb" vectorizer, each word's n-grams as vocabulary columns (n-grams outside the
# vocabulary dropped): a word's columns are looked up once, not once per comment. Bounded like
# `CharWordBoundary`'s cache, and forgotten with the vectorizer.
_WORD_COLUMNS: weakref.WeakKeyDictionary[Any, dict[str, array[int]]] = weakref.WeakKeyDictionary()
MAX_CACHED_COLUMNS = 100_000  # words per vectorizer
_KNOWN = (-1).__ne__  # a column, not the "not in the vocabulary" mark


def _counts(vectorizer: CountVectorizer, documents: list[str]) -> sp.csr_matrix:
    """`CountVectorizer.transform(documents)`: the same matrix, counted in C (one column array
    for the batch, duplicates summed by scipy) instead of a dictionary per document."""
    vocabulary = vectorizer.vocabulary_
    analyzer = vectorizer.analyzer
    if isinstance(analyzer, CharWordBoundary):
        cache = _WORD_COLUMNS.setdefault(vectorizer, {})
        low, high = analyzer.ngram_range

        def columns_of(word: str) -> array[int]:
            grams = word_ngrams(word, low, high)
            found = array("q", filter(_KNOWN, map(vocabulary.get, grams, repeat(-1))))
            if len(cache) < MAX_CACHED_COLUMNS and len(word) <= analyzer.MAX_WORD:
                cache[word] = found
            return found

        parts: list[array[int]] = []
        lengths: list[int] = []
        for document in documents:
            words = analyzer.preprocessor(document).split()
            found: list[Any] = list(map(cache.get, words))
            if None in found:
                found = [
                    f if f is not None else columns_of(w) for f, w in zip(found, words, strict=True)
                ]
            parts += found
            lengths.append(sum(map(len, found)))
        columns: Any = b"".join(parts)
    else:
        analyze, get = vectorizer.build_analyzer(), vocabulary.get
        columns = array("q")
        lengths = []
        for document in documents:
            start = len(columns)
            columns.extend(map(get, analyze(document), repeat(-1)))
            lengths.append(len(columns) - start)
    width = len(vocabulary)
    cols = np.frombuffer(columns, dtype=np.int64) if columns else np.zeros(0, np.int64)
    cells = np.repeat(np.arange(len(documents), dtype=np.int64) * width, lengths) + cols
    # sorted distinct (row, column) cells and how often each occurs: the counts, in CSR order
    cells, counts = np.unique(cells[cols >= 0], return_counts=True)
    rows = cells // width
    indptr = np.zeros(len(documents) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(documents)), out=indptr[1:])
    return sp.csr_matrix(
        (counts.astype(vectorizer.dtype), cells - rows * width, indptr),
        shape=(len(documents), width),
    )


def transform(features: Any, texts: Sequence[str]) -> Any:
    """`features.transform(texts)` for the pipelines this module builds (`text_features`, a
    single TF-IDF vectorizer), by the lean path of `_tfidf`; anything else by its own
    `transform`. The result is the same matrix (tests compare them)."""
    if isinstance(features, TfidfVectorizer) and _lean(features):
        return _tfidf(features, list(texts))
    steps = getattr(features, "named_steps", {})
    prepare, union = steps.get("prepare"), steps.get("features")
    if (
        isinstance(prepare, FunctionTransformer)
        and isinstance(union, FeatureUnion)
        and all(isinstance(v, TfidfVectorizer) and _lean(v) for _, v in union.transformer_list)
    ):
        prepared = apply_each(texts, **(prepare.kw_args or {}))
        blocks = [_tfidf(v, prepared) for _, v in union.transformer_list]
        return sp.hstack(blocks, format="csr")
    return features.transform(texts)


def _lean(vectorizer: TfidfVectorizer) -> bool:
    return bool(vectorizer.use_idf) and not vectorizer.binary


# Each fitted logistic regression's coefficients as contiguous columns (scipy copied the
# transposed view on every call: a fifth of the category model's time), kept while `coef_` is.
_COLUMNS: weakref.WeakKeyDictionary[Any, tuple[np.ndarray, np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def _columns(classifier: LogisticRegression) -> np.ndarray:
    cached = _COLUMNS.get(classifier)
    if cached is None or cached[0] is not classifier.coef_:
        cached = (classifier.coef_, np.ascontiguousarray(classifier.coef_.T))
        _COLUMNS[classifier] = cached
    return cached[1]


def predict_proba(classifier: Any, X: Any) -> np.ndarray:
    """`classifier.predict_proba(X)`, the same numbers, for the logistic regressions the
    models use, without scikit-learn's per-call validation (a sixth of the classifier's time);
    any other classifier by its own `predict_proba`."""
    if isinstance(classifier, NBLogisticRegression):
        return predict_proba(classifier.model_, classifier._scaled(X))
    if type(classifier) is not LogisticRegression or not sp.issparse(X):
        return np.asarray(classifier.predict_proba(X))
    coef = classifier.coef_
    if X.shape[1] != coef.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features, the model expects {coef.shape[1]}")
    scores = np.asarray(X.tocsr() @ _columns(classifier)) + classifier.intercept_
    if coef.shape[0] == 1:
        positive = expit(scores[:, 0])
        return np.stack([1 - positive, positive], axis=1)
    return np.asarray(softmax(scores, copy=False))


def gate_words() -> TfidfVectorizer:
    """The Latin-script gate's features: word unigrams of the normalised text, sublinear TF-IDF."""
    return TfidfVectorizer(
        preprocessor=normalize,
        sublinear_tf=True,
        token_pattern=r"(?u)\b\w+\b",
        dtype=np.float32,
    )


class NBLogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression on features scaled by their naive-Bayes log-count ratio (NB-LR).

    Wang & Manning's NB-SVM idea: scaling each n-gram by how much more often it occurs in
    abusive than in normal text lets a linear model weigh rare but telling n-grams (a slur's
    spelling variant) better. On RUHSOLD and Davidson it beats plain logistic regression by 1-2
    points of macro-F1 (benchmarks/RESULTS.md). Binary labels only (positive class 1).
    """

    def __init__(self, C: float = 10.0, alpha: float = 1.0, max_iter: int = 3000) -> None:
        self.C = C
        self.alpha = alpha
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> NBLogisticRegression:
        y = np.asarray(y)
        X = sp.csr_matrix(X)
        self.classes_ = np.unique(y)
        positive = np.asarray(X[y == 1].sum(axis=0)).ravel() + self.alpha
        negative = np.asarray(X[y != 1].sum(axis=0)).ravel() + self.alpha
        ratio = np.log((positive / positive.sum()) / (negative / negative.sum()))
        self.ratio_ = ratio.astype(np.float32)
        self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter)
        self.model_.fit(self._scaled(X), y, sample_weight=sample_weight)
        return self

    def _scaled(self, X: Any) -> sp.csr_matrix:
        return sp.csr_matrix(sp.csr_matrix(X).multiply(self.ratio_))

    def predict_proba(self, X: Any) -> np.ndarray:
        return predict_proba(self.model_, self._scaled(X))

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])
