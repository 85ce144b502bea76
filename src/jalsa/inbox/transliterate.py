"""Roman Urdu to Urdu script and back, so one moderation model can read both scripts.

Roman Urdu has no fixed spelling ("hai", "hay", "hy", "h"), and Urdu script leaves out most short
vowels, so neither direction is a letter-for-letter map. Each word is looked up first in a
lexicon the project wrote (`data/roman_urdu_lexicon.tsv`, `roman<TAB>urdu`: function words,
pronouns, verbs, rally and political vocabulary, and the abusive vocabulary a moderation tool must
know), then, when the lexicon does not know it, spelled by rules:

Roman to Urdu script (`roman_to_urdu`)
- Letters repeated three or more times are cut to two ("nahiiii" -> "nahii"); doubled consonants
  are written once (Urdu marks gemination only with an optional shadda).
- Digraphs: chh چھ, ch چ, sh ش, zh ژ, gh غ, bh بھ, ph پھ, th تھ, dh دھ, jh جھ, rh ڑھ.
  "kh" is خ at the start of a word and before a consonant (khan, akhbar) and کھ before a vowel or
  at the end (dekha, dekh): initial کھ words (khana, khel) are in the lexicon.
- Vowels at the start of a word are carried by alif: a ا, aa آ, i/u ا, e/ee/ai ای, o/oo/au او.
- Inside a word the short vowels a, i, u are not written; aa is ا, e/ee/ai/ei ی, o/oo/u(u)/au و.
  An "e" before "h" is short and not written (kehna کہنا, pehle پہلے).
- At the end: a/aa ا, i/ee/ii ی, e/ay/ey/y ے (RUHSOLD writes "hy", "ky", "pehly" for ے),
  ai ائی (bhai, larai), o/oo/u و, ao/au اؤ, ia یا, ua وا, ui/oi وئی, ue/oe وئے; a vowel, then
  y, then e or i (jaye, aayi) is written with hamza: جائے، آئی.
  Final a is alif, not he: native words in -ā (verbs, adjectives, masculine nouns) are far more
  frequent in chat than Persian and Arabic words in -ah; those (zinda, banda, paisa) are in the
  lexicon, and a final "ah" is ہ (jagah جگہ).
- A final n after ai, ei, e, o, oo is the nasal ں (hain, mein, karen, logon); "-iyan" is یاں
  (larkiyan); other final n (khan, zameen, din) stays ن.
- Roman cannot tell ت/ٹ, د/ڈ, ر/ڑ, س/ص/ث, ز/ذ/ض/ظ, ہ/ح nor show ع: the rules write the common
  letter (ت د ر س ز ہ) and the lexicon holds the rest.
- "X-e-Y" is an izafat: وزیرِ اعظم. A lone "e" is not (Punjabi-style Roman Urdu uses it for
  "hi": "pta e nahi"), so only the hyphenated form is read as one.
- English words are transliterated too, as Pakistani users write loans in Urdu script (ووٹ،
  پارٹی، پلیز): common ones are in the lexicon, the rest go through the same rules. Chat
  abbreviations become the words they stand for (k کے, h ہے, b بھی, bc بہن چود), as an Urdu-script
  commenter would write them.
- URLs, @handles, #hashtags (identifiers, usually English or camel case), HTML entities, digits,
  punctuation, emoji and every non-Latin character are kept unchanged.

Urdu script to Roman (`urdu_to_roman`), in the spelling RUHSOLD's tweets use
- Lexicon words (one and two-word entries) take the lexicon's first Roman spelling.
- Otherwise letter by letter: و is w before a vowel letter or at the start, else o; ی is y at the
  start or before a vowel letter, e between consonants, i at the end; یں at the end is "ein";
  ے e; ا/آ a/aa; final ہ after a consonant is a (zinda), else h; ھ adds h (bh, ph, chh);
  ع is a (nothing after alif or at the end after a vowel letter); ں n; zabar a, zer i,
  pesh u, shadda doubles, tanwin an; a zer at a word's end is the izafat " e ".
  Short vowels Urdu does not write are guessed as "a" only where Urdu cannot have a cluster:
  after the first consonant of a word, and between all consonants of a word that has no vowel
  letter at all (تم tam, بہن bahan): the consonant skeleton is right, the vowels approximate.
- Latin letters and everything else are kept unchanged.

Both functions never raise on any str, keep characters they do not know, and cache the spelling
of each distinct word (bounded), because chat words repeat.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

LEXICON_FILE = Path(__file__).with_name("data") / "roman_urdu_lexicon.tsv"

MAX_CACHED = 100_000  # distinct words per direction; the cache is emptied when it is full
MAX_CACHED_WORD = 40  # longer "words" (a wall of letters) are spelled every time, not kept

Script = Literal["urdu", "latin", "mixed", "none"]

_ARABIC_RANGE = "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff"
_ROMAN_TOKEN = re.compile(
    r"(?P<keep>https?://\S+|www\.\S+|[@#]\w+|&#?\w+;)"
    r"|(?P<word>[A-Za-z]+(?:'[A-Za-z]+)*(?:-[eE]-[A-Za-z]+(?:'[A-Za-z]+)*)*)"
)
_URDU_TOKEN = re.compile(rf"(?P<keep>https?://\S+|www\.\S+|[@#]\w+)|(?P<word>[{_ARABIC_RANGE}]+)")
_ARABIC_LETTER = re.compile(f"[{_ARABIC_RANGE}]")
_LONG_RUN = re.compile(r"(.)\1{2,}")
_DOUBLE_CONSONANT = re.compile(r"([b-df-hj-np-tv-z])\1")
_IZAFAT = re.compile(r"-[eE]-")
_DIACRITICS = re.compile("[\u064b-\u065f\u0670]")

_VOWELS = frozenset("aeiou")


# --- the lexicon --------------------------------------------------------------------------------


def squeeze_roman(word: str) -> str:
    """A Roman word with every run of one letter written once ("kutta" -> "kuta")."""
    out: list[str] = []
    for ch in word:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


def _load_lexicon() -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str]]:
    """(roman -> urdu, squeezed roman -> urdu, urdu word -> roman, urdu two words -> roman)."""
    exact: dict[str, str] = {}
    reverse: dict[str, str] = {}
    reverse_pairs: dict[str, str] = {}
    try:
        lines = LEXICON_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:  # a broken install still transliterates by rules
        lines = []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        roman, _, urdu = line.partition("\t")
        roman, urdu = roman.strip().lower(), " ".join(urdu.split())
        if not roman or not urdu:
            continue
        exact.setdefault(roman, urdu)
        words = urdu.split()
        if len(words) == 1:
            reverse.setdefault(urdu, roman)
        elif len(words) == 2:
            reverse_pairs.setdefault(urdu, roman)
    squeezed: dict[str, str] = {}
    for roman, urdu in exact.items():
        squeezed.setdefault(squeeze_roman(roman), urdu)
    return exact, squeezed, reverse, reverse_pairs


_EXACT, _SQUEEZED, _REVERSE, _REVERSE_PAIRS = _load_lexicon()


def lexicon_urdu(word: str) -> str | None:
    """The lexicon's Urdu spelling of one Roman word (any case, letters repeated), or None."""
    word = _LONG_RUN.sub(r"\1\1", word.lower().replace("'", ""))
    found = _EXACT.get(word)
    if found is None:
        squeezed = squeeze_roman(word)
        found = _EXACT.get(squeezed) or _SQUEEZED.get(squeezed)
    return found


