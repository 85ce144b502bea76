"""How a text travels as SMS: in the GSM 7-bit alphabet when every character is in it, else in
UCS-2; how many segments that takes; and where a long text is cut into parts.

The one place these rules live: the campaign preview counts segments with them and the SMPP
gateway cuts its parts with them, so the cost shown is the cost paid. Parts are cut between
characters: never inside a GSM escape pair (a character of the extension table takes two
septets) or a UTF-16 surrogate pair (an emoji), which the common recipe of cutting every 153
bytes gets wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 default alphabet, in code order (0x00-0x7F); 0x1B is the escape to the extension.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>"
    "?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each of these is sent as ESC + its code, two septets.
GSM_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_BASIC_CODE = {char: code for code, char in enumerate(GSM_BASIC) if char != "\x1b"}
_EXTENSION_CHAR = {code: char for char, code in GSM_EXTENSION.items()}

# Capacity of one message, and of each part of a concatenated one (the 6-byte header takes the
# rest), in the encoding's units: septets for GSM-7, UTF-16 code units for UCS-2.
SINGLE = {"GSM-7": 160, "UCS-2": 70}
PART = {"GSM-7": 153, "UCS-2": 67}
MAX_PARTS = 255  # the concatenation header counts parts in one byte


@dataclass(frozen=True)
class Plan:
    """How a text is sent: its encoding, its length in that encoding's units, and its parts
    (one part: no concatenation header)."""

    encoding: Encoding
    units: int
    parts: tuple[str, ...]

    @property
    def segments(self) -> int:
        return len(self.parts)


def is_gsm7(text: str) -> bool:
    return all(char in _BASIC_CODE or char in GSM_EXTENSION for char in text)


def _units(char: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if char in GSM_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def plan(text: str) -> Plan:
    """The encoding, length and parts of `text`. Refuses (ValueError) a text longer than 255
    parts, which no phone can put back together."""
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    units = sum(_units(char, encoding) for char in text)
    if units <= SINGLE[encoding]:
        return Plan(encoding, units, (text,))
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        size = _units(char, encoding)
        if used + size > PART[encoding]:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    parts.append("".join(current))
    if len(parts) > MAX_PARTS:
        raise ValueError(f"the text needs {len(parts)} SMS parts; at most {MAX_PARTS} can be sent")
    return Plan(encoding, units, tuple(parts))


def gsm7_encode(text: str) -> bytes:
    """GSM-7 text as unpacked septets, one per byte (SMPP data_coding 0). ValueError for a
    character outside the alphabet."""
    out = bytearray()
    for char in text:
        if char in _BASIC_CODE:
            out.append(_BASIC_CODE[char])
        elif char in GSM_EXTENSION:
            out += bytes((0x1B, GSM_EXTENSION[char]))
        else:
            raise ValueError(f"{char!r} is not in the GSM 7-bit alphabet")
    return bytes(out)


def gsm7_decode(data: bytes) -> str:
    """Unpacked GSM-7 septets back to text; an unknown escape gives a space, as phones do."""
    out: list[str] = []
    escaped = False
    for byte in data:
        if escaped:
            out.append(_EXTENSION_CHAR.get(byte, " "))
            escaped = False
        elif byte == 0x1B:
            escaped = True
        else:
            out.append(GSM_BASIC[byte & 0x7F])
    return "".join(out)


def encode(part: str, encoding: Encoding) -> bytes:
    """A part's bytes on the wire: GSM-7 septets or UTF-16 big-endian."""
    return gsm7_encode(part) if encoding == "GSM-7" else part.encode("utf-16-be")
