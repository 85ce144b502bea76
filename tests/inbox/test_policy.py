"""The code of conduct as a policy file: loading (and every kind of bad file), decisions per
category and threshold, severity, language caps, rules, bad input, the reply rule, versions."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jalsa.errors import UserError
from jalsa.inbox.policy import Policy
from jalsa.inbox.policy_file import (
    SHIPPED_VERSIONS,
    default_policy_text,
    load_policy,
    parse_policy,
)
from jalsa.inbox.scores import ModelScores
from jalsa.platforms.inbox_record import CATEGORIES, Finding

POLICY = load_policy()
TERMS = ["#VirtualJalsa", "imran"]


def variant(change: Callable[[dict[str, Any]], None]) -> Policy:
    """The default policy with one change."""
    data = yaml.safe_load(default_policy_text())
    change(data)
    return parse_policy(yaml.safe_dump(data, allow_unicode=True))


def english(**scores: float) -> ModelScores:
    return ModelScores(categories=scores, language="english")


def load_error(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "policy.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as error:
        load_policy(path)
    return str(error.value)


# --- loading ---------------------------------------------------------------------------------


def test_the_default_policy_loads_with_every_category() -> None:
    assert POLICY.version == "2026-12-07.1"
    assert set(POLICY.categories) == set(CATEGORIES)
    assert POLICY.content_hash == SHIPPED_VERSIONS[POLICY.version]
    assert {t.language for t in POLICY.replies.templates} == {"english", "roman_urdu", "urdu"}


def test_a_copy_of_the_default_policy_loads_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(default_policy_text(), encoding="utf-8")
    assert load_policy(path) == POLICY
    assert load_policy(str(path)).content_hash == POLICY.content_hash


def test_off_topic_is_never_hidden_by_default() -> None:
    assert all(t.action != "hide" for t in POLICY.categories["off_topic"].thresholds)


BAD_FILES = [
    ("version: '1'\nname: [unclosed\n", "line 3, column 1: expected ',' or ']'"),
    ("version: '1'\ncategories:\n  abuse: {thresholds: []}\n   harassment: x\n", "line 4"),
    ("- just\n- a list\n", "a policy file is a mapping"),
    ("", "a policy file is a mapping"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_a_file_that_is_not_a_policy_is_one_clear_error(
    tmp_path: Path, text: str, message: str
) -> None:
    assert message in load_error(tmp_path, text)


def edited(old: str, new: str) -> str:
    text = default_policy_text()
    assert old in text
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_an_unknown_category_is_refused_with_its_line(tmp_path: Path) -> None:
    text = edited("  sexism:\n", "  sexizm:\n")
    message = load_error(tmp_path, text)
    assert (
        f"line {line_of(text, 'sexizm')}, categories.sexizm: unknown category 'sexizm'" in message
    )
    assert "the categories are abuse, harassment, hate, sexism, spam" in message


def test_a_missing_category_is_refused(tmp_path: Path) -> None:
    text = default_policy_text()
    start, end = text.index("  sexism:\n"), text.index("  spam:\n")
    message = load_error(tmp_path, text[:start] + text[end:])
    assert f"line {line_of(text, 'categories:')}, categories: missing category: sexism" in message


def test_an_unknown_key_is_refused_with_its_line(tmp_path: Path) -> None:
    text = edited("min_finding_score: 0.30", "min_finding_scor: 0.30")
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, 'min_finding_scor')}, min_finding_scor: unknown key" in message


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    text = edited("name: ", "version: '2'\nname: ")
    message = load_error(tmp_path, text)
    assert "the key 'version' is given twice" in message
    second = line_of(text, "version: '2'")
    assert f"line {second}, column 1: the key 'version' is given twice" in message


def test_an_unquoted_version_gets_a_hint(tmp_path: Path) -> None:
    message = load_error(tmp_path, edited('version: "2026-12-07.1"', "version: 2026-11-23"))
    assert 'line 14, version: the version must be text in quotes, e.g. version: "' in message


def test_a_missing_version_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, edited('version: "2026-12-07.1"\n', ""))
    assert "version: required, but missing" in message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("{score: 0.60, action: review}", "{score: 0.95, action: review}", "highest score down"),
        ("{score: 0.90, action: hide}", "{score: 0.90, action: allow}", "stronger action"),
        ("{score: 0.90, action: hide}", "{score: 1.5, action: hide}", "less than or equal to 1"),
        ("{score: 0.90, action: hide}", "{score: 0.90, action: delete}", "'hide', 'review'"),
        ("    max_action: review\n", "    max_action: ban\n", "languages.urdu.max_action"),
        ("  urdu:\n", "  sindhi:\n", "languages.sindhi"),
        ('text: "Thank you {author}', 'text: "Thank you {name}', "unknown placeholder(s) {name}"),
        ("public_numbers: []", "public_numbers: ['12345']", "not valid phone numbers"),
        ("  classify_bytes: 20480", "  classify_bytes: 40960", "classify_bytes must not be"),
        ("approval_for: [hide, review]", "approval_for: [hide, ask]", "replies.approval_for.1"),
    ],
)
def test_bad_values_are_refused_with_what_to_fix(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = edited(old, new)
    error = load_error(tmp_path, text)
    assert message in error
    assert "line " in error
    assert "Traceback" not in error


def test_a_missing_file_and_a_non_utf8_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such policy file"):
        load_policy(tmp_path / "nope.yaml")
    assert "not UTF-8" in load_error(tmp_path, "version: 'é'".encode("latin-1"))


# --- versions and the content hash ------------------------------------------------------------


def test_the_hash_ignores_comments_and_layout_but_not_rules() -> None:
    reformatted = parse_policy("# a comment\n" + default_policy_text().replace("0.90,", "0.9,"))
    assert reformatted.content_hash == POLICY.content_hash
    stricter = variant(lambda d: d["categories"]["abuse"]["thresholds"][0].update(score=0.8))
    assert stricter.content_hash != POLICY.content_hash


def test_the_shipped_version_edited_without_a_new_version_is_refused(tmp_path: Path) -> None:
    text = edited("{score: 0.90, action: hide}", "{score: 0.80, action: hide}")
    message = load_error(tmp_path, text)
    assert "version '2026-12-07.1' was used before with other rules" in message
    assert "give the edited policy a new version" in message


def test_an_edited_policy_with_a_new_version_loads(tmp_path: Path) -> None:
    text = edited("{score: 0.90, action: hide}", "{score: 0.80, action: hide}")
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace('"2026-12-07.1"', '"2026-11-24.1"'), encoding="utf-8")
    assert load_policy(path).version == "2026-11-24.1"


def test_known_versions_from_the_audit_log(tmp_path: Path, caplog: Any) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(default_policy_text().replace('"2026-12-07.1"', '"team.3"'), "utf-8")
    assert load_policy(path, known_versions={"team.3": POLICY.content_hash}).version == "team.3"
    with pytest.raises(UserError, match=r"'team\.3' was used before"):
        load_policy(path, known_versions={"team.3": "0" * 64})
    with caplog.at_level(logging.WARNING):
        policy = load_policy(path, known_versions={"team.3": "0" * 64}, on_edited="warn")
    assert policy.version == "team.3"
    assert "was used before with other rules" in caplog.text


# --- decisions ---------------------------------------------------------------------------------

THRESHOLDS = [
    ("abuse", 0.95, "hide"),
    ("abuse", 0.90, "hide"),
    ("abuse", 0.89, "review"),
    ("abuse", 0.60, "review"),
    ("abuse", 0.59, "allow"),
    ("harassment", 0.85, "hide"),
    ("harassment", 0.50, "review"),
    ("harassment", 0.49, "allow"),
    ("hate", 0.86, "hide"),
    ("hate", 0.55, "review"),
    ("hate", 0.40, "allow"),
    ("sexism", 0.91, "hide"),
    ("sexism", 0.70, "review"),
    ("sexism", 0.10, "allow"),
    ("spam", 0.85, "hide"),
    ("spam", 0.50, "review"),
    ("off_topic", 0.99, "review"),
    ("off_topic", 0.40, "allow"),
    ("personal_data", 0.90, "hide"),
    ("personal_data", 0.50, "review"),
]


@pytest.mark.parametrize(("category", "score", "action"), THRESHOLDS)
def test_each_category_acts_at_its_thresholds(category: str, score: float, action: str) -> None:
    decision = POLICY.decide("some words", english(**{category: score}), model_version="m-1")
    assert decision.action == action
    assert decision.status == "ok"
    assert decision.policy_version == POLICY.version
    assert decision.model_version == "m-1"
    assert decision.language == "english"
    if score >= POLICY.min_finding_score:
        assert decision.category == category
        assert decision.score == score
        assert decision.findings == [Finding(category=category, score=score, source="model:m-1")]
    else:
        assert decision.category is None
        assert decision.findings == []


def test_nothing_found_is_allowed() -> None:
    decision = POLICY.decide("Zabardast jalsa!", english(abuse=0.02, hate=0.01))
    assert (decision.action, decision.category, decision.score) == ("allow", None, None)
    assert decision.reason == "allow: nothing found"


def test_the_most_severe_action_wins_over_a_higher_score() -> None:
    # hate 0.86 hides; abuse 0.89 only reviews although its score is higher
    decision = POLICY.decide("x", english(abuse=0.89, hate=0.86), model_version="m")
    assert (decision.action, decision.category, decision.score) == ("hide", "hate", 0.86)
    assert {f.category for f in decision.findings} == {"abuse", "hate"}
    assert "also abuse 0.89" in decision.reason


def test_between_equal_actions_the_higher_score_decides() -> None:
    decision = POLICY.decide("x", english(abuse=0.7, sexism=0.8))
    assert (decision.action, decision.category) == ("review", "sexism")


def test_rule_and_model_findings_are_all_recorded() -> None:
    decision = POLICY.decide(
        "tujhe jaan se maar dunga, number 0300-1234567", english(abuse=0.7), model_version="m"
    )
    assert decision.action == "hide"  # the mobile number
    assert decision.category == "personal_data"
    assert sorted(f.source for f in decision.findings) == ["model:m", "rule:phone", "rule:threat"]
    assert "0300-1234567" not in decision.model_dump_json()
    assert "1234567" not in decision.reason


def test_model_aliases_and_unknown_scores() -> None:
    decision = POLICY.decide("x", english(profanity=0.95, sentiment=0.99), model_version="m")
    assert (decision.action, decision.category) == ("hide", "abuse")
    assert [f.category for f in decision.findings] == ["abuse"]
    highest = POLICY.decide("x", english(abusive=0.65, abuse=0.2, threat=0.9))
    assert (highest.action, highest.category) == ("hide", "harassment")
    assert {f.category: f.score for f in highest.findings} == {"abuse": 0.65, "harassment": 0.9}


def test_odd_scores_are_clamped_or_skipped() -> None:
    decision = POLICY.decide("x", english(abuse=math.nan, hate=7.0, sexism=-1.0))
    assert (decision.action, decision.category, decision.score) == ("hide", "hate", 1.0)


def test_plain_score_mappings_with_language_and_status() -> None:
    """The inbox service may pass the classifier's scores as a dict and the rest by keyword."""
    decision = POLICY.decide(
        "x", {"abuse": 0.95}, language="urdu", status="ok", model_version="m", on_topic_terms=()
    )
    assert (decision.action, decision.language) == ("review", "urdu")
    assert POLICY.decide("x", {}, status="error").status == "error"


