"""The language identifier: training on project-written text, the portable files, hostile input,
and the committed identifier on hand-written lines of each language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from jalsa.errors import UserError
from jalsa.inbox.langid import (
    ARRAYS,
    COMMITTED_DIR,
    LABELS,
    MANIFEST,
    LanguageIdentifier,
    committed_identifier,
    normalize,
    script_label,
    text_key,
    text_ngrams,
)
from jalsa.inbox.langid_training import (
    OTHER_FILE,
    RUHSOLD_TRAIN_LANGUAGE,
    fit_identifier,
    other_split,
    read_language_labels,
)

ENGLISH = [
    "what a great rally today, thank you all for coming",
    "i can't believe they said that on the news last night",
    "please share this video with your friends and family",
    "the traffic is terrible, we are stuck on the main road",
    "happy birthday brother, have a wonderful day",
    "nobody asked for your opinion, just stop talking",
    "this government has done nothing for the poor people",
    "we will keep fighting for our rights no matter what",
    "did you watch the match yesterday? what a game",
    "the electricity went out again, this is ridiculous",
    "thank you so much for the support, it means a lot",
    "when does the meeting start tomorrow morning?",
    "read the whole article before you comment please",
    "good night everyone, see you at the rally",
]
ROMAN_URDU = [
    "aaj ka jalsa bohat zabardast tha, sab ka shukriya",
    "yeh hukumat awam ke liye kuch nahi kar rahi",
    "kal subah rally kitne baje shuru hogi?",
    "maine kabhi aisa manzar nahi dekha yaar",
    "bhai aap ne bilkul theek kaha hai",
    "yeh sab jhoot hai, pehle khabar parh lo",
    "hum apne haq ke liye awaz uthate rahenge",
    "aaj bohat garmi hai, bahar nikalna mushkil hai",
    "bijli phir chali gayi, kab tak yeh chalega",
    "chup karo, tum se kisi ne nahi poocha",
    "salgirah mubarak ho meri pyari behan",
    "match dekha kal raat? kamal kar diya",
    "allah hum sab ko hidayat de",
    "mehngai ne ghareeb ki kamar tor di hai",
]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[LanguageIdentifier, Path]:
    other = other_split()[0]
    texts = ENGLISH + ROMAN_URDU + other
    labels = ["english"] * len(ENGLISH) + ["roman_urdu"] * len(ROMAN_URDU)
    labels += ["other"] * len(other)
    identifier = fit_identifier(
        texts, labels, {"features": 3_000, "min_df": 1, "other_weight": 0.1}
    )
    directory = tmp_path_factory.mktemp("langid")
    identifier.export(directory)
    return identifier, directory


def test_a_small_identifier_learns_its_training_languages(
    small: tuple[LanguageIdentifier, Path],
) -> None:
    identifier, _ = small
    assert identifier.predict(ENGLISH) == ["english"] * len(ENGLISH)
    assert identifier.predict(ROMAN_URDU) == ["roman_urdu"] * len(ROMAN_URDU)
    assert len(identifier.vocabulary) <= 3_000
    proba = identifier.predict_proba(ENGLISH + ROMAN_URDU)
    assert proba.shape == (len(ENGLISH) + len(ROMAN_URDU), 3)
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_export_and_load_give_identical_predictions(
    small: tuple[LanguageIdentifier, Path],
) -> None:
    identifier, directory = small
    loaded = LanguageIdentifier.load(directory)
    probe = [*ENGLISH, *ROMAN_URDU, *other_split()[1], "", "ok", "آج جلسہ ہے"]
    assert loaded.predict(probe) == identifier.predict(probe)
    assert np.array_equal(loaded.predict_proba(probe), identifier.predict_proba(probe))
    again = LanguageIdentifier.from_arrays(identifier.vocabulary, identifier.to_arrays())
    assert np.array_equal(again.predict_proba(probe), identifier.predict_proba(probe))


def test_training_is_deterministic(small: tuple[LanguageIdentifier, Path], tmp_path: Path) -> None:
    _, directory = small
    other = other_split()[0]
    texts = ENGLISH + ROMAN_URDU + other
    labels = ["english"] * len(ENGLISH) + ["roman_urdu"] * len(ROMAN_URDU)
    labels += ["other"] * len(other)
    fit_identifier(texts, labels, {"features": 3_000, "min_df": 1, "other_weight": 0.1}).export(
        tmp_path
    )
    for name in (ARRAYS, MANIFEST):
        assert (tmp_path / name).read_bytes() == (directory / name).read_bytes()


def test_scores_do_not_depend_on_the_batch_or_the_word_cache(
    small: tuple[LanguageIdentifier, Path],
) -> None:
    _, directory = small
    fresh = LanguageIdentifier.load(directory)
    alone = [fresh.predict_proba([t])[0] for t in ROMAN_URDU]
    together = LanguageIdentifier.load(directory).predict_proba(ENGLISH + ROMAN_URDU)
    assert np.array_equal(np.array(alone), together[len(ENGLISH) :])


HOSTILE: list[object] = [
    "",
    " ",
    "😂😂😂🔥",
    "12345 !!! ???",
    "x" * 100_000,
    "bhai " * 20_000,
    "\ud800 broken \udfff surrogates",
    "\x00\x01 null bytes\x7f",
    "آج کا جلسہ great tha yaar",
    "Привет, как дела? hello",
    "𝓱𝓮𝓵𝓵𝓸 𝔀𝓸𝓻𝓵𝓭",
    "\u200c\u200d\ufeff",
    "@user http://t.co/abc &amp; RT",
    None,
    b"bytes",
    42,
]


@pytest.mark.parametrize("item", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_never_raises(item: object) -> None:
    identifier = committed_identifier()
    labels = identifier.predict([item])  # type: ignore[list-item]
    assert len(labels) == 1 and labels[0] in LABELS
    assert identifier.predict_proba([item]).shape == (1, 3)  # type: ignore[list-item]


def test_items_without_letters_are_other() -> None:
    identifier = committed_identifier()
    assert identifier.predict(["", "😂😂", "123 456", None]) == ["other"] * 4  # type: ignore[list-item]


def test_scripts_decide_the_cheap_cases() -> None:
    assert script_label("آج کا جلسہ بہت زبردست تھا") == "urdu"
    # Arabic by letters Urdu does not use (Arabic yeh and kaf, teh marbuta), no Urdu-only letter.
    assert script_label("شكرا جزيلا على دعمكم يا أصدقاء") == "other"
    assert script_label("السلام علیکم") == "urdu"  # Urdu yeh and keheh
    assert script_label("यह क्या बकवास है") == "other"
    assert script_label("спасибо большое") == "other"
    assert script_label("hello there") is None
    assert script_label("یہ bilkul ghalat baat hai yaar") is None  # mostly Latin: the model


COMMITTED_CASES = {
    "english": [
        "thank you everyone for coming to the rally today",
        "this is the worst government we have ever had",
        "please share this with your friends",
        "i don't understand why people still believe them",
    ],
    "roman_urdu": [
        "bhai aap ne bilkul sahi kaha",
        "yeh kya bakwas hai, sharam karo",
        "kal jalsa kitne baje shuru hoga?",
        "mujhe nahi pata tha ke woh aa rahe hain",
    ],
    "urdu": ["آج کا جلسہ بہت زبردست تھا", "یہ حکومت عوام کے لیے کچھ نہیں کر رہی"],
    "other": [
        "no puedo creer lo que dijo el presidente anoche",
        "muchas gracias a todos por el apoyo, de verdad",
        "je ne comprends pas pourquoi ils votent encore pour eux",
    ],
}


def test_the_committed_identifier_gets_the_obvious_cases_right() -> None:
    identifier = LanguageIdentifier.load(COMMITTED_DIR)
    for language, lines in COMMITTED_CASES.items():
        assert identifier.predict(lines) == [language] * len(lines), language


def test_the_committed_identifier_is_small() -> None:
    size = sum(p.stat().st_size for p in COMMITTED_DIR.glob("langid.*"))
    assert size <= 1_500_000


def _copy(directory: Path, target: Path) -> Path:
    target.mkdir()
    for name in (ARRAYS, MANIFEST):
        (target / name).write_bytes((directory / name).read_bytes())
    return target


def test_a_tampered_array_file_is_refused(tmp_path: Path) -> None:
    copy = _copy(COMMITTED_DIR, tmp_path / "m")
    blob = bytearray((copy / ARRAYS).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (copy / ARRAYS).write_bytes(bytes(blob))
    with pytest.raises(UserError, match="sha256"):
        LanguageIdentifier.load(copy)


def test_a_tampered_vocabulary_is_refused(tmp_path: Path) -> None:
    copy = _copy(COMMITTED_DIR, tmp_path / "m")
    manifest = json.loads((copy / MANIFEST).read_text(encoding="utf-8"))
    manifest["vocabulary"][0], manifest["vocabulary"][1] = (
        manifest["vocabulary"][1],
        manifest["vocabulary"][0],
    )
    (copy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(UserError, match="sha256"):
        LanguageIdentifier.load(copy)


def test_missing_or_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no readable language identifier"):
        LanguageIdentifier.load(tmp_path)
    copy = _copy(COMMITTED_DIR, tmp_path / "m")
    (copy / ARRAYS).unlink()
    with pytest.raises(UserError, match="missing"):
        LanguageIdentifier.load(copy)
    (copy / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError):
        LanguageIdentifier.load(copy)


def test_normalize_drops_handles_links_entities_and_digits() -> None:
    assert normalize("RT @user_1: Don't GO!! http://t.co/x &#128514; 12abc") == [
        "don",
        "t",
        "go",
        "abc",
    ]


def test_other_language_split_holds_out_a_quarter_without_overlap() -> None:
    train, test = other_split(OTHER_FILE)
    assert not set(train) & set(test)
    assert len(test) * 3 <= len(train) + 3 and len(test) >= 50


def test_the_training_annotation_stores_keys_and_languages_only() -> None:
    labels = read_language_labels(RUHSOLD_TRAIN_LANGUAGE)
    assert len(labels) > 100
    assert all(re.fullmatch(r"[0-9a-f]{16}", key) for key in labels)
    assert set(labels.values()) <= set(LABELS)
    assert text_key("abc") == "ba7816bf8f01cfea"


def test_scores_are_the_mean_n_gram_weights_plus_the_intercept(
    small: tuple[LanguageIdentifier, Path],
) -> None:
    identifier, _ = small
    text = "Bhai, aap ne bilkul sahi kaha! 👍"
    known = [identifier.index[g] for g in text_ngrams(text) if g in identifier.index]
    expected = identifier.weights[known].astype(np.float64).sum(axis=0) / len(known)
    expected += identifier.intercept
    assert np.allclose(identifier.decision_function([text])[0], expected)
