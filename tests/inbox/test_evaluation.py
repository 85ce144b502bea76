"""Evaluation statistics: McNemar's exact test, the paired bootstrap, the comparison of a
model with the baselines, and the baselines themselves (on the hand-written sample)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from jalsa.inbox.evaluation import (
    TUNED_C,
    Baseline,
    TunedBaseline,
    _macro_f1,
    bootstrap,
    bootstrap_f1,
    compare,
    mcnemar,
    scores,
)
from jalsa.inbox.training import load_training_data
from moderation_sample import Sample


def _noisy(truth: np.ndarray, accuracy: float, seed: int) -> np.ndarray:
    flip = np.random.default_rng(seed).random(len(truth)) > accuracy
    return np.where(flip, 1 - truth, truth)


TRUTH = np.random.default_rng(7).integers(0, 2, 600)
OURS = _noisy(TRUTH, 0.9, 1)
BASE = _noisy(TRUTH, 0.8, 2)


def test_mcnemar_by_hand() -> None:
    # 8 items: ours right on the first only, the other right on the seven others.
    truth = [1] * 8 + [0, 1]
    ours = [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    other = [0, 1, 1, 1, 1, 1, 1, 1, 0, 1]
    result = mcnemar(truth, ours, other)
    assert (result["b"], result["c"], result["discordant"]) == (1, 7, 8)
    # P(X <= 1) for X ~ Binomial(8, 1/2) is 9/256; two-sided doubles it.
    assert result["p"] == pytest.approx(18 / 256, abs=1e-6)
    assert mcnemar(truth, ours, ours) == {"b": 0, "c": 0, "discordant": 0, "p": 1.0}


def test_mcnemar_agrees_with_scipy() -> None:
    result = mcnemar(TRUTH, OURS, BASE)
    b = int(((OURS == TRUTH) & (BASE != TRUTH)).sum())
    c = int(((OURS != TRUTH) & (BASE == TRUTH)).sum())
    assert (result["b"], result["c"]) == (b, c) and b > c
    assert result["p"] == pytest.approx(binomtest(b, b + c, 0.5).pvalue, rel=1e-4)
    assert result["p"] < 0.05


def test_bootstrap_is_deterministic_and_covers_the_point_estimate() -> None:
    first = bootstrap(TRUTH, OURS, BASE)
    assert first == bootstrap(TRUTH, OURS, BASE)
    ours, base = scores(TRUTH, OURS)["macro_f1"], scores(TRUTH, BASE)["macro_f1"]
    assert first["ours"][0] < ours < first["ours"][1]
    assert first["baseline"][0] < base < first["baseline"][1]
    assert first["difference"][0] < ours - base < first["difference"][1]
    assert first["difference"][0] > 0  # 0.9 against 0.8 accuracy on 600 items
    perfect = bootstrap(TRUTH, TRUTH, 1 - TRUTH)
    assert perfect["ours"] == [1.0, 1.0] and perfect["baseline"] == [0.0, 0.0]


def test_bootstrap_resamples_like_drawing_items() -> None:
    """The multinomial draw over cells has the distribution of resampling items: its mean and
    spread match a direct item-level bootstrap."""
    cells = bootstrap_f1(TRUTH, {"ours": OURS}, n=4000)["ours"]
    rng = np.random.default_rng(3)
    i = rng.integers(0, len(TRUTH), (2000, len(TRUTH)))
    direct = _macro_f1(TRUTH[i], OURS[i])
    assert abs(cells.mean() - direct.mean()) < 0.003
    assert abs(cells.std() - direct.std()) < 0.003


def test_compare_per_language() -> None:
    languages = ["english" if i % 3 else "roman_urdu" for i in range(len(TRUTH))]
    result = compare(TRUTH, {"model": OURS, "baseline": BASE}, languages, n=500)
    assert result["n"] == 600 and set(result["by_language"]) == {"english", "roman_urdu"}
    assert sum(block["n"] for block in result["by_language"].values()) == 600
    model = result["systems"]["model"]
    assert model["abusive"] == scores(TRUTH, OURS)["abusive"]
    against = result["against"]["baseline"]
    assert against["mcnemar"] == mcnemar(TRUTH, OURS, BASE)
    assert against["interval"][0] < against["difference"] < against["interval"][1]
    assert "baseline" not in result["by_language"]["english"]["against"]["baseline"]["mcnemar"]
    with pytest.raises(ValueError, match="reference"):
        compare(TRUTH, {"baseline": BASE}, languages)


def test_baselines_fit_on_the_training_splits(sample: Sample) -> None:
    data = load_training_data(sample.data)
    plain = Baseline().fit(data)
    tuned = TunedBaseline().fit(data)
    assert plain.chosen_C == {"roman_urdu": 1.0, "english": 1.0}
    assert set(tuned.chosen_C) == {"roman_urdu", "english"}
    assert all(c in TUNED_C for c in tuned.chosen_C.values())
    texts, labels = data.frozen_eval["ruhsold_validation"]
    for baseline in (plain, tuned):
        predicted = baseline.predict_set("ruhsold_validation", texts)
        assert len(predicted) == len(texts) and set(predicted) <= {0, 1}
        assert scores(labels, predicted)["macro_f1"] > 0.5
        # without a dataset, each text goes to the model of its language route
        mixed = ["you are a stupid idiot", "tu bohat bura hai yaar"]
        assert baseline.predict(mixed) == [
            baseline.predict(mixed[:1], "english")[0],
            baseline.predict(mixed[1:], "roman_urdu")[0],
        ]


def test_permutation_test_of_the_macro_f1_difference() -> None:
    """Against the exact test (all 2^k swaps of the k items the systems disagree on), and the
    obvious cases: the same predictions, a clearly better system."""
    import itertools

    from jalsa.inbox.evaluation import _macro_f1, permutation_test

    y = np.array([1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0])
    a = np.array([1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0])
    b = np.array([1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1])
    observed = abs(float(_macro_f1(y, a) - _macro_f1(y, b)))
    differ = np.flatnonzero(a != b)
    extreme = 0
    for swaps in itertools.product((False, True), repeat=len(differ)):
        pa, pb = a.copy(), b.copy()
        for i, swap in zip(differ, swaps, strict=True):
            if swap:
                pa[i], pb[i] = b[i], a[i]
        extreme += abs(float(_macro_f1(y, pa) - _macro_f1(y, pb))) >= observed - 1e-12
    exact = extreme / 2 ** len(differ)
    result = permutation_test(y, a, b, n=20_000)
    assert abs(result["p"] - exact) < 0.01
    assert permutation_test(y, a, a)["p"] == 1.0
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 2, 3000)
    good = np.where(rng.uniform(size=3000) < 0.92, truth, 1 - truth)
    poor = np.where(rng.uniform(size=3000) < 0.85, truth, 1 - truth)
    assert permutation_test(truth, good, poor)["p"] < 0.001
