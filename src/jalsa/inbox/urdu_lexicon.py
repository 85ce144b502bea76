"""Finding the team's Urdu abuse lexicon in a comment, whatever its script and spelling.

The lexicon (`data/urdu_abuse_lexicon.tsv`, `urdu_set.load_urdu_lexicon`) lists abusive words
and phrases in Urdu script with their usual Roman spellings, a category and a severity. Real
comments spell them in many ways, so both the lexicon and the comment are compared in a folded
form (`fold`):

- Latin words are first written in Urdu script (`transliterate.roman_to_urdu`), and each Roman
  spelling of an entry is added to it in the same way, so "kutte", "کتے" and "kuttay" meet.
- Letters that sound alike, and that Roman Urdu and careless typing confuse, become one:
  ت ط ٹ, د ڈ, ر ڑ, س ص ث, ز ذ ض ظ, ہ ح ھ ۂ ۃ ه, ی ي ى ے ۓ ئ, ک ك, ا آ أ إ ع, و ؤ, ن ں; hamza,
  diacritics and the zero-width non-joiner are dropped, and a letter typed twice or more in a
  row counts once ("کتتتے").
- Words are compared without spaces between them ("بے غیرت" and "بےغیرت", "بہن چود" and
  "بہنچود"; a zero-width non-joiner counts as a space), and with one inflection ending
  stripped (ا ی و ون ین ان یان ہ: "کمینہ", "کمینے", "کمینوں") when at least three letters
  remain, so a phrase of the lexicon matches its plural or oblique form; shorter words must
  match whole (the lexicon lists "کتا", "کتے", "کتوں" apart), or "تھا" would be "تھو".

`LexiconMatcher` keeps the folded keys only (a saved model stores them, not the lexicon file),
and `features` turns the hits into a few numeric columns (one per category and severity, and
a count), which the Urdu-script route (`urdu_route`) adds to its n-gram features.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from jalsa.inbox.transliterate import roman_to_urdu
from jalsa.inbox.urdu_set import LEXICON_CATEGORIES, SEVERITIES, LexiconEntry, load_urdu_lexicon

_FOLD = str.maketrans(
    {
        "ط": "ت", "ٹ": "ت", "ڈ": "د", "ڑ": "ر", "ص": "س", "ث": "س", "ذ": "ز", "ض": "ز",
        "ظ": "ز", "ح": "ہ", "ھ": "ہ", "ۂ": "ہ", "ۃ": "ہ", "ه": "ہ", "ة": "ہ", "ي": "ی",
        "ى": "ی", "ے": "ی", "ۓ": "ی", "ئ": "ی", "ك": "ک", "آ": "ا", "أ": "ا", "إ": "ا",
        "ع": "ا", "ؤ": "و", "ں": "ن", "ء": "", "\u200c": " ", "\u200d": "", "\u0640": "",
        "،": " ", "؟": " ", "۔": " ", "!": " ", "?": " ", ".": " ", ",": " ", "؛": " ",
    }
)  # fmt: skip
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_REPEATS = re.compile(r"(.)\1+")
_LATIN = re.compile("[A-Za-z]")
# One inflection ending, longest first: a stem keeps at least two letters.
_ENDINGS = ("یان", "ون", "ین", "ان", "ا", "ی", "و", "ہ")
MIN_STEM = 3
MAX_WORDS = 4  # the longest lexicon phrase, in words
FEATURES = (*(f"category:{c}" for c in LEXICON_CATEGORIES), *(f"severity:{s}" for s in SEVERITIES))
N_FEATURES = len(FEATURES) + 1  # and log(1 + hits)


@lru_cache(maxsize=100_000)
def _fold_word(word: str) -> str:
    return _REPEATS.sub(r"\1", _DIACRITICS.sub("", word).translate(_FOLD))


def fold(text: str) -> str:
    """A comment in folded Urdu script: Latin words transliterated, sound-alike letters merged,
    diacritics and repeated letters dropped, punctuation made spaces, Latin left lower case."""
    if _LATIN.search(text):
        text = roman_to_urdu(text)
    return " ".join(_fold_word(word) for word in text.lower().translate(_FOLD).split())


def stem(word: str) -> str:
    """A folded word (or spaceless phrase) without one inflection ending; a word whose stem
    would be shorter than MIN_STEM letters is kept whole ("تھا" is not "تھو", "دل" not "دلا")."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
            return word[: -len(ending)]
    return word


def entry_keys(entry: LexiconEntry) -> set[str]:
    """The stemmed, spaceless folded forms under which an entry is found."""
    forms = [entry.urdu, *entry.roman]
    return {stem("".join(fold(form).split())) for form in forms if fold(form).strip()}


class LexiconMatcher:
    """Hits of lexicon keys in comments. `keys` maps a folded key to (category, severity)."""

    def __init__(self, keys: dict[str, tuple[str, str]]) -> None:
        self.keys = dict(keys)

    @classmethod
    def from_entries(cls, entries: Iterable[LexiconEntry] | None = None) -> LexiconMatcher:
        """From lexicon entries (the package's lexicon when None); a key two entries share
        keeps the more severe one."""
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        keys: dict[str, tuple[str, str]] = {}
        for entry in load_urdu_lexicon() if entries is None else entries:
            for key in entry_keys(entry):
                old = keys.get(key)
                if old is None or rank[entry.severity] > rank[old[1]]:
                    keys[key] = (entry.category, entry.severity)
        return cls(keys)

    def as_rows(self) -> list[list[str]]:
        """[key, category, severity] rows, sorted (how a saved model stores the matcher)."""
        return [[k, c, s] for k, (c, s) in sorted(self.keys.items())]

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[str]]) -> LexiconMatcher:
        return cls({str(k): (str(c), str(s)) for k, c, s in rows})

    def hits(self, text: str) -> list[tuple[str, str, str]]:
        """(matched words, category, severity) for every lexicon phrase found in `text`."""
        words = fold(text).split()
        found: list[tuple[str, str, str]] = []
        keys = self.keys
        for i in range(len(words)):
            for n in range(1, min(MAX_WORDS, len(words) - i) + 1):
                joined = "".join(words[i : i + n])
                hit = keys.get(joined) or keys.get(stem(joined))
                if hit is not None:
                    found.append((" ".join(words[i : i + n]), *hit))
        return found

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """One row per text: 1 for each category and severity hit, then log(1 + hits)."""
        return hit_features([self.hits(text) for text in texts])


def hit_features(hits_of_texts: Sequence[Sequence[tuple[str, str, str]]]) -> sp.csr_matrix:
    """`LexiconMatcher.features` from each text's `hits`, when they are already found."""
    index = {name: i for i, name in enumerate(FEATURES)}
    rows = np.zeros((len(hits_of_texts), N_FEATURES), dtype=np.float32)
    for r, hits in enumerate(hits_of_texts):
        for _, category, severity in hits:
            rows[r, index[f"category:{category}"]] = 1.0
            rows[r, index[f"severity:{severity}"]] = 1.0
        rows[r, -1] = math.log1p(len(hits))
    return sp.csr_matrix(rows)
