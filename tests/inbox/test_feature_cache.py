"""The n-gram cache of the classifier's analyzer is bounded in entries and in what one entry
may hold: commenters choose the words, so a wall of random letters must not be kept."""

from __future__ import annotations

import secrets

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
