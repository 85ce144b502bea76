"""The Urdu-script route: lexicon matching in spelling variants, reading Urdu script and mixed
text through `Model.predict`, and its exact export to the portable shipped format."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from jalsa.inbox.classifier import Model
from jalsa.inbox.shipped import MANIFEST, check_roundtrip, export_model, load_portable
from jalsa.inbox.training import PARAMS, fit_model, load_training_data, read_word_list
from jalsa.inbox.urdu_lexicon import LexiconMatcher, fold, stem
from jalsa.inbox.urdu_route import UrduScriptRoute, fit_urdu_route
from jalsa.inbox.urdu_set import LexiconEntry, load_urdu_set
from moderation_sample import Sample, read_sample


@pytest.fixture(scope="module")
def matcher() -> LexiconMatcher:
    return LexiconMatcher.from_entries()


@pytest.mark.parametrize(
    "text",
    [
        "تم کتے ہو",  # as the lexicon writes it
        "تم کتتتے ہو",  # a letter typed three times
        "سب کتوں کو نکالو",  # plural oblique
        "tum kuttay ho",  # a Roman spelling
        "tum kutey ho",  # a Roman spelling the lexicon does not list
        "بے غیرت انسان",  # with a space
        "بےغیرتوں کی حکومت",  # joined, plural
        "بیغیرت",  # ے written ی
        "یہ بےغیرت\u200cلوگ",  # zero-width non-joiner
        "لانتی",  # ع written ا
        "چُور ہے",  # a diacritic
        "tu kameeny",  # RUHSOLD-style final y
    ],
)
def test_a_lexicon_insult_is_found_in_its_spelling_variants(
    matcher: LexiconMatcher, text: str
) -> None:
    assert matcher.hits(text), text


@pytest.mark.parametrize(
    "text",
    [
        "یہ کتاب اچھی ہے",
        "کتنا اچھا جلسہ تھا",
        "ہم سب پاکستانی ہیں",
        "zabardast speech",
        "چورنگی پر ملو",
    ],
)
def test_ordinary_words_near_a_lexicon_word_are_not_hits(
    matcher: LexiconMatcher, text: str
) -> None:
    assert matcher.hits(text) == [], text


def test_fold_merges_sound_alike_letters_and_scripts() -> None:
    assert fold("ظالم") == fold("زالم")
    assert fold("حرامی") == fold("ہرامے")
    assert fold("  ڈاکو۔۔۔ ") == fold("داکو")
    assert stem(fold("کمینوں")) == stem(fold("کمینہ")) == stem(fold("kameenay"))
    assert stem(fold("تھا")) != stem(fold("تھو"))
    assert fold("kutta") == fold("کتا")


def test_a_new_entry_matches_through_its_roman_spellings() -> None:
    entry = LexiconEntry("گھٹیا", ("ghatiya", "ghatia"), "abuse", "mild")
    matcher = LexiconMatcher.from_entries([entry])
    assert [(c, s) for _, c, s in matcher.hits("ye banda ghatiyaa hai")] == [("abuse", "mild")]
    assert matcher.hits("یہ بندہ گھٹیا ہے") and not matcher.hits("یہ بندہ اچھا ہے")
    again = LexiconMatcher.from_rows(matcher.as_rows())
    assert again.keys == matcher.keys


def test_lexicon_features_count_categories_and_severities(matcher: LexiconMatcher) -> None:
    X = matcher.features(["تم کتے ہو", "اچھا جلسہ", "bc kutta"]).toarray()
    assert X.shape == (3, 9)
    assert X[1].sum() == 0 and X[0].sum() > 0
    assert X[2, -1] > X[0, -1]  # two hits count more than one


# -- the route --------------------------------------------------------------------------------


def _roman_sample() -> tuple[list[str], list[int]]:
    rows = [r for r in read_sample() if r.language == "roman_urdu"]
    return [r.text for r in rows], [r.abusive for r in rows]


@pytest.fixture(scope="module")
def route() -> UrduScriptRoute:
    texts, labels = _roman_sample()
    return fit_urdu_route(texts, labels, extra_phrases=["harami", "ullu ka patha"])


def test_the_route_reads_urdu_script_and_mixed_text(route: UrduScriptRoute) -> None:
    abusive = ["تم گدھے ہو چپ کرو", "یہ کتے کی اولاد ہے", "oye بےغیرت chup kar"]
    normal = ["بہت شاندار جلسہ تھا", "اللہ پاکستان کی حفاظت کرے", "jalsa acha tha، بہت شاندار"]
    proba, rows = route.score(abusive + normal)
    assert min(proba[:3]) > max(proba[3:])
    assert all(0.0 <= p <= 1.0 for p in proba)
    assert rows[1]["abusive"] == pytest.approx(proba[1])
    assert "profanity" in route.score(["تیری ماں کی"])[1][0]  # the lexicon names the category
    assert "hate" not in rows[3]  # no lexicon hit, no category
    assert route.score([])[0].shape == (0,)


def test_the_route_survives_pickling(route: UrduScriptRoute) -> None:
    texts = ["تم کتے ہو", "جلسہ اچھا تھا", "kutta ہے tu"]
    again = pickle.loads(pickle.dumps(route))
    assert np.array_equal(again.score(texts)[0], route.score(texts)[0])


def test_the_route_learns_from_the_word_list() -> None:
    texts, labels = _roman_sample()
    plain = fit_urdu_route(texts, labels, lexicon=False, views=("script",))
    taught = fit_urdu_route(
        texts, labels, lexicon=False, views=("script",), extra_phrases=["zorbakht", "zorbakhti"]
    )
    probe = ["یہ زوربخت ہے"]  # a made-up insult, only in the extra phrases
    assert taught.score(probe)[0][0] > plain.score(probe)[0][0]


def test_the_word_list_reader_skips_its_headers(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("_HEADER\n_Offensive\nAbc\n\n def \n", encoding="utf-8")
    assert read_word_list(path) == ["abc", "def"]


# -- through the model and the shipped format -------------------------------------------------


@pytest.fixture(scope="module")
def model(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> Model:
    folder = tmp_path_factory.mktemp("with-word-list") / "datasets"
    shutil.copytree(sample.data, folder)  # the shared sample folder stays as it is
    (folder / "ruhsold" / "Hate_Words_RomanUrdu_Lower.txt").write_text(
        "_HEADER\nzorbakht\n", encoding="utf-8"
    )
    data = load_training_data(folder)
    assert "ruhsold/Hate_Words_RomanUrdu_Lower.txt" in data.hashes
    assert data.abusive_words == ["zorbakht"]
    model = fit_model(data)
    model.version = "urdu-route-test"
    return model


PROBE = [
    "تم گدھے ہو",
    "یہ کتے کی اولاد ہے",
    "بہت شاندار جلسہ",
    "jalsa acha tha، بہت شاندار",
    "oye بےغیرت chup kar",
    "tu kutta hai",
    "great speech",
]


def test_predict_uses_the_route_for_urdu_script_and_mixed_text(model: Model) -> None:
    assert isinstance(model.routes["urdu_script"], UrduScriptRoute)
    assert PARAMS["urdu_script"]["lexicon"]
    predictions = model.predict(PROBE)
    languages = [p.language for p in predictions]
    assert languages[:5] == ["urdu", "urdu", "urdu", "mixed", "mixed"]
    direct = model.routes["urdu_script"].score(PROBE[:5])[0]
    assert [p.abusive for p in predictions[:5]] == pytest.approx(list(direct))
    assert predictions[1].flagged and not predictions[2].flagged


def test_the_route_exports_and_reloads_exactly(model: Model, tmp_path: Path) -> None:
    export_model(model, tmp_path / "m", {})
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text(encoding="utf-8"))
    spec = manifest["routes"]["urdu_script"]
    assert spec["kind"] == "urdu_experts" and [e["view"] for e in spec["experts"]] == [
        "script",
        "roman",
    ]
    texts = PROBE + load_urdu_set("dev")[0][:40]
    assert check_roundtrip(model, tmp_path / "m", texts) == 0.0
    loaded = load_portable(tmp_path / "m")
    route = loaded.routes["urdu_script"]
    assert isinstance(route, UrduScriptRoute) and route.matcher is not None
    assert route.matcher.keys == model.routes["urdu_script"].matcher.keys  # type: ignore[attr-defined]
