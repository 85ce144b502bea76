"""The moderation classifier: one prediction per comment, whatever the comment is.

`Model.predict(texts)` gives, for every item, its language route, the probability that it is
abusive and per-category scores the policy acts on. Each language route has its own model (see
`training.py`): English is learnt from Davidson's tweets, Roman Urdu from RUHSOLD, and Urdu
script (no labelled data exists) from RUHSOLD in both scripts and the team's abuse lexicon
(`urdu_route.py`). Which model is used, a team's or the one that ships with jalsa:
`model_files.py`.

Bad input never raises: an empty, emoji-only, over-long, non-text or undecodable item gets a
status that says so, and the rest of the batch is scored.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from jalsa.inbox.calibration import Calibration, OperatingPoint
from jalsa.inbox.language import Route, is_latin, route, routes

log = logging.getLogger(__name__)

# Long items are scored on their first MAX_CHARS characters (status "too_long"): abuse is rarely
# only at the end of 5,000 characters, and char n-grams of 100 KB would stall the queue.
MAX_CHARS = 5_000

Status = Literal[
    "ok", "too_long", "empty", "emoji_only", "no_text", "unsupported_script", "invalid", "error"
]
STATUSES: tuple[Status, ...] = (
    "ok",
    "too_long",
    "empty",
    "emoji_only",
    "no_text",
    "unsupported_script",
    "invalid",
    "error",
)

# Latin-script text (English or Roman Urdu) is scored by a mixture of the two Latin experts,
# weighted by a learnt gate: the word-list route is right for the language shown to moderators,
# but Pakistani comments in English are closer to RUHSOLD than to Davidson's US tweets, and the
# gate (trained to tell the two corpora apart) picks the right expert 99% of the time. An expert
# whose weight is under GATE_SKIP is not computed at all (its share would change little).
LATIN_ROUTES: frozenset[Route] = frozenset({"english", "roman_urdu"})
# Urdu script and mixed Urdu-script/Latin text go to the Urdu-script route, which reads both.
SCRIPT_ROUTES: frozenset[Route] = frozenset({"urdu", "mixed"})
GATE_SKIP = 0.02
# Calibration and operating points are per group of routes: mixed-script text is read by the
# Urdu-script model and judged with it, and English the gate finds like US tweets (Davidson)
# rather than like Pakistani ones has a group of its own (decision 41).
CALIBRATION_GROUP: dict[str, str] = {
    "english": "english",
    "roman_urdu": "roman_urdu",
    "urdu": "urdu",
    "mixed": "urdu",
}
US_STYLE_GROUP = "english_us_style"


def calibration_group(language: str, gate: float | None) -> str | None:
    """The calibration group of an item: its route's, with English split by the gate."""
    group = CALIBRATION_GROUP.get(language)
    if group == "english" and gate is not None and gate < 0.5:
        return US_STYLE_GROUP
    return group


# A route's output for one text: abusive probability, category scores, gate weight (Latin).
Scored = tuple[float, dict[str, float], float | None]


@dataclass(frozen=True)
class Prediction:
    """One item's classifier output.

    `abusive` is the probability that the item is abusive or offensive (None when nothing was
    scored); `categories` holds that probability as "abusive" plus the finer categories the
    route's training data has ("hate", "sexism", "profanity"), each a probability in [0, 1].
    A category a route has no data for is absent, never 0.
    """

    status: Status
    language: Route
    abusive: float | None
    categories: Mapping[str, float]
    model_version: str
    detail: str = ""
    threshold: float = 0.5
    # The score before calibration (equal to `abusive` for a model without calibration), and
    # the route's operating point: {"hide": score or None, "review": score}, empty if none.
    raw: float | None = None
    operating_point: Mapping[str, float | None] = field(default_factory=dict)
    # For Latin text, the gate's probability that it is like RUHSOLD (Pakistani tweets, in
    # Roman Urdu or English) rather than like Davidson's US tweets; calibration reads it.
    gate: float | None = None

    @property
    def flagged(self) -> bool:
        """The model's own yes/no: its uncalibrated score at its threshold, 0.5 (the policy acts
        on the calibrated score at the route's operating point instead). Calibration is monotone
        per route, so this is the classifier the figures of macro-F1 describe."""
        score = self.raw if self.raw is not None else self.abusive
        return score is not None and score >= self.threshold


@dataclass
class RouteModel:
    """Features and classifiers of one language route; `category_names` maps a class of the
    category model to the score name it becomes."""

    features: Any
    abusive: Any
    categories: Any | None = None
    category_names: dict[int, str] = field(default_factory=dict)

    def score(self, texts: Sequence[str]) -> tuple[np.ndarray, list[dict[str, float]]]:
        from jalsa.inbox.features import predict_proba, transform  # scikit-learn: when used

        X = transform(self.features, texts)
        proba = predict_proba(self.abusive, X)[:, 1]
        rows: list[dict[str, float]] = [{"abusive": float(p)} for p in proba]
        if self.categories is not None:
            cat = predict_proba(self.categories, X)
            for column, klass in enumerate(self.categories.classes_):
                name = self.category_names.get(int(klass))
                if name is None:
                    continue
                for row, value in zip(rows, cat[:, column], strict=True):
                    row[name] = float(value)
        return proba, rows