def lexicon_entries() -> dict[str, str]:
    """A copy of the lexicon, Roman spelling to Urdu spelling."""
    return dict(_EXACT)


# --- Roman Urdu to Urdu script ------------------------------------------------------------------

_CONSONANTS = {
    "b": "ب", "c": "ک", "d": "د", "f": "ف", "g": "گ", "h": "ہ", "j": "ج", "k": "ک", "l": "ل",
    "m": "م", "n": "ن", "p": "پ", "q": "ق", "r": "ر", "s": "س", "t": "ت", "v": "و", "w": "و",
    "x": "کس", "y": "ی", "z": "ز",
}  # fmt: skip
_DIGRAPHS = {
    "chh": "چھ", "ch": "چ", "sh": "ش", "zh": "ژ", "gh": "غ", "bh": "بھ", "ph": "پھ", "th": "تھ",
    "dh": "دھ", "jh": "جھ", "rh": "ڑھ",
}  # fmt: skip
_INITIAL_VOWELS = {
    "a": "ا", "aa": "آ", "i": "ا", "u": "ا", "e": "ای", "ee": "ای", "ai": "ای", "ae": "اے",
    "ei": "ای", "o": "او", "oo": "او", "ou": "او", "au": "او", "ao": "آؤ", "aao": "آؤ",
    "ia": "یا", "ie": "ای", "ue": "اوئے", "oe": "اوئے",
}  # fmt: skip
_MEDIAL_VOWELS = {
    "a": "", "aa": "ا", "i": "", "ii": "ی", "u": "", "uu": "و", "e": "ی", "ee": "ی",
    "ea": "ی", "ie": "ی", "ai": "ی", "ei": "ی", "ae": "ی", "o": "و", "oo": "و", "ou": "و",
    "au": "و", "ao": "و", "ia": "یا", "iaa": "یا", "ua": "وا", "uaa": "وا", "oa": "وا",
    "io": "یو", "eo": "یو",
}  # fmt: skip
_FINAL_VOWELS = {
    "a": "ا", "aa": "ا", "i": "ی", "ii": "ی", "ee": "ی", "e": "ے", "ay": "ے", "ey": "ے",
    "ae": "ائے", "ai": "ائی", "aai": "ائی", "aae": "ائے", "ei": "ے", "ie": "یے", "o": "و",
    "oo": "و", "u": "و", "uu": "و", "ou": "و", "ao": "اؤ", "aao": "اؤ", "au": "اؤ", "ia": "یا",
    "iaa": "یا", "ua": "وا", "uaa": "وا", "ui": "وئی", "oi": "وئی", "ue": "وئے", "oe": "وئے",
    "io": "یو", "y": "ے", "aey": "ائے", "aay": "ائے", "aye": "ائے", "oey": "وئے", "uey": "وئے",
}  # fmt: skip
_HIATUS = {"a": "ا", "aa": "ا", "i": "", "e": "", "o": "و", "oo": "و", "u": "و", "uu": "و"}
# After a verb stem in -kh (dekh, rakh, likh) "kh" is کھ even before a consonant: dekhna, rakhte.
_VERB_ENDINGS = frozenset(
    {
        "na", "ne", "ni", "ny", "nay", "ta", "te", "ti", "ty", "tay", "nge", "ngay", "enge",
        "engay", "ega", "egi", "ain", "ein", "en",
    }
)  # fmt: skip
# In the last syllable of a word of two or more syllables, "a" before one of these is long ā
# more often than not (kitab, insan, nizam, azad, khushhal, bimar, awaz); the short ones that
# are frequent in chat (agar, magar, nazar) are in the lexicon.
_LONG_A_BEFORE = frozenset("nmbzdlr")
_NASAL_AFTER = frozenset({"ai", "ei", "e", "ae", "o", "oo", "ou", "aai"})


