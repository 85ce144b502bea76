"""Contamination: normalised text keys match trivial copies and nothing else, and the training
splits `load_training_data` makes are disjoint from its held-out splits (on generated files in
the datasets' layout, so no test needs the datasets)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from jalsa.errors import UserError
from jalsa.inbox.contamination import (
    Contaminated,
    assert_disjoint,
    keys,
    normalise,
    overlap,
    text_key,
)
from jalsa.inbox.training import load_training_data
from moderation_sample import Sample

COPIES = [
    "Tu bohat bura hai yaar",
    "tu bohat bura hai yaar!!!",
    "RT @someone: tu   bohat BURA hai yaaaar https://t.co/abc",
    "tu bohat bura hai yaar &amp; 😂😂",
    "ｔｕ bohat bura hai yaar",  # full-width letters (NFKC)
    "tu, bohat, bura - hai... yaar?",
]
DIFFERENT = [
    "tu bohat acha hai yaar",
    "tu bohat bura nahi hai yaar",
    "yaar hai bura bohat tu",
    "😂",
    "🔥",
    "",
]


def test_trivially_different_copies_share_a_key() -> None:
    assert len({text_key(t) for t in COPIES}) == 1
    assert normalise(COPIES[2]) == normalise(COPIES[0])
    # with and without Urdu diacritics
    assert text_key("تم گدھے ہو") == text_key("تُم گَدھے ہو")


def test_different_texts_have_different_keys() -> None:
    all_keys = [text_key(t) for t in [COPIES[0], *DIFFERENT]]
    assert len(set(all_keys)) == len(all_keys)  # emoji-only texts do not all match each other
    assert all(0 <= k < 2**64 for k in all_keys)


def test_keys_are_sorted_unique_uint64_and_overlap_finds_indices() -> None:
    found = keys(COPIES + DIFFERENT)
    assert found.dtype == np.uint64 and list(found) == sorted(set(found.tolist()))
    assert len(found) == 1 + len(DIFFERENT)
    train = keys(["Tu bohat bura hai yaar", "something else"])
    assert overlap(train, ["x", COPIES[3], "y", COPIES[5]]) == [1, 3]
    assert overlap(train, DIFFERENT) == []
    assert overlap(train.tolist(), [COPIES[1]]) == [0]  # keys as a plain list too


def test_assert_disjoint_names_the_sets_and_counts() -> None:
    assert_disjoint({"train": ["a b c", "d e f"]}, {"test": ["g h i"]})
    with pytest.raises(Contaminated) as caught:
        assert_disjoint(
            {"ru_train": ["a b c", "d e f"], "en_train": ["x y"]},
            {"validation": ["A B C!", "D-E-F", "new"], "other": ["zzz"]},
        )
    message = str(caught.value)
    assert "2 of the 3 texts of 'validation'" in message and "'ru_train'" in message
    assert "en_train" not in message and "'other'" not in message
    assert isinstance(caught.value, UserError)


def _append_tsv(path: Path, rows: list[tuple[str, int]]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.writelines(f"{text}\t{label}\n" for text, label in rows)


def test_training_splits_are_disjoint_from_held_out_splits(sample: Sample, tmp_path: Path) -> None:
    """Copies of held-out texts in the training files are dropped from the training side, the
    category model keeps only task-2 texts of task 1's training file, and the counts are
    recorded."""
    data_dir = tmp_path / "datasets"
    shutil.copytree(sample.data, data_dir)
    ruhsold = data_dir / "ruhsold"
    validation = [line.rpartition("\t")[0] for line in
                  (ruhsold / "task_1_validation.tsv").read_text().splitlines()]  # fmt: skip
    before = load_training_data(data_dir)
    # task 1's training file gets two trivially changed copies of validation texts
    _append_tsv(ruhsold / "task_1_train.tsv", [(validation[0].upper() + "!!", 0),
                                               ("RT @x: " + validation[1], 1)])  # fmt: skip
    # task 2 (another random split) holds validation texts and a text in no task-1 file
    _append_tsv(ruhsold / "task_2_train.tsv", [(validation[2], 2), (validation[3], 3),
                                               ("ek aur jumla jo kahin nahi", 4)])  # fmt: skip
    # Davidson's file holds one tweet twice; the split may put the copies on both sides
    davidson = data_dir / "davidson" / "labeled_data_dev.csv"
    rows = list(csv.reader(davidson.open(encoding="utf-8")))
    with davidson.open("a", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        for i in range(1, 6):
            writer.writerow([*rows[i][:6], rows[i][6].upper() + " !!"])

    data = load_training_data(data_dir)
    held_out = {name: texts for name, (texts, _) in data.frozen_eval.items()}
    assert_disjoint(data.training_texts(), held_out)
    assert data.removed["roman_urdu"] == 2
    assert data.roman_urdu[0] == before.roman_urdu[0]
    assert data.removed["roman_urdu_categories"] == 3
    assert data.roman_urdu_categories[0] == before.roman_urdu_categories[0]
    train_keys = keys(data.english[0])
    assert overlap(train_keys, held_out["davidson_heldout"]) == []
    assert len(data.english[0]) + len(held_out["davidson_heldout"]) + data.removed["english"] == (
        len(before.english[0]) + len(before.frozen_eval["davidson_heldout"][0]) + 5
    )
    assert len(data.english[0]) == len(data.english[1]) == len(data.english_classes)
