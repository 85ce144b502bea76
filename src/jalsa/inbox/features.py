"""Text normalisation and the NB-weighted logistic regression the moderation models use.

Everything a saved model refers to lives here under a stable import path: a joblib model file
stores these functions and classes by name, so renaming one breaks every saved model.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.preprocessing import normalize as normalize_rows

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
    grams: list[str] = []
    for n in range(low, high + 1):
        offset = 0
        grams.append(padded[:n])
        while offset + n < len(padded):
            offset += 1
            grams.append(padded[offset : offset + n])
        if offset == 0:  # a word shorter than n counts once
            break
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
    X = CountVectorizer.transform(vectorizer, documents)
    if vectorizer.sublinear_tf:
        np.log(X.data, X.data)
        X.data += 1.0
    X.data *= vectorizer.idf_[X.indices]
    return normalize_rows(X, norm=vectorizer.norm, copy=False) if vectorizer.norm else X


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
        return np.asarray(self.model_.predict_proba(self._scaled(X)))

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])