def _units(word: str) -> list[tuple[bool, str]]:
    """A lower-case Roman word as (is_vowel, letters) units: vowel runs and consonant units.

    A "y" at the end of a word after a consonant or after "a"/"e" is a vowel (hy, hay, pehly).
    """
    units: list[tuple[bool, str]] = []
    i, n = 0, len(word)
    while i < n:
        ch = word[i]
        if ch in _VOWELS or (ch == "y" and i == n - 1 and i > 0 and word[i - 1] not in "iou"):
            j = i + 1
            while j < n and (
                word[j] in _VOWELS or (word[j] == "y" and j == n - 1 and word[j - 1] in "ae")
            ):
                j += 1
            units.append((True, word[i:j]))
            i = j
            continue
        for size in (3, 2):
            piece = word[i : i + size]
            if len(piece) == size and (piece in _DIGRAPHS or piece == "kh"):
                if piece == "rh" and not (i and word[i - 1] in _VOWELS):
                    continue  # rhna, rha: a vowel left out, not the ڑھ of parhna
                units.append((False, piece))
                i += size
                break
        else:
            units.append((False, ch))
            i += 1
    return units


def _vowel(run: str, table: dict[str, str], first: bool) -> str:
    found = table.get(run)
    if found is not None:
        return found
    head = _INITIAL_VOWELS.get(run[0], "ا") if first else _MEDIAL_VOWELS.get(run[0], "")
    tail = []
    for ch in run[1:]:  # a run nobody wrote rules for: every later vowel is pronounced
        tail.append({"a": "ا", "e": "ی", "i": "ی", "o": "و", "u": "و"}.get(ch, ""))
    return head + "".join(tail)


