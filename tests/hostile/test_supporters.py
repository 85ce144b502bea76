"""Hostile supporter lists, read without a store: whatever lines sit between real rows
(unbalanced quotes, NUL characters, separators, blank lines), every real row comes out as
itself, with its own line number; reading raises UserError at most."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jalsa.errors import UserError
from jalsa.mobilize.supporters_file import check_text, open_text, records

ROWS = [f"0300{n:07d},Name {n},Lahore" for n in range(1, 5)]
JUNK = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\n\r"), max_size=40),
    st.sampled_from(['"', '0301,"open', "a\x00b", ",,,,,,", '"\u0000"', "=1+1", "\ud800"]),
    st.lists(st.sampled_from(['"', ",", "x", " ", "\x00", "'"]), max_size=12).map("".join),
)


def read(text: str) -> list[tuple[int, list[str], str | None]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        path.write_bytes(text.encode("utf-8", "replace"))
        try:
            check_text(path)
            with path.open("rb") as raw, open_text(raw, None) as handle:
                _, rows = records(path, handle)
                return list(rows)
        except UserError as exc:
            assert str(exc)
            return []


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(JUNK, max_size=6), st.lists(st.integers(0, 10), max_size=6))
@example(['0301,"Sara,Multan'], [0])
@example(['"', '"'], [0, 3])
@example(["a\x00b"], [1])
@example(['x,"y'], [4])  # the unbalanced quote on the last line
def test_real_rows_survive_hostile_lines(junk: list[str], where: list[int]) -> None:
    lines = list(ROWS)
    for line, at in zip(junk, where, strict=False):
        lines.insert(at % (len(lines) + 1), line)
    got = read("phone,name,city\n" + "\n".join(lines) + "\n")
    numbers = {n + 2 for n, line in enumerate(lines) if line in ROWS}
    good = {(line, tuple(cells)) for line, cells, problem in got if problem is None}
    for n in numbers:
        assert (n, tuple(lines[n - 2].split(","))) in good, (n, got)
    starts = [line for line, _, _ in got]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
@example("phone\n\x00")
@example('"')
def test_any_text(text: str) -> None:
    for line, _cells, problem in read(text):
        assert line >= 1 and (problem is None or problem)
