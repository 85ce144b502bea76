"""Hostile claims and SMS templates: a claimed figure's text and a campaign's template are
written by people; reading them raises UserError at most, never anything else, and the output
is bounded by the input."""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from jalsa.errors import UserError
from jalsa.mobilize.templates import FIELDS, Templates
from jalsa.report.claims import check_claim, parse_number
from reportkit import sample_audience

NUMBERISH = st.text(alphabet="0123456789.,  ", min_size=1, max_size=40)
WORDS = st.sampled_from(
    ["million", "m", "lakh", "crore", "mil", "k", "views", "on", "Facebook", "FB", "YouTube",
     "X Space", "listeners", "watching", "reached", "unique", "total", "\ud800", "\u0660"]
)  # fmt: skip
CLAIM = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(NUMBERISH, WORDS), max_size=8).map(" ".join),
)


AUDIENCE = sample_audience()


@settings(max_examples=300, deadline=None)
@given(CLAIM)
@example("9" * 400 + " million views on Facebook")  # past a float's range
@example("1" + ",000" * 2000 + " views on YouTube")
@example("4 million \ud800 views on FB")
@example("0 views on Facebook")
def test_claims(text: str) -> None:
    value = parse_number(text)
    assert value is None or (math.isfinite(value) and value >= 0)
    check = check_claim(text, AUDIENCE)
    assert check.claim == text
    if check.ratio is not None:
        assert math.isfinite(check.ratio)


TEMPLATE = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.sampled_from(FIELDS).map(lambda f: "{" + f + "}"),
        st.tuples(st.sampled_from(FIELDS), st.text(max_size=10)).map(
            lambda p: "{" + p[0] + "|" + p[1] + "}"
        ),
        st.sampled_from(["{", "}", "{unknown}", "{name|", "\ud800", "{{name}}"]),
    ),
    max_size=10,
).map("".join)
VALUES = st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=30), max_size=len(FIELDS))


@settings(max_examples=300, deadline=None)
@given(TEMPLATE, TEMPLATE, VALUES, st.sampled_from(["ur", "en", "pa", ""]))
@example("{name|dost} \ud800", "", {"name": "\udfff"}, "ur")
@example("{", "", {}, "en")
@example("{name|{x}}", "", {}, "ur")
def test_templates(ur: str, en: str, values: dict[str, str], language: str) -> None:
    try:
        templates = Templates.checked({"ur": ur, "en": en})
    except UserError:
        return
    text, used = templates.render(language, values)
    assert used in templates.texts
    assert len(text) <= len(templates.texts[used]) + sum(len(v) for v in values.values()) * (
        templates.texts[used].count("{") or 1
    )
    assert "{" not in text.replace("{", "", sum(v.count("{") for v in values.values()))
