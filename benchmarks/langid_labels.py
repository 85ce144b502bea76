"""Build the language annotation of RUHSOLD texts (english / roman_urdu / other) by hand.

RUHSOLD is "Roman Urdu" tweets, but some of them are English. To train and measure the language
identifier (`jalsa.inbox.langid`) we need to know which. The data may not be copied into the
repository, so an annotation is stored as (text key, language) pairs only: the key is the first
16 hex digits of the sha256 of the text exactly as `training.read_ruhsold` returns it.

    # print items with a weak label (word-list counts) to read them, 100 at a time
    python benchmarks/langid_labels.py show --data DIR --split validation --start 0 --count 100
    # write an annotation file: weak labels, overridden by the items you read and corrected
    python benchmarks/langid_labels.py write --data DIR --split validation \
        --set english=12,57,301 --set other=88 --out benchmarks/data/ruhsold_language.tsv
    # check an annotation file against the data (every key present, counts per language)
    python benchmarks/langid_labels.py check --data DIR --split validation \
        --labels benchmarks/data/ruhsold_language.tsv

Conventions (docs/decisions.md): a tweet mostly in English with a Roman Urdu word or two is
english; Roman Urdu with English words mixed in is roman_urdu; Roman Hindi counts as roman_urdu
(the same spoken language); any other language (or no language: only names, hashtags, numbers)
is other.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jalsa.errors import UserError
from jalsa.inbox.langid import LABELS, text_key
from jalsa.inbox.language import ENGLISH_WORDS, ROMAN_URDU_WORDS
from jalsa.inbox.training import RUHSOLD_TRAIN, RUHSOLD_VALIDATION, read_ruhsold

SPLITS = {"train": RUHSOLD_TRAIN, "validation": RUHSOLD_VALIDATION}


def weak_label(text: str) -> tuple[str, int, int]:
    """(label, Roman Urdu function words, English function words): english when English
    function words outnumber Roman Urdu ones two to one, else roman_urdu."""
    words = [w.strip(".,!?;:\"'()#*") for w in text.lower().split()]
    urdu = sum(w in ROMAN_URDU_WORDS for w in words)
    english = sum(w in ENGLISH_WORDS for w in words)
    return ("english" if english >= 2 and english >= 2 * urdu + 1 else "roman_urdu"), urdu, english


def read_split(data: Path, split: str) -> list[str]:
    path = data / SPLITS[split]
    if not path.is_file():
        raise UserError(f"{path} does not exist: --data must be the datasets folder (ruhsold/).")
    return read_ruhsold(path)[0]


def read_labels(path: Path) -> dict[str, str]:
    """key -> language from an annotation file (comment lines start with #)."""
    labels: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, label = line.partition("\t")
        if not sep or label not in LABELS:
            raise UserError(f"{path}:{number}: expected 'key<TAB>language', got {line[:60]!r}")
        labels[key] = label
    return labels


def _show(texts: list[str], start: int, count: int, only: str | None) -> None:
    for i in range(start, min(len(texts), start + count)):
        label, urdu, english = weak_label(texts[i])
        if only and label != only:
            continue
        flat = " ".join(texts[i].split())
        print(f"{i}\t{label[:2]}\t{urdu}/{english}\t{flat}")


def _write(texts: list[str], overrides: list[str], out: Path, header: str) -> None:
    labels = [weak_label(t)[0] for t in texts]
    for spec in overrides:
        language, _, indices = spec.partition("=")
        if language not in LABELS:
            raise UserError(f"--set {spec!r}: the language must be one of {', '.join(LABELS)}")
        for item in filter(None, indices.split(",")):
            labels[int(item)] = language
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"{text_key(t)}\t{label}" for t, label in zip(texts, labels, strict=True)]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts = {lab: labels.count(lab) for lab in LABELS}
    print(f"wrote {out}: {counts}")


def _check(texts: list[str], path: Path) -> None:
    labels = read_labels(path)
    keys = [text_key(t) for t in texts]
    missing = sum(k not in labels for k in keys)
    counts = {lab: sum(labels.get(k) == lab for k in keys) for lab in LABELS}
    print(f"{path}: {len(labels)} keys, {missing} items of the split without a label, {counts}")
    if missing:
        raise UserError(f"{missing} items of the split have no label in {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("show", "write", "check"))
    parser.add_argument("--data", type=Path, required=True, help="the datasets folder")
    parser.add_argument("--split", choices=tuple(SPLITS), default="validation")
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--only", choices=LABELS, help="show only items with this weak label")
    parser.add_argument("--set", action="append", default=[], help="language=i,j,k (indices)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--labels", type=Path)
    parser.add_argument("--header", default="RUHSOLD language annotation: key, language")
    args = parser.parse_args(argv)
    try:
        texts = read_split(args.data, args.split)
        if args.command == "show":
            _show(texts, args.start, args.count, args.only)
        elif args.command == "write":
            if args.out is None:
                raise UserError("write needs --out FILE")
            _write(texts, args.set, args.out, args.header)
        else:
            if args.labels is None:
                raise UserError("check needs --labels FILE")
            _check(texts, args.labels)
    except (UserError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
