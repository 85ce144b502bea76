"""The SMS encoding rules: alphabet choice, segment counts at the limits, cuts between
characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jalsa.mobilize.encoding import (
    GSM_BASIC,
    GSM_EXTENSION,
    PART,
    encode,
    gsm7_decode,
    gsm7_encode,
    plan,
)


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 1),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # 160 septets: each € is an escape pair
        ("€" * 81, "GSM-7", 2),
        ("ی" * 70, "UCS-2", 1),
        ("ی" * 71, "UCS-2", 2),
        ("ی" * 134, "UCS-2", 2),
        ("ی" * 135, "UCS-2", 3),
        ("😀" * 35, "UCS-2", 1),  # 70 code units: each emoji is a surrogate pair
        ("😀" * 36, "UCS-2", 2),
        ("Jalsa kal 8 baje, zaroor aayein! " + "ش", "UCS-2", 1),
    ],
)
def test_encoding_and_segments_at_the_limits(text: str, encoding: str, segments: int) -> None:
    result = plan(text)
    assert (result.encoding, result.segments) == (encoding, segments)


def test_a_cut_never_splits_an_escape_pair_or_a_surrogate_pair() -> None:
    gsm = plan("a" + "€" * 100)  # 201 septets; a cut every 153 bytes would split a pair
    assert all(sum(2 if c in GSM_EXTENSION else 1 for c in p) <= PART["GSM-7"] for p in gsm.parts)
    assert gsm.parts[0].endswith("€") and "".join(gsm.parts) == "a" + "€" * 100
    emoji = plan("a" + "😀" * 40)
    assert all(len(p.encode("utf-16-be")) // 2 <= PART["UCS-2"] for p in emoji.parts)
    assert "".join(emoji.parts) == "a" + "😀" * 40


def test_too_long_a_text_is_refused() -> None:
    with pytest.raises(ValueError, match="255"):
        plan("ی" * (67 * 255 + 1))


def test_gsm7_bytes_are_the_standard_codes() -> None:
    assert gsm7_encode("@A§") == bytes([0x00, 0x41, 0x5F])
    assert gsm7_encode("€") == bytes([0x1B, 0x65])
    with pytest.raises(ValueError):
        gsm7_encode("ی")


@given(st.text(alphabet=st.sampled_from(GSM_BASIC.replace("\x1b", "") + "".join(GSM_EXTENSION))))
def test_gsm7_round_trip(text: str) -> None:
    assert gsm7_decode(gsm7_encode(text)) == text


@given(st.text(max_size=600))
def test_parts_put_back_together_give_the_text(text: str) -> None:
    result = plan(text)
    assert "".join(result.parts) == text
    if result.segments > 1:
        limit = PART["GSM-7"] if result.encoding == "GSM-7" else 2 * PART["UCS-2"]
        assert all(len(encode(part, result.encoding)) <= limit for part in result.parts)