# --- languages -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["urdu", "mixed", "unknown"])
def test_where_the_model_is_weak_its_scores_alone_never_hide(language: str) -> None:
    decision = POLICY.decide("گالی", ModelScores({"abuse": 0.97}, language=language))
    assert (decision.action, decision.category, decision.language) == ("review", "abuse", language)
    assert f"the model is less sure in {language}: review at most" in decision.reason


def test_roman_urdu_and_english_model_scores_can_hide() -> None:
    for language in ("roman_urdu", "english"):
        assert POLICY.decide("x", ModelScores({"abuse": 0.97}, language=language)).action == "hide"


def test_rules_are_not_capped_by_language() -> None:
    decision = POLICY.decide("میرا شناختی کارڈ 35202-1234567-3", ModelScores({}, language="urdu"))
    assert (decision.action, decision.category) == ("hide", "personal_data")


def test_a_language_can_have_its_own_thresholds() -> None:
    def stricter_roman_urdu(data: dict[str, Any]) -> None:
        data["languages"]["roman_urdu"] = {
            "categories": {"abuse": {"thresholds": [{"score": 0.8, "action": "review"}]}}
        }

    policy = variant(stricter_roman_urdu)
    assert (
        policy.decide("x", ModelScores({"abuse": 0.95}, language="roman_urdu")).action == "review"
    )
    assert policy.decide("x", ModelScores({"abuse": 0.7}, language="roman_urdu")).action == "allow"
    assert policy.decide("x", english(abuse=0.95)).action == "hide"


