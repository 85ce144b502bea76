"""The one parser for ids and slugs read from outside: one spelling per number, nothing
that `str.isdigit()` accepts but `int()` does not, nothing out of a row id's range."""

from __future__ import annotations

import pytest

from jalsa.ids import MAX_ID, Ref, is_slug, parse_id, parse_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), ("42", 42), ("2147483647", MAX_ID), ("1000000", 1_000_000)],
)
def test_canonical_ids_are_read(text: str, expected: int) -> None:
    assert parse_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "0",  # below the default minimum
        "01",  # a second spelling of 1
        "001",
        "00",
        "+1",
        "-1",
        " 1",
        "1 ",
        "1\n",
        "1_0",
        "1.0",
        "1e3",
        "0x1",
        "¹",  # '¹'.isdigit() is True; int('¹') raises
        "²³",
        "١",  # Arabic-Indic one: int() reads it as 1
        "１",  # full-width one: int() reads it as 1
        "۱۲",  # Extended Arabic-Indic (Urdu) digits
        "2147483648",  # one past the largest row id
        "99999999999",
        "9" * 5000,  # never converted: int() of a long string is slow, or refused
        "1\x00",
    ],
)
def test_everything_else_is_not_an_id(text: str | None) -> None:
    assert parse_id(text) is None


def test_bounds_are_the_callers() -> None:
    assert parse_id("0", minimum=0) == 0
    assert parse_id("00", minimum=0) is None
    assert parse_id("100000", maximum=100_000) == 100_000
    assert parse_id("100001", maximum=100_000) is None


def test_slugs_are_lower_case_ascii_and_bounded() -> None:
    assert is_slug("pti-virtual-jalsa")
    assert is_slug("2024")
    assert is_slug("a" * 80)
    for text in ["", "-rally", "Rally", "rally/1", "jalsa\x00", "جلسہ", "a" * 81, "ralLy", None]:
        assert not is_slug(text), text


def test_a_ref_is_a_slug_and_maybe_an_id() -> None:
    assert parse_ref("rally") == Ref("rally", None)
    assert parse_ref("7") == Ref("7", 7)  # a slug first ('2024' may be one), then an id
    assert parse_ref("01") == Ref("01", None)  # the slug '01' if there is one; never id 1
    assert parse_ref("¹").empty
    assert parse_ref("../etc").empty
    assert parse_ref("x" * 10_000).empty
