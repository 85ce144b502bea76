"""The moderation classifier's test data: a hand-written labelled sample (tests/inbox/data/
moderation_sample.tsv) laid out as a miniature of the real datasets' files, so that training,
evaluation and retraining are tested through the same readers, splits and commands as on the
real data, and no test needs the datasets themselves."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

SAMPLE = Path(__file__).parent / "inbox" / "data" / "moderation_sample.tsv"
# RUHSOLD task 2 codes and Davidson classes of the sample's labels.
TASK2 = {"offensive": 0, "normal": 1, "hate": 2, "sexism": 3, "profanity": 4}
DAVIDSON = {"hate": 0, "offensive": 1, "profanity": 1, "sexism": 1, "normal": 2}
VALIDATION_EVERY = 4  # every 4th Roman Urdu row is RUHSOLD's "validation" file


@dataclass(frozen=True)
class Row:
    language: str
    label: str
    text: str

    @property
    def abusive(self) -> int:
        return int(self.label != "normal")


def read_sample() -> list[Row]:
    lines = [
        line for line in SAMPLE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    ]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    return [Row(r["language"], r["label"], r["text"]) for r in reader]


@dataclass(frozen=True)
class Sample:
    """The miniature datasets folder and the sample's rows by role."""

    data: Path
    roman_urdu_validation: list[Row]
    urdu: list[Row]  # not in any training file: moderators' labels in the retraining tests


def write_datasets(directory: Path, rows: list[Row]) -> Sample:
    """RUHSOLD's three TSVs and Davidson's CSV, in their real formats, from the sample."""
    ruhsold, davidson = directory / "ruhsold", directory / "davidson"
    ruhsold.mkdir(parents=True)
    davidson.mkdir(parents=True)
    roman = [r for r in rows if r.language == "roman_urdu"]
    validation = roman[::VALIDATION_EVERY]
    train = [r for r in roman if r not in validation]
    (ruhsold / "task_1_train.tsv").write_text(
        "".join(f"{r.text}\t{1 - r.abusive}\n" for r in train), encoding="utf-8"
    )
    (ruhsold / "task_1_validation.tsv").write_text(
        "".join(f"{r.text}\t{1 - r.abusive}\n" for r in validation), encoding="utf-8"
    )
    (ruhsold / "task_2_train.tsv").write_text(
        "".join(f"{r.text}\t{TASK2[r.label]}\n" for r in train), encoding="utf-8"
    )
    with (davidson / "labeled_data_dev.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["", "count", "hate_speech", "offensive_language", "neither", "class",
                         "tweet"])  # fmt: skip
        for i, r in enumerate(x for x in rows if x.language == "english"):
            klass = DAVIDSON[r.label]
            votes = [3 if klass == k else 0 for k in range(3)]
            writer.writerow([i, 3, *votes, klass, r.text])
    urdu = [r for r in rows if r.language == "urdu"]
    return Sample(directory, validation, urdu)