# --- rules: spam, threats, off-topic ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action", "source"),
    [
        ("Mubarak ho! Aap ka inaam nikla hai, JazzCash pe 500 fee bhejo", "hide", "rule:spam:scam"),
        ("Congratulations you won a prize! send money to easypaisa 0345", "hide", "rule:spam:scam"),
        ("لاٹری جیتنے پر مبارک! رقم بھیجیں جاز کیش پر", "hide", "rule:spam:scam"),
        ("Join our WhatsApp group for updates", "review", "rule:spam:group_invite"),
        ("updates: https://chat.whatsapp.com/AbCdEf123", "review", "rule:spam:group_invite"),
        ("telegram channel join karo t.me/freestuff", "review", "rule:spam:group_invite"),
        ("see http://a.example and http://b.example", "review", "rule:spam:two_links"),
        ("http://a.example http://b.example www.c.example", "review", "rule:spam:many_links"),
        ("lucky draw tonight", "review", "rule:spam:prize"),
        ("donate via easypaisa", "review", "rule:spam:money_request"),
    ],
)
def test_spam_rules(text: str, action: str, source: str) -> None:
    decision = POLICY.decide(text, english(), on_topic_terms=TERMS)
    assert (decision.action, decision.category) == (action, "spam")
    assert source in [f.source for f in decision.findings]


