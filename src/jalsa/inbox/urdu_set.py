"""The Urdu-script labelled set and abuse lexicon that jalsa's team wrote for the classifier.

No Urdu-script abuse dataset with a licence that allows redistribution exists, so the project
writes its own (issue 20): `data/urdu_script_set.tsv`, about a thousand comments as they are
typed under Pakistani political live streams, and `data/urdu_abuse_lexicon.tsv`, abusive words
and phrases in Urdu script with their usual Roman Urdu spellings. Both are written by the team,
copy no dataset, and are released under the project's licence.

Labelling guideline (RUHSOLD's notion of abusive/offensive, Rizwan et al., EMNLP 2020):

- **abusive**: the comment insults, demeans or threatens a person or a group, or is profane.
  Categories: `abuse` (insults and name-calling of leaders, journalists, parties, institutions or
  other commenters: chor, ghaddar, lanati, kutta, bikau, lifafa, mocking nicknames; "X is a
  thief" as an epithet counts even when X is an institution), `profanity` (maa-behen gaalis and
  other obscenities, with or without a target, also when spelled with dots or in Latin
  abbreviations), `hate` (contempt for a religion, sect, ethnic group, caste or nationality,
  takfir, blasphemy accusations used as incitement), `sexism` (demeaning women or a person for
  their sex or gender: "go back to the kitchen", remarks about a woman's character or body,
  "wear bangles"), `threat` (a wish or call to kill, hang, beat, burn, abduct, or a personal
  threat).
- **normal** (category `none`): everything else, however strong, when it carries no insult:
  praise, slogans, prayers and religious phrases (including "hasbi Allah" against oppressors),
  questions about the stream, news, civil criticism ("this government has failed, inflation is
  killing us"), accusations stated as claims ("votes were stolen", "prove the theft in court"),
  sarcasm without name-calling, a slur quoted in order to condemn it, and mild words such as
  بےوقوف or پاگل said jokingly between friends or about oneself.
- One category per comment: the most serious one it carries (threat > hate > sexism >
  profanity > abuse).

Splits: `dev` (for choosing settings and thresholds) and `test` (for the reported figure only),
assigned once at random with a fixed seed, about half each, stratified by category; the forty
sentences of the earlier `urdu_script_check.tsv` are all in `test`. Labels are 1 = abusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")
URDU_SET = DATA_DIR / "urdu_script_set.tsv"
URDU_LEXICON = DATA_DIR / "urdu_abuse_lexicon.tsv"

SET_COLUMNS = ("id", "split", "label", "category", "text")
LEXICON_COLUMNS = ("urdu", "roman", "category", "severity")
SPLITS = ("dev", "test")
LABELS = ("abusive", "normal")
CATEGORIES = ("abuse", "profanity", "hate", "sexism", "threat", "none")
LEXICON_CATEGORIES = ("abuse", "profanity", "hate", "sexism", "threat")
SEVERITIES = ("mild", "strong", "severe")


def normalise(text: str) -> str:
    """A text as compared for duplicates and contamination: casefolded, whitespace collapsed."""
    return " ".join(text.casefold().split())


@dataclass(frozen=True)
class UrduRow:
    """One comment of the Urdu-script set."""

    id: str
    split: str
    label: str  # "abusive" or "normal"
    category: str  # one of CATEGORIES; "none" exactly when label is "normal"
    text: str

    @property
    def abusive(self) -> int:
        return int(self.label == "abusive")


@dataclass(frozen=True)
class LexiconEntry:
    """One word or phrase of the Urdu-script abuse lexicon."""

    urdu: str
    roman: tuple[str, ...]  # usual Roman Urdu spellings
    category: str  # one of LEXICON_CATEGORIES
    severity: str  # one of SEVERITIES


def _read_tsv(path: Path, columns: tuple[str, ...]) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != columns:
        raise ValueError(f"{path.name}: the header must be {' TAB '.join(columns)}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(columns):
            raise ValueError(f"{path.name}:{number}: {len(columns)} tab-separated fields needed")
        rows.append(fields)
    return rows


def load_urdu_set_rows(split: str | None = None, path: Path = URDU_SET) -> list[UrduRow]:
    """The rows of the set, in file order; only those of `split` ("dev" or "test") if given."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    rows = [UrduRow(*fields) for fields in _read_tsv(path, SET_COLUMNS)]
    return [row for row in rows if split is None or row.split == split]


def load_urdu_set(split: str | None = None, path: Path = URDU_SET) -> tuple[list[str], list[int]]:
    """Texts and labels (1 = abusive) of the set, or of one split."""
    rows = load_urdu_set_rows(split, path)
    return [row.text for row in rows], [row.abusive for row in rows]


def load_urdu_lexicon(path: Path = URDU_LEXICON) -> list[LexiconEntry]:
    """The abuse lexicon, in file order."""
    return [
        LexiconEntry(
            urdu=urdu,
            roman=tuple(s.strip() for s in roman.split(",") if s.strip()),
            category=category,
            severity=severity,
        )
        for urdu, roman, category, severity in _read_tsv(path, LEXICON_COLUMNS)
    ]
