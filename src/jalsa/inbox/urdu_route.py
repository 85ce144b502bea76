"""The classifier's Urdu-script route: Urdu script and mixed Urdu/Latin comments.

No labelled Urdu-script training set with a licence that allows it exists, so the route learns
from RUHSOLD's Roman Urdu and from the team's abuse lexicon, seen in the script the comment is
written in. It averages experts, each an NB-weighted logistic regression on character n-grams
(within words) and word 1-2-grams of one view of the text:

- `script`: the text in folded Urdu script (`urdu_lexicon.fold`: Latin words transliterated
  with `roman_to_urdu`, sound-alike letters merged), trained on RUHSOLD transliterated the same
  way;
- `roman`: the text in Roman Urdu (`urdu_to_roman`, doubled letters squeezed), trained on
  RUHSOLD as it is, the same view the Roman Urdu route has;
- `skeleton`: the consonant skeleton of either script (`features.skeleton`), the route's
  earlier model.

Each expert may add the lexicon's hit columns (`LexiconMatcher.features`) to its n-grams, and
the lexicon's phrases (both scripts) are added to its training texts as abusive examples.
Which experts, and whether with the lexicon, was chosen on the Urdu-script set's dev split
(benchmarks/urdu_route.py, docs/decisions.md).

`UrduScriptRoute.score(texts) -> (proba, rows)` is `RouteModel.score`'s interface. Rows hold
"abusive" and, for each lexicon category found in the text (hate, sexism, profanity, threat),
that category with the abusive probability: the route has no category model (RUHSOLD's task 2
is not used for it), so a category is present only where the lexicon names it.

`export`/`rebuild` write and read the route in the portable shipped format (shipped.py): plain
arrays and string lists, the lexicon's folded keys included, so a saved model does not depend on
the lexicon file that ships beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from jalsa.inbox.classifier import RouteModel
from jalsa.inbox.features import (
    NBLogisticRegression,
    predict_proba,
    skeleton,
    squeeze,
    text_features,
    transform,
)
from jalsa.inbox.transliterate import roman_to_urdu, urdu_to_roman
from jalsa.inbox.urdu_lexicon import LexiconMatcher, fold, hit_features
from jalsa.inbox.urdu_set import load_urdu_lexicon

KIND = "urdu_experts"  # the route's "kind" in a shipped manifest
LEXICON_SCALE = 1.0  # the lexicon columns' scale against the TF-IDF n-grams (unit length)
# Score names of the lexicon's categories ("abuse" is the "abusive" score itself).
LEXICON_SCORES = {"hate": "hate", "sexism": "sexism", "profanity": "profanity", "threat": "threat"}


def roman_view(text: str) -> str:
    """The text as the Roman Urdu route reads it: Urdu script in Roman letters, squeezed."""
    return squeeze(urdu_to_roman(text))


# The views by the name a shipped manifest records (a saved model refers to them by name).
VIEWS: dict[str, Callable[[str], str]] = {
    "script": fold,
    "roman": roman_view,
    "skeleton": skeleton,
}
# Character n-gram ranges of each view (chosen by CV on RUHSOLD task_1_train).
CHAR_RANGES: dict[str, tuple[int, int]] = {"script": (1, 5), "roman": (1, 6), "skeleton": (1, 5)}


def training_view(view: str, roman_texts: Sequence[str]) -> list[str]:
    """RUHSOLD's Roman Urdu as the expert of `view` is trained on it: in Urdu script for
    "script" (what Urdu-script comments look like), as it is for the others."""
    if view == "script":
        return [roman_to_urdu(t) for t in roman_texts]
    return list(roman_texts)


def lexicon_phrases() -> list[str]:
    """Every lexicon phrase in Urdu script and in each Roman spelling (abusive examples)."""
    phrases: list[str] = []
    for entry in load_urdu_lexicon():
        phrases.append(entry.urdu)
        phrases.extend(entry.roman)
    return phrases


@dataclass
class Expert:
    """One view's features (and the lexicon's columns when `lexicon`) and its NB-LR."""

    view: str
    features: Any
    abusive: NBLogisticRegression
    lexicon: bool = False

    def transform(self, texts: Sequence[str], lexicon: sp.csr_matrix | None) -> Any:
        """The expert's features of `texts`; `lexicon` is the texts' `hit_features` (read
        when the expert has lexicon columns)."""
        X = transform(self.features, texts)
        if self.lexicon and lexicon is not None:
            X = sp.hstack([X, lexicon * LEXICON_SCALE], format="csr")
        return X

    def predict(self, texts: Sequence[str], lexicon: sp.csr_matrix | None) -> np.ndarray:
        return predict_proba(self.abusive, self.transform(texts, lexicon))[:, 1]


@dataclass
class UrduScriptRoute(RouteModel):
    """The Urdu-script route: the mean of its experts' probabilities. A `RouteModel` whose
    `features`, `abusive` and `categories` are unused (None): `score` is its interface."""

    features: Any = None
    abusive: Any = None
    experts: list[Expert] = field(default_factory=list)
    matcher: LexiconMatcher | None = None

    def score(self, texts: Sequence[str]) -> tuple[np.ndarray, list[dict[str, float]]]:
        texts = list(texts)
        if not texts:
            return np.zeros(0), []
        # the lexicon's hits, found once for both experts and the category scores
        hits = [self.matcher.hits(text) for text in texts] if self.matcher is not None else []
        lexicon = hit_features(hits) if hits else None
        proba = np.mean([e.predict(texts, lexicon) for e in self.experts], axis=0)
        rows: list[dict[str, float]] = [{"abusive": float(p)} for p in proba]
        for found, row, p in zip(hits, rows, proba, strict=False):  # no hits: no matcher
            for _, category, _ in found:
                name = LEXICON_SCORES.get(category)
                if name is not None:
                    row[name] = float(p)
        return proba, rows


def fit_expert(
    view: str,
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    C: float,
    matcher: LexiconMatcher | None,
) -> Expert:
    """One expert fitted on `texts` (already in its training view)."""
    features = text_features(VIEWS[view], char_range=CHAR_RANGES[view])
    expert = Expert(view, features, NBLogisticRegression(C=C), lexicon=matcher is not None)
    X = features.fit_transform(list(texts))
    if matcher is not None:
        X = sp.hstack([X, matcher.features(list(texts)) * LEXICON_SCALE], format="csr")
    expert.abusive.fit(X, list(labels))
    return expert


def fit_urdu_route(
    roman_texts: Sequence[str],
    roman_labels: Sequence[int],
    script_texts: Sequence[str] = (),
    script_labels: Sequence[int] = (),
    *,
    views: Sequence[str] = ("script", "roman"),
    lexicon: bool = True,
    extra_phrases: Sequence[str] = (),
    C: float = 30.0,
) -> UrduScriptRoute:
    """Fit the route on RUHSOLD-style Roman Urdu (1 = abusive), Urdu-script texts moderators
    labelled, and (with `lexicon`) the lexicon's phrases as abusive examples and its hits as
    features. `extra_phrases` are more abusive words or phrases (RUHSOLD's word list), each
    added in Roman and in Urdu script."""
    matcher = LexiconMatcher.from_entries() if lexicon else None
    phrases = lexicon_phrases() if lexicon else []
    for phrase in extra_phrases:
        phrases.extend((phrase, roman_to_urdu(phrase)))
    experts = []
    for view in views:
        texts = [*training_view(view, roman_texts), *script_texts, *phrases]
        labels = [*roman_labels, *script_labels, *([1] * len(phrases))]
        experts.append(fit_expert(view, texts, labels, C=C, matcher=matcher))
    return UrduScriptRoute(experts=experts, matcher=matcher)


# -- the portable format ----------------------------------------------------------------------


def _terms(vec: Any) -> list[str]:
    terms = [""] * len(vec.vocabulary_)
    for term, index in vec.vocabulary_.items():
        terms[index] = term
    return terms


def export(
    route: UrduScriptRoute, prefix: str, arrays: dict[str, np.ndarray], vocab: dict[str, Any]
) -> dict[str, Any]:
    """Write the route's numbers into `arrays` and its strings into `vocab` (keys under
    `prefix`); the returned spec goes into the manifest."""
    experts = []
    for k, expert in enumerate(route.experts):
        name = f"{prefix}.{k}"
        union = expert.features.named_steps["features"]
        for part, vec in union.transformer_list:
            vocab[f"{name}.{part}"] = _terms(vec)
            arrays[f"{name}.{part}.idf"] = np.asarray(vec.idf_)
        lr = expert.abusive.model_
        arrays[f"{name}.nb_ratio"] = np.asarray(expert.abusive.ratio_)
        arrays[f"{name}.coef"] = np.asarray(lr.coef_)
        arrays[f"{name}.intercept"] = np.asarray(lr.intercept_)
        arrays[f"{name}.classes"] = np.asarray(lr.classes_)
        experts.append(
            {
                "view": expert.view,
                "char": list(CHAR_RANGES[expert.view]),
                "lexicon": expert.lexicon,
                "nb_alpha": expert.abusive.alpha,
            }
        )
    if route.matcher is not None:
        vocab[f"{prefix}.lexicon"] = route.matcher.as_rows()
    return {"kind": KIND, "experts": experts, "lexicon": route.matcher is not None}


def rebuild(spec: dict[str, Any], prefix: str, arrays: Any, vocab: Any) -> UrduScriptRoute:
    """The route `export` wrote, from the manifest's spec, the arrays and the vocabularies."""
    from sklearn.linear_model import LogisticRegression

    experts = []
    for k, part_spec in enumerate(spec["experts"]):
        name = f"{prefix}.{k}"
        view = part_spec["view"]
        features = text_features(VIEWS[view], char_range=tuple(part_spec["char"]))
        for part, vec in features.named_steps["features"].transformer_list:
            terms = vocab[f"{name}.{part}"]
            vec.set_params(vocabulary=dict(zip(terms, range(len(terms)), strict=True)))
            vec.idf_ = arrays[f"{name}.{part}.idf"]
        lr = LogisticRegression()
        lr.classes_ = arrays[f"{name}.classes"]
        lr.coef_ = arrays[f"{name}.coef"]
        lr.intercept_ = arrays[f"{name}.intercept"]
        lr.n_features_in_ = lr.coef_.shape[1]
        abusive = NBLogisticRegression(alpha=part_spec["nb_alpha"])
        abusive.ratio_ = arrays[f"{name}.nb_ratio"]
        abusive.model_ = lr
        abusive.classes_ = lr.classes_
        experts.append(Expert(view, features, abusive, lexicon=bool(part_spec["lexicon"])))
    matcher = LexiconMatcher.from_rows(vocab[f"{prefix}.lexicon"]) if spec["lexicon"] else None
    return UrduScriptRoute(experts=experts, matcher=matcher)