@pytest.mark.parametrize(
    "text",
    [
        "PTI jeetay gi! PTI jeetay gi! PTI jeetay gi! PTI jeetay gi!",
        "Khan Khan Khan Khan Khan Khan Khan Khan Khan",
        "the winner tonight is democracy",
        "watch it live at https://youtube.com/live/abc",
        "پاکستان زندہ باد",
    ],
)
def test_slogans_chants_and_one_link_are_not_spam(text: str) -> None:
    assert POLICY.decide(text, english(), on_topic_terms=TERMS).action == "allow"


@pytest.mark.parametrize(
    "text",
    [
        "main tujhe jaan se maar dunga",
        "tumhe dekh lunga jalsa ke baad",
        "goli maar denge sab ko",
        "I will kill you after the jalsa",
        "we know where you live",
        "میں تمہیں جان سے مار دوں گا",
        "زندہ نہیں چھوڑیں گے",
    ],
)
def test_threats_are_queued_as_harassment(text: str) -> None:
    decision = POLICY.decide(text, english(), on_topic_terms=TERMS)
    assert (decision.action, decision.category, decision.score) == ("review", "harassment", 0.7)


def test_a_violent_word_alone_is_recorded_not_acted_on() -> None:
    decision = POLICY.decide("qatl ka muqadma kab chalega?", english(), on_topic_terms=TERMS)
    assert decision.action == "allow"
    assert [f.source for f in decision.findings] == ["rule:violent_word"]
    assert decision.category == "harassment"  # informative: the strongest finding


def test_off_topic_only_with_event_terms_and_promotion() -> None:
    promo = "Subscribe to my cooking channel!!"
    decision = POLICY.decide(promo, english(), on_topic_terms=TERMS)
    assert (decision.action, decision.category) == ("review", "off_topic")
    assert POLICY.decide(promo + " #VirtualJalsa", english(), on_topic_terms=TERMS).action == (
        "allow"
    )
    assert POLICY.decide(promo + " jalsa", english(), on_topic_terms=TERMS).action == "allow"
    assert POLICY.decide("I disagree with the speech", english(), on_topic_terms=TERMS).action == (
        "allow"
    )
    assert POLICY.decide(promo, english()).action == "allow"  # no event terms: no judgement
    assert POLICY.decide("http://my.shop", english(), on_topic_terms=TERMS).action == "allow"
    assert POLICY.decide(promo + " " + "bla " * 100, english(), on_topic_terms=TERMS).action == (
        "allow"
    )


def test_off_topic_even_at_full_model_score_is_only_reviewed() -> None:
    assert POLICY.decide("x", english(off_topic=1.0)).action == "review"


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t ", None])
def test_empty_items_are_allowed_with_status_empty(text: str | None) -> None:
    decision = POLICY.decide(text, english(abuse=0.99))
    assert (decision.action, decision.status, decision.findings) == ("allow", "empty", [])


def test_a_100_kb_item_is_checked_in_part_and_reviewed() -> None:
    text = ("Zabardast jalsa! " * 6500)[:102_400] + " 0300-1234567"
    assert len(text.encode()) > 100_000
    head = POLICY.text_to_classify(text)
    assert len(head.encode()) <= POLICY.limits.classify_bytes
    decision = POLICY.decide(text, english(abuse=0.1))
    assert (decision.action, decision.status) == ("review", "too_long")
    assert "only the first 20480 bytes were checked" in decision.reason
    assert decision.findings == []  # the number past the first 20 KB was not read