def _spell_roman(word: str) -> str:
    """Urdu script for one lower-case Roman word of ASCII letters, by rules alone."""
    word = _DOUBLE_CONSONANT.sub(r"\1", _LONG_RUN.sub(r"\1\1", word))
    units = _units(word)
    last = len(units) - 1
    out: list[str] = []
    for index, (is_vowel, letters) in enumerate(units):
        if is_vowel:
            nxt = units[index + 1][1] if index < last else ""
            if index == 0:
                if index == last:
                    out.append(
                        {"a": "آ", "o": "او", "e": "ای", "i": "ای", "u": "یو"}.get(
                            letters, _vowel(letters, _INITIAL_VOWELS, True)
                        )
                    )
                else:
                    out.append(_vowel(letters, _INITIAL_VOWELS, True))
            elif index == last:
                out.append(_vowel(letters, _FINAL_VOWELS, False))
            elif (
                nxt == "y"
                and index + 2 == last
                and units[last][0]
                and units[last][1] in ("e", "i", "ee", "ey", "ay")
            ):
                out.append(_HIATUS.get(letters, _vowel(letters, _MEDIAL_VOWELS, False)))
            elif letters == "e" and nxt == "h":
                pass  # kehna, pehle: a short e before h
            elif (
                letters == "a"
                and index + 1 == last
                and nxt == "n"
                and units[index - 1][1] in ("y", "i")
            ):
                out.append("ا")  # larkiyan, kahaniyan: the plural -iyan is یاں
            elif (
                letters == "a"
                and index + 1 == last
                and nxt in _LONG_A_BEFORE
                and any(unit[0] for unit in units[: index - 1])
            ):
                out.append("ا")  # kitab, kisan, nizam: a final closed syllable has a long a
            else:
                out.append(_vowel(letters, _MEDIAL_VOWELS, False))
            continue
        if letters == "y" and index > 0 and units[index - 1][0] and index + 1 == last:
            tail = units[last][1]
            if units[last][0] and tail in ("e", "i", "ee", "ey", "ay"):
                out.append("ئے" if tail in ("e", "ey", "ay") else "ئی")
                break
        if letters == "n" and index == last and index > 0:
            before = units[index - 1][1]
            if before in _NASAL_AFTER or (
                before == "a" and index >= 2 and units[index - 2][1] in ("y", "i")
            ):
                out.append("ں")
                continue
        if letters == "kh":
            rest = "".join(unit for _, unit in units[index + 1 :])
            aspirate = index == last or units[index + 1][0] or rest in _VERB_ENDINGS
            out.append("کھ" if index > 0 and aspirate else "خ")
        elif letters == "c":
            follows = units[index + 1][1][0] if index < last else ""
            out.append("س" if follows in ("e", "i", "y") else "ک")
        else:
            out.append(_DIGRAPHS.get(letters) or _CONSONANTS.get(letters, letters))
    return "".join(out)


def _izafat_join(first: str, second: str) -> str:
    if first.endswith(("ا", "و")):
        return f"{first}ئے {second}"
    if first.endswith("ہ"):
        return f"{first[:-1]}ۂ {second}"
    return f"{first}\u0650 {second}"


@lru_cache(maxsize=MAX_CACHED)
def _roman_word_cached(word: str) -> str:
    return _roman_word(word)


def _roman_word(word: str) -> str:
    if "-" in word:
        parts = [_roman_word(part) for part in _IZAFAT.split(word)]
        joined = parts[0]
        for part in parts[1:]:
            joined = _izafat_join(joined, part)
        return joined
    found = lexicon_urdu(word)
    if found is not None:
        return found
    return _spell_roman(word.lower().replace("'", ""))


def roman_word_to_urdu(word: str) -> tuple[str, bool]:
    """(Urdu spelling, found in the lexicon) of one Roman word; for measuring the two routes."""
    found = lexicon_urdu(word)
    if found is not None:
        return found, True
    return _roman_word(word), False


def _roman_match(match: re.Match[str]) -> str:
    word = match.group("word")
    if word is None:
        return match.group(0)
    if len(word) > MAX_CACHED_WORD:
        return _roman_word(word)
    return _roman_word_cached(word)


