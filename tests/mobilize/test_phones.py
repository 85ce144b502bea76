from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jalsa.mobilize.phones import SMS_TYPES, InvalidPhone, normalize, timezone_of

# The operator codes of Pakistani mobiles (the numbering plan: 3[0-247]x, 33[0-79], 355, 364).
PK_MOBILE_CODES = [
    *(f"3{d}{u}" for d in "01247" for u in "0123456789"),
    *(f"33{u}" for u in "012345679"),
    "355",
    "364",
]


@pytest.mark.parametrize(
    "raw",
    [
        "0300-1234567",
        "03001234567",
        "+92 300 1234567",
        "+92-300-1234567",
        "923001234567",
        "0092 300 1234567",
        "00923001234567",
        "(0300) 123 4567",
        "  0300.123.4567 ",
        "+92 (0)300 1234567",
    ],
)
def test_common_spellings_of_one_number_are_one_e164(raw: str) -> None:
    assert normalize(raw) == "+923001234567"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "no phone number"),
        ("abc", "not a phone number"),
        ("0300123", "too short"),
        ("030012345678", "not a valid number for PK"),
        ("042-35761234", "not a mobile number"),  # a Lahore landline
        ("0800-12345", "not a mobile number"),  # toll-free
        ("03001234567 ext 12", "has an extension: not a mobile number"),
    ],
)
def test_invalid_numbers_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhone, match=f"^{reason}$"):
        normalize(raw)
    assert issubclass(InvalidPhone, ValueError)


def test_numbers_of_other_countries_are_kept_when_written_with_their_code() -> None:
    assert normalize("+44 7911 123456") == "+447911123456"
    assert normalize("0044 7911 123456") == "+447911123456"
    # Without a code a number is read in the region asked for.
    assert normalize("07911 123456", region="GB") == "+447911123456"
    with pytest.raises(InvalidPhone, match="not a mobile number"):
        normalize("+44 20 7946 0958")  # a London landline


def test_timezone_only_when_the_number_has_one() -> None:
    assert timezone_of("+923001234567") == "Asia/Karachi"
    assert timezone_of("+447911123456") is None  # London, Guernsey, Jersey, Isle of Man
    assert timezone_of("not a number") is None


def _formatted(code: str, rest: str, style: int, sep: str) -> str:
    """A Pakistani mobile the way people write it: with 0, 92, +92 or 0092 in front, and
    the digits grouped by `sep`."""
    prefix = ["0", "92", "+92", "0092", "+92 "][style]
    body = f"{code}{sep}{rest[:3]}{sep}{rest[3:]}" if sep else code + rest
    if style == 0 and sep == " ":
        body = f"({code}) {rest}"
    return prefix + body


@given(
    code=st.sampled_from(PK_MOBILE_CODES),
    rest=st.text(alphabet="0123456789", min_size=7, max_size=7),
    style=st.integers(0, 4),
    sep=st.sampled_from(["", " ", "-", "."]),
    pad=st.sampled_from(["", " ", "\t"]),
)
def test_any_pk_mobile_in_any_common_formatting_is_one_e164(
    code: str, rest: str, style: int, sep: str, pad: str
) -> None:
    raw = pad + _formatted(code, rest, style, sep) + pad
    assert normalize(raw) == f"+92{code}{rest}"
    assert timezone_of(normalize(raw)) == "Asia/Karachi"


def _by_the_parser(raw: str, region: str) -> str | None:
    """What phonenumbers' full parser makes of `raw`: the E.164 of a mobile, else None."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if number.extension or phonenumbers.number_type(number) not in SMS_TYPES:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _normalized(raw: str, region: str) -> str | None:
    try:
        return normalize(raw, region)
    except InvalidPhone:
        return None


@given(
    lead=st.sampled_from(["", "0", "00", "+", "+92", "0092", "92", "+920", "+44", "0044", "1"]),
    digits=st.one_of(
        st.tuples(
            st.sampled_from(PK_MOBILE_CODES), st.text("0123456789", min_size=7, max_size=7)
        ).map("".join),
        st.text("0123456789", min_size=1, max_size=14),
    ),
    sep=st.sampled_from(["", " ", "-"]),
    region=st.sampled_from(["PK", "GB", "US", "AE"]),
)
def test_the_quick_path_agrees_with_the_full_parser(
    lead: str, digits: str, sep: str, region: str
) -> None:
    raw = lead + sep + digits[:3] + sep + digits[3:]
    assert _normalized(raw, region) == _by_the_parser(raw, region)
