"""Personal data: Pakistani phone numbers in the formats people type, CNIC numbers, Urdu digits;
always masked; no findings on prices, years, times and dates."""

from __future__ import annotations

import pytest

from jalsa.inbox.personal import (
    CNIC_SCORE,
    CNIC_UNDASHED_SCORE,
    LANDLINE_SCORE,
    MOBILE_SCORE,
    find_personal_data,
    mask_phone,
    normalise_digits,
    phone_key,
)

MOBILES = [
    "0300-1234567",
    "0300 1234567",
    "03001234567",
    "+92 300 1234567",
    "+92-300-1234567",
    "+923001234567",
    "0092 300 1234567",
    "92-300-1234567",
    "(0300) 1234567",
    "۰۳۰۰۱۲۳۴۵۶۷",  # Urdu digits
    "۰۳۰۰-۱۲۳۴۵۶۷",
]


@pytest.mark.parametrize("number", MOBILES)
def test_mobile_numbers_in_many_formats_are_found_and_masked(number: str) -> None:
    [finding] = find_personal_data(f"mera number {number} hai, call karo")
    assert finding.category == "personal_data"
    assert finding.source == "rule:phone"
    assert finding.score == MOBILE_SCORE
    assert finding.detail == "phone number (PK) +92300*****67"
    assert "1234567" not in finding.detail


@pytest.mark.parametrize("number", ["042 35761234", "(042) 3576-1234", "051-9204567"])
def test_landlines_are_found_with_a_lower_score(number: str) -> None:
    [finding] = find_personal_data(f"office: {number}")
    assert finding.score == LANDLINE_SCORE
    assert finding.detail.startswith("landline number (PK) +92")
    assert finding.detail.count("*") >= 5


def test_several_numbers_in_one_text() -> None:
    findings = find_personal_data("0312 1234567 aur 0333-7654321 pe rabta karein")
    assert [f.detail for f in findings] == [
        "phone number (PK) +92312*****67",
        "phone number (PK) +92333*****21",
    ]


def test_a_foreign_mobile_is_personal_data_too() -> None:
    [finding] = find_personal_data("UK wala number +44 7911 123456")
    assert finding.source == "rule:phone"
    assert "123456" not in finding.detail


def test_toll_free_and_uan_numbers_are_businesses_not_people() -> None:
    assert find_personal_data("helpline 0800-12345, UAN 111-123-456") == []


def test_public_numbers_of_the_team_are_not_personal_data() -> None:
    public = {"+923001234567"}
    assert find_personal_data("0300-1234567 pe sawal bhejein", public_numbers=public) == []
    assert len(find_personal_data("0301-1234567", public_numbers=public)) == 1


@pytest.mark.parametrize(
    "text",
    [
        "CNIC 35202-1234567-3",
        "35202-1234567-3",
        "mera shanakhti card ۳۵۲۰۲-۱۲۳۴۵۶۷-۳ hai",
    ],
)
def test_cnic_with_dashes_is_found_and_masked(text: str) -> None:
    [finding] = find_personal_data(text)
    assert finding.source == "rule:cnic"
    assert finding.score == CNIC_SCORE
    assert finding.detail == "CNIC 35202-*******-*"


@pytest.mark.parametrize(
    "text",
    [
        "my CNIC is 3520212345673",
        "shanakhti card number: 3520212345673",
        "3520212345673 (NADRA)",
        "شناختی کارڈ ۳۵۲۰۲۱۲۳۴۵۶۷۳",
    ],
)
def test_thirteen_digits_are_a_cnic_only_next_to_the_word(text: str) -> None:
    [finding] = find_personal_data(text)
    assert finding.score == CNIC_UNDASHED_SCORE
    assert finding.detail == "CNIC 35202-*******-*"


@pytest.mark.parametrize(
    "text",
    [
        "order 3520212345673 shipped",  # 13 digits, no CNIC cue
        "1500 rupay ka ticket",
        "Rs. 1,500,000 ka nuqsan",
        "2023 ka jalsa",
        "10:30 baje shuru hoga",
        "17-12-2023 10:30",
        "12/12/2023",
        "2023-12-17T20:00",
        "price 25000",
        "1234567",
        "35202-1234567",  # only two parts
        "352021-1234567-3",  # six digits first
        "35202-1234567-33",
        "version 1.2.3, 99999999999 likes",
        "",
        "😀🔥🇵🇰",
    ],
)
def test_no_false_positives_on_prices_years_times_and_dates(text: str) -> None:
    assert find_personal_data(text) == []


def test_the_full_number_is_never_in_a_finding() -> None:
    text = "0321-9876543 aur CNIC 61101-7654321-9 aur +92 345 1112233"
    findings = find_personal_data(text)
    assert len(findings) == 3
    for finding in findings:
        for secret in ("9876543", "7654321", "1112233", "3219876543", "3451112233"):
            assert secret not in finding.detail
            assert secret not in finding.model_dump_json()


def test_a_cnic_is_not_also_read_as_a_phone_number() -> None:
    assert [f.source for f in find_personal_data("34101-3001234-5")] == ["rule:cnic"]


def test_helpers() -> None:
    assert normalise_digits("۰۱۲۳۴۵۶۷۸۹ ٠١٢") == "0123456789 012"
    assert mask_phone("+923001234567") == "+92300*****67"
    assert mask_phone("+447911123456") == "+447911****56"
    assert mask_phone("+92519204567") == "+9251*****67"
    assert mask_phone("garbage") == "*******"
    assert phone_key("0300-1234567") == "+923001234567"
    assert phone_key("12345") is None
    assert phone_key("not a number") is None
