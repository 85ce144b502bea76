"""The parts of SMPP 3.4 the SMSC simulator reads and writes itself, beside `smpp34`: command
ids and statuses its front door looks at, PDU headers and C-octet-strings, whole PDUs off a
stream, the concatenation header of a long message's parts, and short message text (GSM-7,
UCS-2, Latin-1)."""

from __future__ import annotations

import asyncio
import struct
from datetime import datetime

from jalsa.mobilize.encoding import gsm7_decode, gsm7_encode, is_gsm7

BIND_IDS = {0x00000001, 0x00000002, 0x00000009}  # bind_receiver, _transmitter, _transceiver
SUBMIT_SM, SUBMIT_SM_RESP, ENQUIRE_LINK = 0x00000004, 0x80000004, 0x00000015
ESME_RINVPASWD, ESME_RINVSYSID = 0x0000000E, 0x0000000F
ESM_UDHI = 0x40
ESM_RECEIPT = 0x04
# SMPP 3.4 message_state values (5.2.28) for the receipt's message_state TLV.
MESSAGE_STATE = {"DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "REJECTD": 8}


def decode_text(data: bytes, data_coding: int) -> str:
    """The text of a short message: UCS-2 (8), Latin-1 (3) or unpacked GSM-7 (0 and others)."""
    if data_coding == 8:
        return data.decode("utf-16-be", errors="replace")
    if data_coding == 3:
        return data.decode("latin-1")
    return gsm7_decode(data)


def split_udh(data: bytes) -> tuple[tuple[int, int, int] | None, bytes]:
    """The concatenation header (reference, total, sequence) of a part with UDHI set, and the
    payload after the whole UDH. Handles the 8-bit (IEI 0) and 16-bit (IEI 8) references."""
    if not data:
        return None, data
    udh_end = 1 + data[0]
    pos, concat = 1, None
    while pos + 1 < udh_end:
        iei, length = data[pos], data[pos + 1]
        value = data[pos + 2 : pos + 2 + length]
        if iei == 0x00 and length == 3:
            concat = (value[0], value[1], value[2])
        elif iei == 0x08 and length == 4:
            concat = ((value[0] << 8) | value[1], value[2], value[3])
        pos += 2 + length
    return concat, data[udh_end:]


def cstrings(body: bytes, count: int) -> list[str]:
    """The first `count` C-octet-strings of a PDU body."""
    parts = body.split(b"\0", count)
    return [part.decode("latin-1") for part in parts[:count]]


def pdu_header(pdu: bytes) -> tuple[int, int, int]:
    """command_id, command_status and sequence_number of a PDU."""
    _length, command_id, status, sequence = struct.unpack(">LLLL", pdu[:16])
    return command_id, status, sequence


def valid_address(address: str) -> bool:
    """An international number without its +: 6 to 15 digits."""
    return address.isdigit() and 6 <= len(address) <= 15


def smpp_time(at: datetime) -> str:
    """The receipt's YYMMDDhhmm date."""
    return at.strftime("%y%m%d%H%M")


def encode_text(text: str) -> tuple[int, bytes]:
    """Text as unpacked GSM-7 (data_coding 0) when every character is in the alphabet, else
    UCS-2 (data_coding 8)."""
    return (0, gsm7_encode(text)) if is_gsm7(text) else (8, text.encode("utf-16-be"))


async def read_pdu(reader: asyncio.StreamReader) -> bytes | None:
    """One whole PDU, or None at the end of the stream."""
    try:
        head = await reader.readexactly(4)
        (length,) = struct.unpack(">L", head)
        return head + await reader.readexactly(length - 4)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
