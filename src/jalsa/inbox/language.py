"""Language routing for the moderation classifier: Urdu script, Roman Urdu, English.

Comments in a Pakistani rally's chat come in Urdu script, in Roman Urdu (Urdu written in Latin
letters, freely mixed with English) and in English. The classifier has a model per route, so the
route must be cheap and predictable: scripts are counted letter by letter, and Latin text is told
apart by small lists of function words that are frequent in one language and rare in the other.
Words that are common in both ("to", "me", "is", "us", "hi", "he") are on neither list.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

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


def route(text: str) -> Route:
    """The language route of one comment (never raises on a str)."""
    arabic, latin, other = _script_counts(text)
    letters = arabic + latin + other
    if letters == 0:
        return "unknown"
    if arabic >= DOMINANT_SHARE * letters:
        return "urdu"
    if latin >= DOMINANT_SHARE * letters:
        return latin_route(text)
    if arabic and latin:
        return "mixed"
    return "unknown"  # another script (Devanagari, Cyrillic...) has no model here
