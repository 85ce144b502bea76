"""Damaged or hostile supporter lists: an unbalanced quote does not swallow the rows after it,
a NUL character does not cut a value, a huge line is not read whole, and a formula in a
rejected row goes back out as text (decision 21)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy import select

from jalsa.mobilize.supporters_file import MAX_LINE_CHARS, MAX_RECORD_LINES
from jalsa.mobilize.supporters_import import import_csv
from jalsa.store.models import Supporter


def write(tmp_path: Path, text: str, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def phones(store: Any) -> dict[str, str | None]:
    with store.session() as session:
        return {s.phone: s.name for s in session.scalars(select(Supporter))}


def rejected(path: Path) -> list[tuple[int, str, list[str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [(int(r[0]), r[1], r[2:]) for r in list(csv.reader(f))[1:]]


def test_an_unbalanced_quote_rejects_its_line_only(store: Any, tmp_path: Path) -> None:
    text = (
        "phone,name,city\n"
        "03001234567,Ali,Lahore\n"
        '03012345678,"Sara,Multan\n'  # the quote is never closed
        "03023456789,Bilal,Karachi\n"
        "03034567890,Hina,Quetta\n"
    )
    rejects = tmp_path / "rejects.csv"
    report = import_csv(store, write(tmp_path, text), rejects=rejects)
    assert (report.rows, report.new, report.invalid) == (4, 3, 1)
    assert rejected(rejects) == [
        (3, "unbalanced quote starting at line 3", ["03012345678", "Sara,Multan\n"])
    ]
    assert phones(store) == {
        "+923001234567": "Ali",
        "+923023456789": "Bilal",
        "+923034567890": "Hina",
    }


def test_a_quote_closed_many_lines_later_is_still_unbalanced(store: Any, tmp_path: Path) -> None:
    rows = "".join(f"0300{n:07d},Name {n}\n" for n in range(1, 3 * MAX_RECORD_LINES))
    text = 'phone,name\n03110000000,"Open\n' + rows + '03120000000,"Closed"\n'
    rejects = tmp_path / "rejects.csv"
    report = import_csv(store, write(tmp_path, text), rejects=rejects)
    assert [(line, why) for line, why, _ in rejected(rejects)] == [
        (2, "unbalanced quote starting at line 2")
    ]
    assert report.new == 3 * MAX_RECORD_LINES - 1 + 1
    assert phones(store)["+923120000000"] == "Closed"


def test_a_name_across_two_lines_is_still_a_name(store: Any, tmp_path: Path) -> None:
    report = import_csv(store, write(tmp_path, 'phone,name\n03001234567,"Sara\nKhan"\n'))
    assert (report.new, report.invalid) == (1, 0)
    assert phones(store) == {"+923001234567": "Sara\nKhan"}


def test_a_nul_character_rejects_the_row_instead_of_cutting_it(store: Any, tmp_path: Path) -> None:
    text = "phone,name\n03001234567,A\x00B\n03012345678,Sara\n"
    rejects = tmp_path / "rejects.csv"
    report = import_csv(store, write(tmp_path, text), rejects=rejects)
    assert (report.new, report.invalid) == (1, 1)
    [(line, why, cells)] = rejected(rejects)
    assert line == 2 and why.startswith("a NUL character (\\0) in cell 2")
    assert cells == ["03001234567", "A\x00B"]
    assert phones(store) == {"+923012345678": "Sara"}


def test_a_huge_line_is_rejected_without_reading_it_whole(store: Any, tmp_path: Path) -> None:
    text = "phone,name\n03001234567," + "x" * (MAX_LINE_CHARS * 3) + "\n03012345678,Sara\n"
    report = import_csv(store, write(tmp_path, text))
    assert (report.rows, report.new, report.invalid) == (2, 1, 1)
    assert report.first_rejects[0].line == 2
    assert report.first_rejects[0].reason.startswith("a line longer than")


def test_a_formula_is_written_back_as_text_and_reads_again(store: Any, tmp_path: Path) -> None:
    text = 'phone,name\n=HYPERLINK("http://evil.example"),x\n+92 300 1234567,"=1+1"\n'
    rejects = tmp_path / "rejects.csv"
    report = import_csv(store, write(tmp_path, text), rejects=rejects)
    assert report.invalid == 1
    assert rejected(rejects)[0][2] == ['\'=HYPERLINK("http://evil.example")', "x"]
    assert phones(store) == {"+923001234567": "=1+1"}
    again = tmp_path / "again.csv"
    again.write_text("phone,name\n'+92 301 2345678,'-Sara\n", encoding="utf-8")
    import_csv(store, again)
    assert phones(store)["+923012345678"] == "-Sara"
