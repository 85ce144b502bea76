"""What an inbound message asks for: to stop messages, for help, or to start again.

The whole message (trimmed, case and punctuation ignored) must be a keyword, as carriers'
rules have it, so "please don't stop the rally" stays a message and not an opt-out. The Urdu
words are the ones people write in Urdu script and in Roman Urdu.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Keyword = Literal["stop", "help", "start", "none"]

KEYWORDS: dict[str, Keyword] = {}
for _word in (
    "stop",
    "stopall",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "band",
    "band karo",
    "band karein",
    "band karen",
    "ruko",
    "mat bhejo",
    "بند",
    "بند کرو",
    "بند کریں",
    "رکو",
    "مت بھیجو",
    "مت بھیجیں",
):
    KEYWORDS[_word] = "stop"
for _word in ("help", "info", "madad", "مدد", "معلومات"):
    KEYWORDS[_word] = "help"
for _word in ("start", "unstop", "shuru", "شروع"):
    KEYWORDS[_word] = "start"


# Arabic letters that keyboards type in place of Urdu ones (kaf, yeh, heh).
_URDU_LETTERS = str.maketrans({"ك": "ک", "ي": "ی", "ى": "ی", "ه": "ہ"})


def normalize(text: str) -> str:
    """Lower case, compatibility forms folded (Arabic presentation forms, full-width letters),
    Arabic letters read as their Urdu forms, punctuation and extra spaces dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_URDU_LETTERS)
    cleaned = re.sub(r"[^\w\s]", " ", folded)
    return " ".join(cleaned.split())


def keyword(text: str) -> Keyword:
    return KEYWORDS.get(normalize(text), "none")
