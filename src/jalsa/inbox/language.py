"""Language routing for the moderation classifier: Urdu script, Roman Urdu, English.

Comments in a Pakistani rally's chat come in Urdu script, in Roman Urdu (Urdu written in Latin
letters, freely mixed with English) and in English. Scripts are counted letter by letter (Urdu
script, mixed scripts, another script); Latin text is told apart by the character n-gram
language identifier (`langid.py`: English, Roman Urdu or another language, 0.99 accuracy on a
mixed held-out set against 0.97 for word lists; benchmarks/RESULTS.md). Latin text in another
language is `unknown`: still scored, but never hidden on the model's word alone.

The small lists of function words below are the fallback when the identifier's files cannot be
read (a damaged install): words frequent in one language and rare in the other; words common to
both ("to", "me", "is", "us", "hi", "he") are on neither list.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

from jalsa.errors import UserError

log = logging.getLogger(__name__)

Route = Literal["urdu", "roman_urdu", "english", "mixed", "unknown"]
ROUTES: tuple[Route, ...] = ("urdu", "roman_urdu", "english", "mixed", "unknown")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# A script is dominant when it has this share of the letters; below it, both scripts are mixed.
DOMINANT_SHARE = 0.8

# Roman Urdu function words and very common words, with their usual spelling variants. None of
# them is an ordinary English word: words such as "the" (Urdu "they were"), "do", "or", "say",
# "main", "ho", "b", "to", "is", "in", "us", "he" are common in both languages and are on
# neither list (checked against the Davidson tweets: each listed word occurs in under 0.5%).
ROMAN_URDU_WORDS = _words(
    """
    hai hain hay hy hei hae hn hun hoon hona hota hoti hote huwa hua hui huay hue tha thi thay thy
    nahi nahin nai nhi nahe nhn kya kia kyun kyon kiun kyu kab kahan kaha kaise kese kaisay kesy
    kaun kon koi kuch kuj ka ki ke ko se sy sey mein mai mei mn mujhe mujhy mjhe mera meri mere
    tera teri tere tumhara tumhari apna apni apne aap ap tum tu tujhe hum ham hamara humara yeh
    woh wo voh aur bhi sab sirf bohat bohot bahut bht boht acha achha acchi achi theek thik abhi
    jab phir phr agar lekin magar kyunke wala wali wale walay pe pr tak liye liay lye kar kr karo
    kro karna krna karte krte kiya gaya gya gayi gai raha rha rahi rhi rahe rhe sakta skta jata
    jaata jati jate diya dia dena lena hoga hogi honge jis jin unka unki unke iska iski iske uska
    uski uske inko unko isko usko yahan wahan idhar udhar bhai jee ji yaar yar sahab sahib
    """
)

# English function words that are not Roman Urdu words.
ENGLISH_WORDS = _words(
    """
    the an and of on at for with from this that these those it its are was were been being am i
    you your yours she we they them their our my his her him what which who whom whose why how
    when where there here not yes but if then than just only also very too all any some can could
    would should will shall may might must have has had does did done dont don't doesn't didn't
    can't cant won't wont isn't aren't wasn't i'm im you're youre it's that's thats get got going
    gonna wanna know like love hate people really even still never always about after before
    because into over out up down off more most much many one two new good bad day make made said
    see look want need think thing
    """
)

_WORD = re.compile(r"[a-z']+")
_ASCII_LETTERS = re.compile(r"[A-Za-z]")
# Handles, links and HTML entities are not words of either language.
_NOT_WORDS = re.compile(r"@\w+|https?://\S+|www\.\S+|&#?\w+;")


def _script_counts(text: str) -> tuple[int, int, int]:
    """(Arabic-script letters, Latin letters, letters of other scripts)."""
    if text.isascii():  # most chat: no need to look at each character
        return 0, len(_ASCII_LETTERS.findall(text)), 0
    arabic = latin = other = 0
    for ch in text:
        if ch.isascii():
            if ch.isalpha():
                latin += 1
            continue
        if not ch.isalpha():
            continue
        code = ord(ch)
        if (
            0x0600 <= code <= 0x06FF
            or 0x0750 <= code <= 0x077F
            or 0x08A0 <= code <= 0x08FF
            or 0xFB50 <= code <= 0xFDFF
            or 0xFE70 <= code <= 0xFEFF
        ):
            arabic += 1
        elif unicodedata.name(ch, "").startswith("LATIN"):
            latin += 1
        else:
            other += 1
    return arabic, latin, other


def latin_route(text: str) -> Route:
    """Roman Urdu or English, for text written in Latin letters.

    Roman Urdu wins ties: RUHSOLD shows that Roman Urdu comments carry English words freely, while
    English comments rarely carry Roman Urdu function words. Text with no evidence either way
    (a name, a slogan) is English.
    """
    urdu = english = 0
    for word in _WORD.findall(_NOT_WORDS.sub(" ", text.lower())):
        if word in ROMAN_URDU_WORDS:
            urdu += 1
        elif word in ENGLISH_WORDS:
            english += 1
    if urdu and urdu * 2 >= english:
        return "roman_urdu"
    return "english"


def _script_route(text: str) -> Route | None:
    """The route the script alone decides, or None for Latin text (the identifier's case)."""
    arabic, latin, other = _script_counts(text)
    letters = arabic + latin + other
    if letters == 0:
        return "unknown"
    if arabic >= DOMINANT_SHARE * letters:
        return "urdu"
    if latin >= DOMINANT_SHARE * letters:
        return None
    if arabic and latin:
        return "mixed"
    return "unknown"  # another script (Devanagari, Cyrillic...) has no model here


# Latin text is another language only when the identifier gives it at least this probability
# and the comment has this many words: a short comment of names and slogans ("go nawaz go",
# "Pakistan zindabad") is far likelier a supporter's Urdu or English than Spanish, and an item
# routed `unknown` is never hidden on the model's word alone. (On RUHSOLD's validation tweets
# 0.4% and on Davidson's 0.2% are routed `unknown` so.)
OTHER_SURE = 0.5
OTHER_MIN_WORDS = 4


def _identifier() -> object | None:
    from jalsa.inbox.langid import committed_identifier

    try:
        return committed_identifier()
    except UserError as exc:  # a damaged install: the word lists still route
        log.warning("language identifier unavailable (%s); routing by word lists", exc)
        return None


def routes(texts: Sequence[str]) -> list[Route]:
    """The language route of each comment (never raises on str items): scripts first, then
    the identifier for Latin text, in one batch."""
    found: list[Route | None] = [_script_route(text) for text in texts]
    latin = [i for i, value in enumerate(found) if value is None]
    if latin:
        identifier = _identifier()
        proba = None
        if identifier is not None:
            try:
                proba = identifier.predict_proba([texts[i] for i in latin])  # type: ignore[attr-defined]
            except Exception as exc:  # a bug in the identifier must not stall the queue
                log.warning("language identifier failed (%r); routing by word lists", exc)
        if proba is None:
            for i in latin:
                found[i] = latin_route(texts[i])
        else:
            for i, (english, roman_urdu, other) in zip(latin, proba, strict=True):
                words = len(texts[i].split())
                if other >= OTHER_SURE and words >= OTHER_MIN_WORDS:
                    found[i] = "unknown"
                else:
                    found[i] = "roman_urdu" if roman_urdu >= english else "english"
    return [value or "unknown" for value in found]


def word_list_route(text: str) -> Route:
    """The route by scripts and word lists alone (the fallback, and the reference the
    identifier is measured against)."""
    return _script_route(text) or latin_route(text)


def route(text: str) -> Route:
    """The language route of one comment (never raises on a str)."""
    return routes([text])[0]


def is_latin(text: str) -> bool:
    """True when Latin letters dominate (text the Latin models can read)."""
    return _script_route(text) is None