def roman_to_urdu(text: str) -> str:
    """Roman Urdu text in Urdu script; everything that is not a Latin word is kept as it is."""
    if not isinstance(text, str):
        return ""
    return _ROMAN_TOKEN.sub(_roman_match, text)


# --- Urdu script to Roman Urdu ------------------------------------------------------------------

_NORMALISE_URDU = str.maketrans(
    {"ك": "ک", "ي": "ی", "ى": "ی", "ه": "ہ", "ة": "ہ", "ۃ": "ہ", "أ": "ا", "إ": "ا", "ٱ": "ا",
     "ـ": None, "\u200c": None, "\u200d": None, "ۓ": "ے",
     "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4", "۵": "5", "۶": "6", "۷": "7", "۸": "8",
     "۹": "9", "٠": "0", "١": "1", "٢": "2", "٣": "3", "٤": "4", "٥": "5", "٦": "6", "٧": "7",
     "٨": "8", "٩": "9"}
)  # fmt: skip
_URDU_CONSONANTS = {
    "ب": "b", "پ": "p", "ت": "t", "ٹ": "t", "ث": "s", "ج": "j", "چ": "ch", "ح": "h", "خ": "kh",
    "د": "d", "ڈ": "d", "ذ": "z", "ر": "r", "ڑ": "r", "ز": "z", "ژ": "zh", "س": "s", "ش": "sh",
    "ص": "s", "ض": "z", "ط": "t", "ظ": "z", "غ": "gh", "ف": "f", "ق": "q", "ک": "k", "گ": "g",
    "ل": "l", "م": "m", "ن": "n", "ں": "n",
}  # fmt: skip
_URDU_VOWEL_LETTERS = frozenset("اآوؤیےئعء")
_TRAILING_MARKS = frozenset("\u064b\u064c\u064d\u064e\u064f\u0650\u0652")
_PUNCTUATION = str.maketrans({"،": ",", "؟": "?", "۔": ".", "؛": ";", "٪": "%"})


def _spell_urdu(word: str) -> str:
    """Roman letters for one Urdu-script word (normalised), by rules alone."""
    letters = [ch for ch in word if ch not in "ءٔ"]
    n = len(letters)
    last_base = n - 1  # the last letter that is not a trailing vowel mark
    while last_base > 0 and letters[last_base] in _TRAILING_MARKS:
        last_base -= 1
    # pieces: (roman, kind) with kind "c" consonant, "v" vowel, "m" a written short vowel mark
    pieces: list[list[str]] = []
    for i, ch in enumerate(letters):
        prev = letters[i - 1] if i else ""
        nxt = letters[i + 1] if i + 1 < n else ""
        at_start = not pieces
        at_end = i >= last_base
        if ch in _URDU_CONSONANTS:
            if ch == "ں" or (ch == "ن" and at_end):
                pieces.append(["n", "c"])
            else:
                pieces.append([_URDU_CONSONANTS[ch], "c"])
        elif ch == "ھ":
            if pieces and pieces[-1][1] == "c":
                pieces[-1][0] += "h"
            else:
                pieces.append(["h", "c"])
        elif ch == "ہ":
            if at_end and pieces and pieces[-1][1] == "c":
                pieces.append(["a", "v"])
            else:
                pieces.append(["h", "c"])
        elif ch == "ا":
            if at_start and nxt in ("و", "ی"):
                continue  # او، ای: the next letter is the vowel
            pieces.append(["a", "v"])
        elif ch == "آ":
            pieces.append(["aa", "v"])
        elif ch == "و":
            starts = at_start and prev != "ا"
            if starts or (nxt and nxt in "اآیے" and prev not in ("ا", "")):
                pieces.append(["w", "c"])
            else:
                pieces.append(["o", "v"])
        elif ch == "ؤ":
            pieces.append(["o", "v"])
        elif ch == "ی":
            if at_start and prev != "ا":
                pieces.append(["y", "c"])
            elif at_end:
                pieces.append(["i", "v"])
            elif nxt == "ں" and i + 2 >= n:
                pieces.append(["ei" if pieces and pieces[-1][1] == "c" else "i", "v"])
            elif nxt and nxt in "اآوے" and pieces and pieces[-1][1] == "c":
                pieces.append(["y", "c"])
            elif pieces and pieces[-1][1] == "v":
                pieces.append(["y" if nxt and nxt in "اآوے" else "i", "v"])
            else:
                pieces.append(["e", "v"])
        elif ch == "ے":
            pieces.append(["e", "v"])
        elif ch == "ئ":
            if nxt not in ("ی", "ے"):
                pieces.append(["i", "v"])
        elif ch == "ع":
            if prev in ("ا", "آ") or (at_end and prev in ("و", "ی")):
                continue
            if nxt == "و":
                pieces.append(["a", "v"])
            elif nxt == "ی":
                continue
            else:
                pieces.append(["a", "v"])
        elif ch == "\u064e" or ch == "\u0670":  # zabar, khari zabar
            pieces.append(["a", "m"])
        elif ch == "\u0650":  # zer (at the end: izafat)
            pieces.append([" e", "z"] if at_end else ["i", "m"])
        elif ch == "\u064f":  # pesh
            pieces.append(["u", "m"])
        elif ch == "\u0651":  # shadda doubles the consonant before it
            if pieces and pieces[-1][1] == "c":
                pieces[-1][0] += pieces[-1][0][-1]
        elif ch == "\u064b":  # tanwin fath: foran
            pieces.append(["n", "c"])
        elif ch in "\u064c\u064d\u0652":
            continue
        else:
            pieces.append([ch, "o"])
    if any(kind == "m" for _, kind in pieces):  # the writer gave the vowels: trust them
        return "".join(roman for roman, _ in pieces)
    has_vowel_letter = any(kind == "v" for _, kind in pieces)
    out: list[str] = []
    for index, (roman, kind) in enumerate(pieces):
        out.append(roman)
        if kind != "c" or index + 1 >= len(pieces) or pieces[index + 1][1] != "c":
            continue
        if index == 0 or not has_vowel_letter:
            out.append("a")  # Urdu has no cluster at the start of a word
    return "".join(out)


