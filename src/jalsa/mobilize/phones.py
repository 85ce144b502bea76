"""Phone numbers of supporters: one spelling (E.164, "+923001234567") for every way people
write them, so that the same person imported from two lists is one supporter and an opt-out
matches whatever form the number came in.

Numbers without a country code are read as numbers of `region` (Pakistan by default); numbers
with one ("+44 7911 123456", "0044 ...") are taken from any country, as supporters abroad
count too. Only mobile numbers are accepted: an SMS to a landline is money spent on nothing.
"""

from __future__ import annotations

import functools

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult
from phonenumbers import timezone as number_zones

# FIXED_LINE_OR_MOBILE: countries (the US, ...) whose numbers do not tell the two apart.
SMS_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

_LENGTH_REASONS = {
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too short",  # a landline without its area code
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
}


class InvalidPhone(ValueError):
    """A number that cannot receive our SMS; the message is a short reason for a person."""


def normalize(raw: str, region: str = "PK") -> str:
    """`raw` as E.164. Spaces, dashes, dots and parentheses are ignored; "0300-1234567",
    "+92 300 1234567", "923001234567" and "0092 300 1234567" are all "+923001234567"."""
    text = raw.strip()
    if not text:
        raise InvalidPhone("no phone number")
    quick = _quick(text, region)
    if quick is not None:
        return quick
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        raise InvalidPhone("not a phone number") from None
    if number.extension:
        raise InvalidPhone("has an extension: not a mobile number")
    # number_type does the full validation (is_valid_number is number_type != UNKNOWN), once.
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN:
        raise InvalidPhone(_invalid_reason(number))
    if kind not in SMS_TYPES:
        raise InvalidPhone("not a mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _quick(text: str, region: str) -> str | None:
    """The E.164 of the usual spellings of a mobile of `region` ("0300-1234567", "+92 300
    1234567", "0092 ..."), without phonenumbers' parser: parsing is most of an import's time.
    The national number is cut off by hand and phonenumbers still decides that it is a mobile;
    anything else (None) goes through the full parser, which also gives the reasons."""
    leads = _leads(region)
    compact = text.translate(_SEPARATORS)
    lead = next((lead for lead in leads if compact.startswith(lead)), None)
    if lead is None:
        return None
    national = compact[len(lead) :]
    if not (national.isascii() and national.isdigit()) or national.startswith("0"):
        return None
    number = phonenumbers.PhoneNumber(
        country_code=phonenumbers.country_code_for_region(region), national_number=int(national)
    )
    if phonenumbers.number_type(number) not in SMS_TYPES:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_SEPARATORS = str.maketrans("", "", " -.()\t")


@functools.cache
def _leads(region: str) -> tuple[str, ...]:
    """What comes before the national number of `region`: "+92", "0092" (where the
    international prefix is 00), then the national prefix "0"; longest first, the order they
    are tried in. Empty for a region whose numbers are not that simple (no metadata, or a
    national prefix with rules), which always take the full parser."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.national_prefix_transform_rule:
        return ()
    code = str(metadata.country_code)
    leads = ["+" + code]
    if metadata.international_prefix == "00":
        leads.append("00" + code)
    prefix = metadata.national_prefix
    if prefix and prefix.isdigit() and metadata.national_prefix_for_parsing in (None, prefix):
        leads.append(prefix)
    return tuple(leads)


def _invalid_reason(number: phonenumbers.PhoneNumber) -> str:
    """Why a parsed number is not valid: its length when that is the problem, else which
    country's numbering plan it does not fit."""
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in _LENGTH_REASONS:
        return _LENGTH_REASONS[possible]
    country = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return f"not a valid number for {country}"


def timezone_of(e164: str) -> str | None:
    """The time zone of a number's area when there is exactly one (every Pakistani number:
    Asia/Karachi), else None: the caller falls back to the campaign's zone rather than guess
    between, say, the four zones of a UK mobile."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None
    zones = number_zones.time_zones_for_number(number)
    if len(zones) != 1 or zones[0] == number_zones.UNKNOWN_TIMEZONE:
        return None
    return str(zones[0])