def test_a_long_item_with_a_finding_keeps_the_stronger_action() -> None:
    text = "CNIC 35202-1234567-3 " + "x" * 30_000
    decision = POLICY.decide(text, None)
    assert (decision.action, decision.status, decision.category) == (
        "hide",
        "too_long",
        "personal_data",
    )


def test_a_long_urdu_item_is_cut_at_a_character_boundary() -> None:
    text = "پاکستان " * 5000  # 2-byte letters
    head = POLICY.text_to_classify(text)
    assert text.startswith(head)
    assert len(head.encode()) <= POLICY.limits.classify_bytes


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("😀🔥🇵🇰👏👏👏", "unknown"),
        ("Imran Khan zindabad! عمران خان زندہ باد", "mixed"),
        ("bad\x00bytes\ufffd and \ud800 lone surrogate", "english"),
        ("‮reversed‬ text \u200b\u200d", "english"),
    ],
)
def test_odd_items_get_a_clear_decision(text: str, language: str) -> None:
    decision = POLICY.decide(text, ModelScores({}, language=language, status="ok"))
    assert (decision.action, decision.status, decision.language) == ("allow", "ok", language)


def test_bytes_are_decoded_leniently() -> None:
    assert POLICY.decide(b"\xff\xfe CNIC 35202-1234567-3", None).category == "personal_data"


@pytest.mark.parametrize("status", ["empty", "emoji_only", "no_text"])
def test_nothing_to_read_for_the_model_is_not_an_error(status: str) -> None:
    decision = POLICY.decide("🙏", ModelScores(status=status))
    assert (decision.action, decision.status) == ("allow", "ok")


def test_the_classifiers_own_length_limit_does_not_make_an_item_too_long() -> None:
    decision = POLICY.decide("x" * 6000, ModelScores({"abuse": 0.7}, "english", "too_long"))
    assert (decision.action, decision.status, decision.category) == ("review", "ok", "abuse")
    assert "the classifier scored its first part" in decision.reason
    quiet = POLICY.decide("x" * 6000, ModelScores({"abuse": 0.1}, "english", "too_long"))
    assert (quiet.action, quiet.status) == ("allow", "ok")


def test_a_script_without_a_model_is_read_by_a_person() -> None:
    decision = POLICY.decide("Привет всем", ModelScores(status="unsupported_script"))
    assert (decision.action, decision.status) == ("review", "ok")
    assert "no model for its script" in decision.reason


def test_the_model_version_may_come_with_the_scores() -> None:
    prediction = SimpleNamespace(  # the classifier's Prediction, field for field
        status="ok",
        language="english",
        abusive=0.95,
        categories={"abusive": 0.95, "profanity": 0.97},
        model_version="route-models-7",
    )
    decision = POLICY.decide("x", prediction)
    assert (decision.action, decision.category, decision.model_version) == (
        "hide",
        "abuse",
        "route-models-7",
    )
    assert decision.findings[0].source == "model:route-models-7"


@pytest.mark.parametrize("status", ["error", "invalid", "timeout"])
def test_a_classifier_error_is_reviewed(status: str) -> None:
    decision = POLICY.decide("kuch bhi", ModelScores(status=status), model_version="m")
    assert (decision.action, decision.status) == ("review", "error")
    assert f"the classifier could not read it (status '{status}')" in decision.reason


def test_an_internal_failure_is_reviewed_not_raised() -> None:
    broken: Any = [object()]
    decision = POLICY.decide("hello", english(), personal=broken, model_version="m")
    assert (decision.action, decision.status, decision.model_version) == ("review", "error", "m")
    assert decision.reason.startswith("could not be checked (AttributeError)")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=400),
    scores=st.dictionaries(
        st.sampled_from([*CATEGORIES, "profanity", "abusive", "other"]),
        st.floats(allow_nan=True, allow_infinity=True),
        max_size=4,
    ),
    language=st.sampled_from(["urdu", "roman_urdu", "english", "mixed", "unknown", "klingon"]),
    status=st.sampled_from(["ok", "error", "empty", "too_long", "???"]),
    terms=st.lists(st.text(max_size=10), max_size=3),
)
def test_decide_never_raises(
    text: str, scores: dict[str, float], language: str, status: str, terms: list[str]
) -> None:
    decision = POLICY.decide(
        text, ModelScores(scores, language, status), on_topic_terms=terms, model_version="m"
    )
    assert decision.action in ("hide", "review", "allow")
    assert decision.policy_version == POLICY.version
    assert decision.reason
    reply = POLICY.decide_reply(text, ModelScores(scores, language, status))
    assert reply.needs_approval == (
        reply.decision.action != "allow" or reply.decision.status != "ok"
    )


