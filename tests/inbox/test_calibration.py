"""Calibration and operating points: the numbers that decide when the model hides alone."""

from __future__ import annotations

import numpy as np
import pytest

from jalsa.inbox.calibration import (
    Calibration,
    OperatingPoint,
    choose_for_sources,
    choose_operating_point,
    fit_calibration,
    operating_figures,
    precision_lower_bound,
    reliability,
)
from jalsa.inbox.policy_file import load_policy
from jalsa.inbox.scores import ModelScores

POLICY = load_policy()


def overconfident(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose true probability is sigmoid(logit(raw) / 3): far too sure of themselves."""
    rng = np.random.default_rng(seed)
    truth = np.clip(rng.beta(0.4, 0.4, n), 0.001, 0.999)
    labels = (rng.uniform(size=n) < truth).astype(int)
    logit = np.log(truth / (1 - truth)) * 3
    return 1 / (1 + np.exp(-logit)), labels


def test_platt_scaling_repairs_overconfident_scores() -> None:
    raw, labels = overconfident(800)
    calibration = fit_calibration(raw, labels)
    assert calibration.method == "platt" and 0.2 < calibration.a < 0.5
    before, after = reliability(raw, labels), reliability(calibration.apply(raw), labels)
    assert after["ece"] < before["ece"] / 2
    assert after["brier"] < before["brier"]


def test_isotonic_is_chosen_only_with_many_items_and_when_it_fits_better() -> None:
    rng = np.random.default_rng(2)
    raw = rng.uniform(size=5000)
    # A step no sigmoid can follow: abusive almost surely above 0.6, almost never below.
    labels = (rng.uniform(size=5000) < np.where(raw > 0.6, 0.97, 0.03)).astype(int)
    assert fit_calibration(raw, labels).method == "isotonic"
    assert fit_calibration(raw[:500], labels[:500]).method == "platt"


def test_the_gate_lets_one_route_calibrate_two_kinds_of_text() -> None:
    """The same raw score means abuse in 9 of 10 US tweets but 5 of 10 Pakistani ones: a
    calibration that reads the gate gets both right, one that does not gets neither."""
    rng = np.random.default_rng(8)
    raw = rng.uniform(0.05, 0.95, 6000)
    gate = np.where(np.arange(6000) < 4000, 0.05, 0.95)  # 4,000 US-like, 2,000 Pakistani
    truth = np.where(gate < 0.5, np.clip(raw + 0.3, 0, 0.99), raw * 0.6)
    labels = (rng.uniform(size=6000) < truth).astype(int)
    sources = ["us" if g < 0.5 else "pk" for g in gate]
    calibration = fit_calibration(raw, labels, gate=list(gate), sources=sources)
    assert calibration.method == "platt_gate"
    again = Calibration.from_json(calibration.to_json())
    p = again.apply(raw, list(gate))
    for mask in (gate < 0.5, gate > 0.5):
        assert reliability(p[mask], labels[mask])["ece"] < 0.06
    blind = fit_calibration(raw, labels, sources=sources)
    assert blind.method != "platt_gate"
    assert reliability(blind.apply(raw)[gate > 0.5], labels[gate > 0.5])["ece"] > 0.1


def test_too_little_data_or_one_class_is_left_uncalibrated() -> None:
    assert fit_calibration([0.2, 0.9] * 5, [0, 1] * 5).method == "identity"
    assert fit_calibration([0.1 * (i % 10) for i in range(100)], [1] * 100).method == "identity"
    assert list(Calibration().apply([0.3])) == [0.3]


def test_calibration_survives_json() -> None:
    raw, labels = overconfident(3000)
    calibration = fit_calibration(raw, labels)
    again = Calibration.from_json(calibration.to_json())
    assert np.allclose(again.apply(raw), calibration.apply(raw))


def test_hide_threshold_meets_the_precision_bound_and_review_stays_in_budget() -> None:
    raw, labels = overconfident(4000, seed=3)
    p = fit_calibration(raw, labels).apply(raw)
    point = choose_operating_point(p, labels, target_precision=0.97, review_budget=0.15)
    assert point.hide is not None and point.review < point.hide
    hidden = p >= point.hide
    assert precision_lower_bound(int(labels[hidden].sum()), int(hidden.sum())) >= 0.97
    # The lowest such threshold: one distinct score lower fails the bound.
    lower = p[p < point.hide].max()
    below = p >= lower
    assert precision_lower_bound(int(labels[below].sum()), int(below.sum())) < 0.97
    reviewed = (p >= point.review) & ~hidden
    assert reviewed.mean() <= 0.15 + 1e-9 and reviewed.mean() > 0.10


def test_one_operating_point_holds_on_every_source() -> None:
    """US tweets (mostly abusive) and Pakistani tweets (mostly not) on one route: the hide
    threshold is the stricter of the two, so precision holds on each; a small source is pooled
    with the largest."""
    us_raw, us_labels = overconfident(4000, seed=5)
    us_labels = np.where(np.random.default_rng(6).uniform(size=4000) < 0.6, 1, us_labels)
    pk_raw, pk_labels = overconfident(1500, seed=7)
    us, pk = (us_raw, us_labels), (pk_raw, pk_labels)
    both = choose_for_sources({"us": us, "pk": pk}, min_items=200)
    alone = {name: choose_operating_point(*part) for name, part in (("us", us), ("pk", pk))}
    assert both.hide == max(point.hide for point in alone.values())  # type: ignore[type-var]
    for raw, labels in (us, pk):
        hidden = raw >= both.hide
        assert precision_lower_bound(int(labels[hidden].sum()), int(hidden.sum())) >= 0.97
        band = ((raw >= both.review) & ~hidden).mean()
        assert band <= 0.15 + 1e-9
    assert both.chosen_on == "us and pk" and both.n == 5500
    tiny = choose_for_sources({"us": us, "few": (pk_raw[:50], pk_labels[:50])}, min_items=200)
    assert tiny.hide is not None and tiny.n == 4050


def test_a_route_without_enough_evidence_never_hides() -> None:
    point = choose_operating_point([0.99] * 10 + [0.1] * 10, [1] * 10 + [0] * 10)
    assert point.hide is None  # ten perfect items are not enough to promise 97%
    assert point.action(0.999) == "review" and point.action(0.05) == "allow"
    noisy = choose_operating_point(np.linspace(0, 1, 400), [0, 1] * 200)
    assert noisy.hide is None


def test_operating_figures_have_intervals() -> None:
    raw, labels = overconfident(2000, seed=4)
    point = OperatingPoint(hide=0.9, review=0.5)
    figures = operating_figures(raw, labels, point, resamples=200)
    precision = figures["hide_precision"]
    assert precision["interval"][0] <= precision["value"] <= precision["interval"][1]
    hidden = raw >= 0.9
    assert precision["value"] == round(float(labels[hidden].mean()), 4)
    assert figures["review_share"]["value"] == round(float(((raw >= 0.5) & ~hidden).mean()), 4)
    assert OperatingPoint.from_json(point.to_json()) == point


POINT = {"hide": 0.95, "review": 0.4}


@pytest.mark.parametrize(
    ("abusive", "action"), [(0.97, "hide"), (0.95, "hide"), (0.6, "review"), (0.39, "allow")]
)
def test_policy_acts_on_the_calibrated_score_at_the_operating_point(
    abusive: float, action: str
) -> None:
    scores = ModelScores({"abusive": abusive}, language="roman_urdu", operating_point=POINT)
    decision = POLICY.decide("kuch bhi", scores, model_version="m1")
    assert decision.action == action
    if action != "allow":
        assert "operating point of the roman_urdu route" in decision.reason


def test_with_an_operating_point_category_scores_only_queue_for_review() -> None:
    scores = ModelScores({"abusive": 0.5, "hate": 0.99}, language="english", operating_point=POINT)
    decision = POLICY.decide("some text", scores, model_version="m1")
    assert decision.action == "review" and decision.category == "hate"
    assert "only the calibrated abusive score hides" in decision.reason
    # Without one, the category's own threshold hides (the old behaviour).
    plain = POLICY.decide("some text", ModelScores({"hate": 0.99}, language="english"))
    assert plain.action == "hide"


def test_operating_points_can_be_switched_off_and_bad_ones_are_ignored() -> None:
    off = POLICY.model_copy(update={"use_model_operating_points": False})
    scores = ModelScores({"abusive": 0.8}, language="english", operating_point=POINT)
    assert off.decide("x y", scores).action == "review"  # abuse thresholds: review at 0.60
    for bad in ({"hide": 0.2, "review": 0.5}, {"review": "high"}, {"hide": 2, "review": 0.5}):
        decision = POLICY.decide("x y", {"abusive": 0.8}, language="english", status="ok")
        odd = ModelScores({"abusive": 0.8}, language="english", operating_point=bad)  # type: ignore[arg-type]
        assert POLICY.decide("x y", odd).action == decision.action


def test_training_calibrates_each_route_and_saved_models_keep_it(sample, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from jalsa.inbox.model_files import load_model
    from jalsa.inbox.training import train

    path, model = train(sample.data, tmp_path, baseline=False)
    chosen = model.info["calibrated_on"]
    # Latin routes on out-of-fold scores (the sample's English is like US tweets), Urdu script
    # on the project's Urdu-script dev split.
    assert set(chosen) == {"english_us_style", "roman_urdu", "urdu"}
    assert all("out of fold" in chosen[g]["chosen_on"] for g in ("english_us_style", "roman_urdu"))
    assert chosen["urdu"]["chosen_on"] == "urdu_script_dev"
    assert set(model.info["operating_points"]) == set(chosen)
    texts = [r.text for r in sample.roman_urdu_validation]
    first = model.predict(texts)
    latin = [p for p in first if p.language in ("english", "roman_urdu")]
    assert latin and all(p.operating_point and p.raw is not None for p in latin)
    again = load_model(path).predict(texts)
    assert [p.abusive for p in again] == [p.abusive for p in first]
    assert [p.operating_point for p in again] == [p.operating_point for p in first]


def test_a_model_knows_which_texts_it_was_trained_on(sample, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Training keys travel with the model (joblib and the portable format), so an evaluation
    says how many of its texts the model has seen; held-out texts are never among them."""
    from jalsa.inbox.comparison import seen_by_model
    from jalsa.inbox.shipped import export_model, load_portable
    from jalsa.inbox.training import fit_model, load_training_data

    data = load_training_data(sample.data)
    model = fit_model(data)
    trained = data.roman_urdu[0][:5]
    held_out = data.frozen_eval["ruhsold_validation"][0]
    assert seen_by_model(model, trained) == 5
    assert seen_by_model(model, [t.upper() + "  " for t in trained]) == 5  # normalised
    assert seen_by_model(model, held_out) == 0
    export_model(model, tmp_path / "portable", {})
    loaded = load_portable(tmp_path / "portable")
    assert seen_by_model(loaded, trained) == 5 and seen_by_model(loaded, held_out) == 0


def test_a_failing_identifier_or_calibration_never_stalls_the_queue(sample, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from jalsa.inbox import language
    from jalsa.inbox.calibration import Calibration
    from jalsa.inbox.training import fit_model, load_training_data

    model = fit_model(load_training_data(sample.data))

    def broken(*_: object) -> None:
        raise RuntimeError("broken")

    class BrokenIdentifier:
        predict_proba = broken

    monkeypatch.setattr(language, "_identifier", BrokenIdentifier)
    monkeypatch.setattr(Calibration, "apply", broken)
    model.info["calibration"] = {"roman_urdu": {"method": "platt", "a": 1.0, "b": 0.0}}
    predictions = model.predict(["ye kya bakwas hai", "what a rally", "", "جلسہ"])
    assert [p.status for p in predictions] == ["ok", "ok", "empty", "ok"]
    assert predictions[0].language == "roman_urdu" and predictions[0].abusive is not None
    assert predictions[0].operating_point == {}  # uncalibrated: the policy's thresholds judge it
