"""The n-gram cache of the classifier's analyzer is bounded in entries and in what one entry
may hold: commenters choose the words, so a wall of random letters must not be kept."""

from __future__ import annotations

import secrets

import pytest

from jalsa.inbox.features import CharWordBoundary, normalize, word_ngrams


def test_long_words_are_split_each_time_and_never_kept() -> None:
    analyzer = CharWordBoundary(normalize, (2, 4))
    walls = [secrets.token_hex(2500) for _ in range(50)]  # 5,000 characters each
    for wall in walls:
        assert analyzer(wall) == word_ngrams(normalize(wall), 2, 4)
    assert analyzer("jalsa zindabad") == word_ngrams("jalsa", 2, 4) + word_ngrams("zindabad", 2, 4)
    assert set(analyzer._cache) == {"jalsa", "zindabad"}
    assert all(len(word) <= CharWordBoundary.MAX_WORD for word in analyzer._cache)


def test_the_cache_stops_growing_at_its_cap() -> None:
    analyzer = CharWordBoundary(normalize, (2, 3))
    analyzer.MAX_CACHED = 100
    analyzer(" ".join(f"w{i}" for i in range(1000)))
    assert len(analyzer._cache) == 100


def test_the_lean_transform_gives_the_same_matrix_as_scikit_learn() -> None:
    """`features.transform` skips scikit-learn's per-call validation; the numbers must not
    change, for the classifier's pipelines and for a vectorizer alone."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from jalsa.inbox.features import gate_words, squeeze, text_features, transform

    train = [
        "tum bohat ache ho yaar",
        "ye banda chor hai chor",
        "what a great rally tonight",
        "you are a liar and a thief",
        "جلسہ بہت اچھا تھا",
        "chor chor chor 😡😡",
    ] * 3
    texts = [*train[:6], "", "😂", "x" * 3000, "new words never seen", "Tum ACHE ho!!!"]
    pipeline = text_features(squeeze, char_range=(1, 4)).fit(train)
    words = gate_words().fit(train)
    binary = TfidfVectorizer(binary=True).fit(train)  # not the lean path: its own transform
    for fitted in (pipeline, words, binary):
        lean, reference = transform(fitted, texts), fitted.transform(texts)
        assert lean.shape == reference.shape and lean.dtype == reference.dtype
        assert (lean != reference).nnz == 0


def test_the_lean_transform_of_nothing_and_of_unknown_words() -> None:
    from jalsa.inbox.features import squeeze, text_features, transform

    pipeline = text_features(squeeze, char_range=(2, 3)).fit(["tum ache ho", "chor hai"] * 2)
    width = pipeline.transform(["tum"]).shape[1]
    assert transform(pipeline, []).shape == (0, width)  # scikit-learn refuses an empty batch
    for texts in (["qqq zzz"], ["", "qqq", "tum"]):
        lean, reference = transform(pipeline, texts), pipeline.transform(texts)
        assert lean.shape == reference.shape and (lean != reference).nnz == 0


def test_the_word_column_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from jalsa.inbox import features

    vectorizer = features.text_features(normalize).fit(["tum ache ho", "chor hai"] * 2)
    char = vectorizer.named_steps["features"].transformer_list[0][1]
    monkeypatch.setattr(features, "MAX_CACHED_COLUMNS", 50)
    features.transform(vectorizer, [" ".join(f"w{i}" for i in range(500)), "x" * 3000])
    assert len(features._WORD_COLUMNS[char]) == 50


def test_lean_probabilities_are_scikit_learns() -> None:
    """Binary and multinomial logistic regression and NB-LR: the same numbers as
    `predict_proba`, and a matrix of the wrong width is refused."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    from jalsa.inbox.features import NBLogisticRegression, predict_proba

    rng = np.random.default_rng(3)
    X = sp.random(200, 40, density=0.2, format="csr", dtype=np.float32, random_state=3)
    binary, three = rng.integers(0, 2, 200), rng.integers(0, 3, 200)
    for model, y in (
        (LogisticRegression(), binary),
        (LogisticRegression(), three),
        (NBLogisticRegression(), binary),
    ):
        model.fit(X, y)
        assert np.array_equal(predict_proba(model, X), model.predict_proba(X))
        with pytest.raises(ValueError):
            predict_proba(model, X[:, :30])


def test_word_ngrams_are_scikit_learns_char_wb() -> None:
    """Words shorter than, as long as and longer than n, in two scripts."""
    import random

    from sklearn.feature_extraction.text import CountVectorizer

    rng = random.Random(1)
    for _ in range(2000):
        word = "".join(rng.choice("abکc") for _ in range(rng.randint(1, 12)))
        low = rng.randint(1, 4)
        high = rng.randint(low, 7)
        analyzer = CountVectorizer(
            analyzer="char_wb", ngram_range=(low, high), lowercase=False
        ).build_analyzer()
        assert word_ngrams(word, low, high) == analyzer(word), (word, low, high)