@dataclass
class Model:
    """A trained classifier: route models, the Latin gate, and the metadata written beside it.

    `routes` has "roman_urdu", "english" and "urdu_script"; `gate` gives the probability that
    a Latin-script text is RUHSOLD-like (Roman Urdu or Pakistani English) rather than
    Davidson-like.
    """

    version: str
    routes: dict[str, RouteModel]
    gate: Any = None
    info: dict[str, Any] = field(default_factory=dict)
    # `contamination.keys` of every text the model was trained on (uint64, sorted), so an
    # evaluation can say how many of its texts the model has seen; None: not recorded.
    training_keys: Any = None

    @property
    def shipped(self) -> bool:
        """True for the model that ships with jalsa, False for one a team trained."""
        return bool(self.info.get("built_by"))

    def describe(self) -> str:
        """The model in words, for summaries: which one and its version."""
        if self.shipped:
            return f"the shipped model {self.version} ({self.info.get('name', 'jalsa default')})"
        return f"the team's trained model {self.version}"

    def predict(self, texts: Sequence[object]) -> list[Prediction]:
        """Score a batch. Never raises for an item: every item gets a Prediction with a status."""
        results: list[Prediction | None] = [None] * len(texts)
        latin: list[tuple[int, str, Route, Status]] = []
        script: list[tuple[int, str, Route, Status]] = []
        prepared = [_prepare(item) for item in texts]
        readable = {i: text for i, (text, _) in enumerate(prepared) if text is not None}
        languages = dict(zip(readable, routes(list(readable.values())), strict=True))
        for i, (text, status) in enumerate(prepared):
            if text is None:
                results[i] = Prediction(status, "unknown", None, {}, self.version, _WHY[status])
                continue
            lang = languages[i]
            if lang in LATIN_ROUTES or (lang == "unknown" and is_latin(text)):
                latin.append((i, text, lang, status))  # unknown: Latin, another language
            elif lang == "unknown":
                results[i] = self._unreadable(text, status)
            else:
                script.append((i, text, lang, status))
        for members, scorer in ((latin, self._score_latin), (script, self._score_script)):
            if not members:
                continue
            try:
                scored = scorer([text for _, text, _, _ in members])
            except Exception as exc:  # a model bug must not stall the queue
                for i, _, lang, _ in members:
                    results[i] = Prediction(
                        "error", lang, None, {}, self.version, f"classifier failed: {exc}"
                    )
                continue
            for (i, _, lang, status), (p, row, gate) in zip(members, scored, strict=True):
                detail = f"scored the first {MAX_CHARS} characters" if status == "too_long" else ""
                results[i] = Prediction(status, lang, p, row, self.version, detail, gate=gate)
            try:
                self._calibrate([i for i, _, _, _ in members], results)
            except Exception as exc:  # raw scores, no operating point: the policy's thresholds
                log.warning("calibration failed (%r): raw scores for %d items", exc, len(members))
        return [r for r in results if r is not None]

    def _unreadable(self, text: str, status: Status) -> Prediction:
        """The prediction for text no route reads: emoji, digits, another script."""
        if not any(ch.isalpha() for ch in text):
            if any(_is_emoji_like(ch) for ch in text):
                return Prediction("emoji_only", "unknown", None, {}, self.version,
                                  "emoji and symbols only")  # fmt: skip
            return Prediction("no_text", "unknown", None, {}, self.version,
                              "no letters (digits or punctuation only)")  # fmt: skip
        return Prediction("unsupported_script", "unknown", None, {}, self.version,
                          "written in a script without a model")  # fmt: skip

    def _calibrate(self, indices: list[int], results: list[Prediction | None]) -> None:
        """Give the scored predictions at `indices` their route's calibrated `abusive` and
        operating point, one calibration call per group (the raw score kept in `raw`);
        unchanged but for `raw` for a model without calibration."""
        groups: dict[str, list[int]] = {}
        for i in indices:
            found = results[i]
            if found is not None and found.abusive is not None:
                groups.setdefault(calibration_group(found.language, found.gate) or "", []).append(i)
        calibrations, points = self.calibration(), self.operating_points()
        for group, members in groups.items():
            items = [results[i] for i in members]
            raws = [float(p.abusive) for p in items if p is not None and p.abusive is not None]
            calibration, point = calibrations.get(group), points.get(group)
            if calibration is None:
                calibrated = raws
                operating: dict[str, float | None] = {}
            else:
                gates = [p.gate for p in items if p is not None]
                calibrated = [float(v) for v in calibration.apply(raws, gates)]
                operating = {"hide": point.hide, "review": point.review} if point else {}
            for i, raw, p in zip(members, raws, calibrated, strict=True):
                old = results[i]
                assert old is not None
                categories = {**old.categories, "abusive": p} if calibration else old.categories
                results[i] = replace(
                    old, abusive=p, categories=categories, raw=raw, operating_point=operating
                )

    def calibration(self) -> dict[str, Calibration]:
        """Per calibration group, the map from raw to calibrated score (from `info`)."""
        cached = self.__dict__.get("_calibration")
        if cached is None:
            raw = (getattr(self, "info", None) or {}).get("calibration") or {}
            cached = {group: Calibration.from_json(spec) for group, spec in raw.items()}
            self.__dict__["_calibration"] = cached
        return cached

    def operating_points(self) -> dict[str, OperatingPoint]:
        """Per calibration group, where the calibrated score hides and reviews (from `info`)."""
        cached = self.__dict__.get("_operating_points")
        if cached is None:
            raw = (getattr(self, "info", None) or {}).get("operating_points") or {}
            cached = {group: OperatingPoint.from_json(spec) for group, spec in raw.items()}
            self.__dict__["_operating_points"] = cached
        return cached

    def set_calibration(
        self, calibration: Mapping[str, Calibration], points: Mapping[str, OperatingPoint]
    ) -> None:
        """Record calibration and operating points in `info` (and so in the saved model)."""
        self.info["calibration"] = {g: c.to_json() for g, c in calibration.items()}
        self.info["operating_points"] = {g: p.to_json() for g, p in points.items()}
        self.__dict__.pop("_calibration", None)
        self.__dict__.pop("_operating_points", None)

    def predict_one(self, text: object) -> Prediction:
        return self.predict([text])[0]

    def _score_script(self, texts: list[str]) -> list[Scored]:
        proba, rows = self.routes["urdu_script"].score(texts)
        return [(float(p), row, None) for p, row in zip(proba, rows, strict=True)]

    def _score_latin(self, texts: list[str]) -> list[Scored]:
        from jalsa.inbox.features import predict_proba, transform  # scikit-learn: when used

        weight = (
            predict_proba(self.gate[-1], transform(self.gate[0], texts))[:, 1]
            if self.gate is not None
            else np.array([1.0 if route(t) == "roman_urdu" else 0.0 for t in texts])
        )
        experts: dict[str, tuple[np.ndarray, list[int], list[dict[str, float]]]] = {}
        for name, needed in (
            ("roman_urdu", weight >= GATE_SKIP),
            ("english", weight <= 1 - GATE_SKIP),
        ):
            idx = [int(i) for i in np.flatnonzero(needed)]
            proba, rows = self.routes[name].score([texts[i] for i in idx]) if idx else ([], [])
            experts[name] = (np.asarray(proba), idx, rows)
        p_ru = np.zeros(len(texts))
        p_en = np.zeros(len(texts))
        cats: list[dict[str, dict[str, float]]] = [{} for _ in texts]
        for name, target in (("roman_urdu", p_ru), ("english", p_en)):
            proba, idx, rows = experts[name]
            for k, i in enumerate(idx):
                target[i] = proba[k]
                cats[i][name] = rows[k]
        out: list[Scored] = []
        for i, w in enumerate(weight):
            p = float(w * p_ru[i] + (1 - w) * p_en[i])
            # Finer categories come from the expert with the larger weight.
            row = dict(cats[i]["roman_urdu" if w >= 0.5 else "english"])
            row["abusive"] = p
            out.append((p, row, float(w)))
        return out


# Control characters (NUL, bell, newlines...) become spaces; format characters such as the
# zero-width non-joiner stay, Urdu words need them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _is_emoji_like(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category in ("So", "Sk", "Cf", "Mn", "Me") or 0x1F000 <= ord(ch) <= 0x1FAFF


# Why an item has no score, by status.
_WHY: dict[str, str] = {
    "invalid": "not text, or bytes that are not UTF-8",
    "empty": "no text",
}


def _prepare(item: object) -> tuple[str | None, Status]:
    """(text to score, or None; status) for one raw item, before routing."""
    if isinstance(item, bytes | bytearray):
        try:
            item = bytes(item).decode("utf-8")
        except UnicodeDecodeError:
            return None, "invalid"
    if not isinstance(item, str):
        return None, "invalid"
    # Lone surrogates (from a broken JSON escape) cannot be encoded: make them U+FFFD.
    text = item.encode("utf-8", "replace").decode("utf-8")
    status: Status = "ok"
    if len(text) > MAX_CHARS:
        text, status = text[:MAX_CHARS], "too_long"
    text = _CONTROL.sub(" ", text).strip()
    if not text:
        return None, "empty"
    return text, status
