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