# --- batches through a classifier --------------------------------------------------------------


class FakeModel:
    """A classifier that scores "idiot" as abuse and fails on "boom"."""

    version = "fake-1"

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def predict(self, texts: Sequence[str]) -> list[ModelScores]:
        self.seen.append(list(texts))
        if any("boom" in t for t in texts):
            raise RuntimeError("model crashed")
        return [
            ModelScores({"abuse": 0.95 if "idiot" in t else 0.05}, language="english")
            for t in texts
        ]


def test_check_many_classifies_and_decides_a_batch() -> None:
    model = FakeModel()
    decisions = POLICY.check_many(["you idiot", "great speech", ""], model, on_topic_terms=TERMS)
    assert [d.action for d in decisions] == ["hide", "allow", "allow"]
    assert [d.status for d in decisions] == ["ok", "ok", "empty"]
    assert {d.model_version for d in decisions} == {"fake-1"}
    assert len(model.seen) == 1


def test_one_item_that_breaks_the_classifier_does_not_stall_the_others() -> None:
    model = FakeModel()
    decisions = POLICY.check_many(["you idiot", "boom", "great speech"], model)
    assert [(d.action, d.status) for d in decisions] == [
        ("hide", "ok"),
        ("review", "error"),
        ("allow", "ok"),
    ]
    assert len(model.seen) == 4  # the batch, then one by one


def test_the_classifier_gets_only_the_first_part_of_a_long_item() -> None:
    model = FakeModel()
    [decision] = POLICY.check_many(["a" * 100_000], model)
    assert len(model.seen[0][0]) == POLICY.limits.classify_bytes
    assert (decision.action, decision.status) == ("review", "too_long")


def test_a_classifier_returning_the_wrong_number_of_results_is_retried_per_item() -> None:
    class Short(FakeModel):
        def predict(self, texts: Sequence[str]) -> list[ModelScores]:
            return super().predict(texts)[:1]

    decisions = POLICY.check_many(["a", "you idiot"], Short())
    assert [d.action for d in decisions] == ["allow", "hide"]


def test_without_a_classifier_the_rules_still_decide() -> None:
    decisions = POLICY.check_many(["CNIC 35202-1234567-3", "hello"])
    assert [d.action for d in decisions] == ["hide", "allow"]
    assert decisions[1].reason == "allow: nothing found; no classifier scores: rules only"
    assert decisions[1].model_version is None


# --- replies -----------------------------------------------------------------------------------


def test_a_clean_reply_can_be_sent() -> None:
    check = POLICY.decide_reply("Shukriya! Jalsa 8 baje shuru hoga.", english(abuse=0.01))
    assert (check.needs_approval, check.decision.action) == (False, "allow")


@pytest.mark.parametrize(
    ("text", "scores"),
    [
        ("you idiot", english(abuse=0.95)),
        ("hmm", english(abuse=0.65)),
        ("call me 0300-1234567", english()),
        ("", english()),
        ("x", ModelScores(status="error")),
    ],
)
def test_a_flagged_reply_needs_a_coordinator(text: str, scores: ModelScores) -> None:
    check = POLICY.decide_reply(text, scores, model_version="m")
    assert check.needs_approval
    assert check.reason.endswith("a coordinator must approve it")
    assert POLICY.needs_approval(check.decision)


def test_the_reply_rule_comes_from_the_policy() -> None:
    lenient = variant(lambda d: d["replies"].update(approval_for=["hide"]))
    assert not lenient.decide_reply("hmm", english(abuse=0.65)).needs_approval
    assert lenient.decide_reply("you idiot", english(abuse=0.95)).needs_approval


def test_templates_render_in_the_item_language() -> None:
    assert POLICY.render_reply("thanks", author="Ayesha") == (
        "Thank you Ayesha for joining us! Please keep the conversation respectful."
    )
    assert POLICY.render_reply("thanks", author="Ali", language="urdu").startswith("شکریہ Ali،")
    assert POLICY.render_reply("thanks", author="{x}", language="klingon").startswith(
        "Thank you {x}"
    )
    assert "{author}" in POLICY.template("conduct_reminder", "roman_urdu")
    with pytest.raises(KeyError):
        POLICY.template("nope")
    with pytest.raises(UserError, match="no reply template named 'nope'"):
        POLICY.render_reply("nope", author="A")
