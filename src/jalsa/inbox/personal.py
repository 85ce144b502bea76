"""Personal data in a comment or reply: phone numbers and CNIC numbers.

Posting someone's number or CNIC in a public chat is doxxing, so the code of conduct treats it as
its own category. A finding's `detail` carries the number MASKED: the full number is never
stored, logged or shown, not even to moderators (they see the item on the platform if needed).
"""

from __future__ import annotations

import re
from collections.abc import Collection

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher, PhoneNumberType

from jalsa.platforms.inbox_record import Finding

# Extended Arabic-Indic digits (Urdu) and Arabic-Indic digits, to ASCII; one char for one char,
# so positions stay the same.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")

# Scores the policy's thresholds act on (see default_policy.yaml): a CNIC or a mobile number is
# almost surely someone's own; a landline is often an office's, so it is only queued for review.
CNIC_SCORE = 1.0
CNIC_UNDASHED_SCORE = 0.95
MOBILE_SCORE = 0.95
LANDLINE_SCORE = 0.6

# A CNIC as printed on the card: 5 digits (locality), 7 digits, 1 check digit (gender).
_CNIC = re.compile(r"(?<![\d-])\d{5}-\d{7}-\d(?![\d-])")
# 13 digits in a row are only a CNIC when the text says so nearby (an order number, a bank
# account or a transaction id is 13 digits too).
_DIGIT_RUN_13 = re.compile(r"(?<!\d)\d{13}(?!\d)")
_CNIC_CUES = re.compile(
    r"(?i)\b(cnic|nic|id\s*card|identity\s*card|shanakhti|shanakhti\s*card|nadra)\b"
    r"|شناختی|نادرا|آئی\s*ڈی\s*کارڈ"
)
_CUE_WINDOW = 40  # characters before or after the digits

_PERSONAL_TYPES = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.VOIP,
    PhoneNumberType.PAGER,
}


def normalise_digits(text: str) -> str:
    """Urdu and Arabic digits as ASCII digits (same length)."""
    return text.translate(_DIGITS)


def mask_cnic(digits: str) -> str:
    """`35202-*******-*`: the locality code is not identifying on its own."""
    return f"{digits[:5]}-*******-*"


def mask_phone(e164: str) -> str:
    """`+92300*****67`: country and operator (or area) code, the last two digits, no more."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "*" * len(e164)
    national = phonenumbers.national_significant_number(parsed)
    code = phonenumbers.length_of_national_destination_code(parsed)
    hidden = max(len(national) - code - 2, 0)
    return f"+{parsed.country_code}{national[:code]}{'*' * hidden}{national[code + hidden :]}"


def phone_key(number: str) -> str | None:
    """The E.164 form of a number (Pakistani when it has no country code), or None if invalid.
    The policy's list of the team's public numbers is compared in this form."""
    try:
        parsed = phonenumbers.parse(normalise_digits(number), "PK")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def find_personal_data(text: str, *, public_numbers: Collection[str] = ()) -> list[Finding]:
    """Phone and CNIC numbers in `text`, masked. `public_numbers` (E.164) are the team's own
    published numbers (a helpline), which are not personal data."""
    text = normalise_digits(text)
    findings: list[Finding] = []
    # CNICs first, then blanked out, so the phone matcher never reads a part of one.
    for match in _CNIC.finditer(text):
        findings.append(_cnic_finding(match.group().replace("-", ""), "rule:cnic", CNIC_SCORE))
    for match in _DIGIT_RUN_13.finditer(text):
        around = text[max(match.start() - _CUE_WINDOW, 0) : match.end() + _CUE_WINDOW]
        if _CNIC_CUES.search(around):
            findings.append(_cnic_finding(match.group(), "rule:cnic", CNIC_UNDASHED_SCORE))
    blanked = _DIGIT_RUN_13.sub(_blank, _CNIC.sub(_blank, text))
    for phone in PhoneNumberMatcher(blanked, "PK", leniency=Leniency.VALID):
        kind = phonenumbers.number_type(phone.number)
        if kind not in _PERSONAL_TYPES:
            continue  # toll-free, premium, UAN: businesses' numbers
        e164 = phonenumbers.format_number(phone.number, PhoneNumberFormat.E164)
        if e164 in public_numbers:
            continue
        landline = kind == PhoneNumberType.FIXED_LINE
        region = phonenumbers.region_code_for_number(phone.number) or "??"
        what = "landline" if landline else "phone"
        findings.append(
            Finding(
                category="personal_data",
                score=LANDLINE_SCORE if landline else MOBILE_SCORE,
                source="rule:phone",
                detail=f"{what} number ({region}) {mask_phone(e164)}",
            )
        )
    return findings


def _cnic_finding(digits: str, source: str, score: float) -> Finding:
    return Finding(
        category="personal_data", score=score, source=source, detail=f"CNIC {mask_cnic(digits)}"
    )


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())
