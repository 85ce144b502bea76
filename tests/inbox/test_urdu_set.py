"""The Urdu-script set and abuse lexicon the team wrote: well-formed, balanced, uncontaminated."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest

from jalsa.inbox.language import route
from jalsa.inbox.urdu_set import (
    CATEGORIES,
    LABELS,
    LEXICON_CATEGORIES,
    SEVERITIES,
    SPLITS,
    URDU_LEXICON,
    URDU_SET,
    load_urdu_lexicon,
    load_urdu_set,
    load_urdu_set_rows,
    normalise,
)

ROWS = load_urdu_set_rows()
LEXICON = load_urdu_lexicon()
# Arabic letters that Urdu writes with its own code points (ی ک ہ).
ARABIC_NOT_URDU = re.compile("[\u064a\u0643\u0647\u0649]")


def overlap(evaluation: Iterable[str], other: Iterable[str]) -> set[str]:
    """Normalised evaluation texts that also occur, normalised, in `other`."""
    return {normalise(t) for t in evaluation} & {normalise(t) for t in other}


def lexicon_strings() -> list[str]:
    """Every string the lexicon holds, in either script (what a model may be fed from it)."""
    return [s for entry in LEXICON for s in (entry.urdu, *entry.roman)]


def test_the_set_is_well_formed() -> None:
    header = URDU_SET.read_text(encoding="utf-8").splitlines()[0]
    assert header == "id\tsplit\tlabel\tcategory\ttext"
    assert len(ROWS) >= 900
    assert [row.id for row in ROWS] == [f"u{i:04d}" for i in range(1, len(ROWS) + 1)]
    for row in ROWS:
        assert row.split in SPLITS and row.label in LABELS and row.category in CATEGORIES, row
        assert (row.category == "none") == (row.label == "normal"), row
        assert row.text == row.text.strip() and "\t" not in row.text, row
        assert 2 <= len(row.text.split()) <= 40, row


def test_every_text_is_urdu_script_in_urdu_code_points() -> None:
    not_urdu = [row.text for row in ROWS if route(row.text) != "urdu"]
    assert not_urdu == []
    assert [row.text for row in ROWS if ARABIC_NOT_URDU.search(row.text)] == []


def test_no_duplicate_texts() -> None:
    counts = Counter(normalise(row.text) for row in ROWS)
    assert [text for text, n in counts.items() if n > 1] == []


def test_labels_and_categories_are_balanced_in_each_split() -> None:
    share = Counter(row.label for row in ROWS)["abusive"] / len(ROWS)
    assert 0.50 <= share <= 0.60
    for split in SPLITS:
        rows = [row for row in ROWS if row.split == split]
        assert 0.45 * len(ROWS) <= len(rows) <= 0.55 * len(ROWS), split
        abusive = sum(row.abusive for row in rows) / len(rows)
        assert 0.50 <= abusive <= 0.60, (split, abusive)
        categories = Counter(row.category for row in rows)
        assert set(categories) == set(CATEGORIES), split
        assert min(categories.values()) >= 20, (split, categories)


def test_loaders_agree_with_the_rows() -> None:
    texts, labels = load_urdu_set("test")
    test_rows = [row for row in ROWS if row.split == "test"]
    assert texts == [row.text for row in test_rows]
    assert labels == [int(row.label == "abusive") for row in test_rows]
    all_texts, all_labels = load_urdu_set()
    assert len(all_texts) == len(ROWS) and set(all_labels) == {0, 1}
    with pytest.raises(ValueError, match="unknown split"):
        load_urdu_set("train")


def test_the_earlier_check_sentences_are_in_the_test_split() -> None:
    by_text = {row.text: row for row in ROWS}
    for text, label in [
        ("سور کی اولاد", "abusive"),
        ("تم جیسے غدار کو گولی مار دینی چاہیے", "abusive"),
        ("انٹرنیٹ بند ہے، کوئی اور لنک بھیجیں", "normal"),
        ("مہنگائی نے سب کو پریشان کر دیا ہے", "normal"),
    ]:
        assert by_text[text].split == "test" and by_text[text].label == label


def test_a_malformed_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "set.tsv"
    bad.write_text("id\ttext\nu0001\tسلام\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        load_urdu_set(path=bad)
    bad.write_text("id\tsplit\tlabel\tcategory\ttext\nu0001\ttest\tnormal\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":2:"):
        load_urdu_set(path=bad)


def test_the_lexicon_is_well_formed() -> None:
    header = URDU_LEXICON.read_text(encoding="utf-8").splitlines()[0]
    assert header == "urdu\troman\tcategory\tseverity"
    assert len(LEXICON) >= 200
    assert len({entry.urdu for entry in LEXICON}) == len(LEXICON)
    for entry in LEXICON:
        assert entry.category in LEXICON_CATEGORIES and entry.severity in SEVERITIES, entry
        assert route(entry.urdu) == "urdu" and not ARABIC_NOT_URDU.search(entry.urdu), entry
        assert entry.roman and all(re.fullmatch(r"[a-z0-9* ]+", s) for s in entry.roman), entry
    assert set(Counter(entry.category for entry in LEXICON)) == set(LEXICON_CATEGORIES)


def test_no_test_text_is_in_the_dev_split_or_the_lexicon() -> None:
    test_texts = [row.text for row in ROWS if row.split == "test"]
    dev_texts = [row.text for row in ROWS if row.split == "dev"]
    assert overlap(test_texts, dev_texts) == set()
    assert overlap(test_texts, lexicon_strings()) == set()


def test_the_contamination_check_can_fail() -> None:
    test_text = next(row.text for row in ROWS if row.split == "test")
    planted = ["  " + test_text.replace(" ", "   ") + " ", "کچھ اور"]
    assert overlap([test_text], planted) == {normalise(test_text)}
    assert overlap(["Tum CHOR ho"], ["tum chor  ho"]) == {"tum chor ho"}