def _urdu_word(word: str) -> str:
    found = _REVERSE.get(word)
    if found is None:
        plain = _DIACRITICS.sub("", word)
        found = _REVERSE.get(plain)
        if found is not None and word.endswith("\u0650"):
            found += " e"  # izafat
        elif found is None:
            found = _spell_urdu(word)
    return found


@lru_cache(maxsize=MAX_CACHED)
def _urdu_word_cached(word: str) -> str:
    return _urdu_word(word)


def _urdu_match(match: re.Match[str]) -> str:
    word = match.group("word")
    if word is None:
        return match.group(0)
    if len(word) > MAX_CACHED_WORD:
        return _urdu_word(word)
    return _urdu_word_cached(word)


def _pairs_pattern() -> re.Pattern[str] | None:
    if not _REVERSE_PAIRS:
        return None
    pairs = sorted(_REVERSE_PAIRS, key=len, reverse=True)
    body = "|".join(re.escape(pair).replace(r"\ ", "[ \u200c]+") for pair in pairs)
    return re.compile(rf"(?<![{_ARABIC_RANGE}])(?:{body})(?![{_ARABIC_RANGE}])")


_PAIRS = _pairs_pattern()


def _pair_match(match: re.Match[str]) -> str:
    return _REVERSE_PAIRS.get(
        " ".join(match.group(0).replace("\u200c", " ").split()), match.group(0)
    )


def urdu_to_roman(text: str) -> str:
    """Urdu-script text in Roman Urdu; Latin text and other characters are kept as they are."""
    if not isinstance(text, str):
        return ""
    if text.isascii():
        return text
    text = text.translate(_NORMALISE_URDU)
    if _PAIRS is not None:
        text = _PAIRS.sub(_pair_match, text)
    return _URDU_TOKEN.sub(_urdu_match, text).translate(_PUNCTUATION)


def script_of(text: str) -> Script:
    """The script of a text's letters: "urdu", "latin", "mixed" (neither has 80%), or "none"."""
    arabic = latin = 0
    for ch in text:
        if "a" <= ch <= "z" or "A" <= ch <= "Z":
            latin += 1
        elif _ARABIC_LETTER.match(ch) and ch.isalpha():
            arabic += 1
    total = arabic + latin
    if total == 0:
        return "none"
    if arabic >= 0.8 * total:
        return "urdu"
    if latin >= 0.8 * total:
        return "latin"
    return "mixed"
