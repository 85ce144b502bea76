"""Accuracy and speed of the Roman Urdu <-> Urdu script transliterator (issue 20).

    python benchmarks/transliteration.py [--data DIR] [--words N]

On the project's gold set (tests/inbox/data/transliteration_gold.tsv and
transliteration_sentences.tsv), prints:
- roman_to_urdu word accuracy (exact match with one of the accepted Urdu spellings) on the words
  the lexicon knows and on the held-out words the rules alone spell, and word accuracy on the
  whole sentences (words aligned with difflib);
- urdu_to_roman consonant-skeleton accuracy (the skeleton of the Roman output equals the skeleton
  of one of the gold Roman spellings of that Urdu word), lexicon and rules apart;
- the round trip: Urdu -> Roman -> Urdu gives back the same Urdu word;
- words per second on one core, cold (every word spelled) and warm (the per-word cache filled).

With --data DIR (the datasets folder holding ruhsold/task_1_train.tsv) it also transliterates
RUHSOLD's Roman Urdu training tweets once and reports how many words the lexicon spelled and how
many the rules did, and the throughput on real text. No text of the dataset is printed unless
--show N asks for N sample outputs (for eyeballing; never paste them into the repository).
"""

from __future__ import annotations

import argparse
import difflib
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from jalsa.inbox import transliterate as tr  # noqa: E402
from jalsa.inbox.features import skeleton  # noqa: E402

GOLD = ROOT / "tests" / "inbox" / "data" / "transliteration_gold.tsv"
SENTENCES = ROOT / "tests" / "inbox" / "data" / "transliteration_sentences.tsv"
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")


def read_rows(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


def flat_skeleton(text: str) -> str:
    """The consonant skeleton without word breaks ("karega" and "کرے گا" split differently)."""
    return skeleton(text).replace(" ", "")


def word_accuracy(rows: list[list[str]]) -> tuple[int, int]:
    right = sum(tr.roman_to_urdu(roman) in urdu.split("|") for roman, urdu, *_ in rows)
    return right, len(rows)


def skeleton_accuracy(rows: list[list[str]]) -> dict[str, tuple[int, int]]:
    """(right, total) of urdu_to_roman by skeleton, for Urdu words the lexicon knows or not."""
    romans: dict[str, set[str]] = {}
    for roman, urdu, *_ in rows:
        romans.setdefault(urdu.split("|")[0], set()).add(flat_skeleton(roman))
    reverse = set(tr.lexicon_entries().values())
    result = {"lexicon": [0, 0], "rules": [0, 0]}
    for urdu, skeletons in romans.items():
        part = result["lexicon" if urdu in reverse else "rules"]
        part[0] += flat_skeleton(tr.urdu_to_roman(urdu)) in skeletons
        part[1] += 1
    return {name: (right, total) for name, (right, total) in result.items()}


def round_trip(rows: list[list[str]]) -> tuple[int, int]:
    urdus = {urdu.split("|")[0] for _, urdu, *_ in rows}
    right = sum(tr.roman_to_urdu(tr.urdu_to_roman(urdu)) == urdu for urdu in urdus)
    return right, len(urdus)


def sentence_accuracy(rows: list[list[str]]) -> tuple[int, int]:
    right = total = 0
    for roman, urdu in rows:
        gold = urdu.split()
        got = tr.roman_to_urdu(roman).split()
        matcher = difflib.SequenceMatcher(a=gold, b=got, autojunk=False)
        right += sum(block.size for block in matcher.get_matching_blocks())
        total += len(gold)
    return right, total


def words_per_second(words: list[str], rounds: int) -> tuple[float, float]:
    """(cold, warm) words per second of roman_to_urdu on one text per word."""
    tr._roman_word_cached.cache_clear()
    start = time.process_time()
    for word in words:
        tr.roman_to_urdu(word)
    cold = len(words) / max(time.process_time() - start, 1e-9)
    start = time.process_time()
    for _ in range(rounds):
        for word in words:
            tr.roman_to_urdu(word)
    warm = rounds * len(words) / max(time.process_time() - start, 1e-9)
    return cold, warm


def pct(pair: tuple[int, int]) -> str:
    right, total = pair
    return f"{right / max(total, 1):.3f} ({right}/{total})"


def ruhsold(data: Path, show: int) -> None:
    path = data / "ruhsold" / "task_1_train.tsv"
    texts = [
        line.rsplit("\t", 1)[0]
        for line in path.read_text(encoding="utf-8").splitlines()
        if "\t" in line
    ]
    lexicon = rules = 0
    for text in texts:
        for word in _LATIN_WORD.findall(re.sub(r"https?://\S+|[@#]\w+|&#?\w+;", " ", text)):
            if tr.lexicon_urdu(word) is None:
                rules += 1
            else:
                lexicon += 1
    total = lexicon + rules
    print(f"RUHSOLD task_1_train: {len(texts)} tweets, {total} Latin words")
    print(f"  spelled by the lexicon: {lexicon} ({lexicon / max(total, 1):.1%})")
    print(f"  spelled by the rules:   {rules} ({rules / max(total, 1):.1%})")
    tr._roman_word_cached.cache_clear()
    start = time.process_time()
    out = [tr.roman_to_urdu(text) for text in texts]
    seconds = time.process_time() - start
    print(f"  {len(texts) / seconds:,.0f} tweets/s, {total / seconds:,.0f} words/s (CPU, one core)")
    for index in random.Random(20).sample(range(len(texts)), min(show, len(texts))):
        print(f"    {texts[index]}\n    {out[index]}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="datasets folder (for the RUHSOLD figures)")
    parser.add_argument("--rounds", type=int, default=20, help="warm-cache rounds")
    parser.add_argument("--show", type=int, default=0, help="print N RUHSOLD samples")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    gold = read_rows(GOLD)
    known = [row for row in gold if row[2] == "0"]
    held_out = [row for row in gold if row[2] == "1"]
    print(f"gold: {len(gold)} words ({len(known)} lexicon, {len(held_out)} held out)")
    print(f"roman_to_urdu, lexicon words:   {pct(word_accuracy(known))}")
    print(f"roman_to_urdu, held out (rules): {pct(word_accuracy(held_out))}")
    print(f"roman_to_urdu, all words:       {pct(word_accuracy(gold))}")
    print(f"roman_to_urdu, sentence words:  {pct(sentence_accuracy(read_rows(SENTENCES)))}")
    skeletons = skeleton_accuracy(gold)
    print(f"urdu_to_roman skeleton, lexicon: {pct(skeletons['lexicon'])}")
    print(f"urdu_to_roman skeleton, rules:   {pct(skeletons['rules'])}")
    print(f"round trip urdu->roman->urdu:   {pct(round_trip(gold))}")
    words = sorted(
        {row[0] for row in gold} | {w for row in read_rows(SENTENCES) for w in row[0].split()}
    )
    cold, warm = words_per_second(words, args.rounds)
    print(f"speed: {cold:,.0f} words/s cold, {warm:,.0f} words/s warm ({len(words)} words)")
    if args.data is not None:
        if not (args.data / "ruhsold" / "task_1_train.tsv").is_file():
            print(f"error: no ruhsold/task_1_train.tsv under {args.data}", file=sys.stderr)
            return 2
        ruhsold(args.data, args.show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
