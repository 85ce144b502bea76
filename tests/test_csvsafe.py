"""CSV exports neutralise formula prefixes (OWASP's CSV injection advice) in one helper that
every CSV export uses; numbers are not touched."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from jalsa import csvsafe
from jalsa.csvsafe import safe_cell, unneutralize

SRC = Path(__file__).resolve().parents[1] / "src" / "jalsa"


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (
            '=HYPERLINK("http://evil.example","click")',
            '\'=HYPERLINK("http://evil.example","click")',
        ),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-", "'-"),
        ("plain text = fine", "plain text = fine"),
        ("", ""),
        ("-5", "-5"),
        ("+923001234567", "+923001234567"),
        ("-0.25", "-0.25"),
        ("1e-3", "1e-3"),
        ("+1.5E+3", "+1.5E+3"),
        ("a \ud800 b", "a \ufffd b"),
        ("=\udfff", "'=\ufffd"),
    ],
)
def test_text_cells(cell: str, written: str) -> None:
    assert safe_cell(cell) == written
    if written != cell and written.startswith("'"):
        assert unneutralize(written) == written[1:]


@pytest.mark.parametrize("value", [-5, -0.5, 3, None, True])
def test_cells_that_are_not_text_are_left_alone(value: object) -> None:
    assert safe_cell(value) is value


def test_writer_and_dict_writer_neutralise_and_read_back() -> None:
    out = io.StringIO()
    w = csvsafe.writer(out, lineterminator="\n")
    w.writerow(["text", "n"])
    w.writerows([["=1+2", -5], ["@x", "ok"]])
    assert out.getvalue() == "text,n\n'=1+2,-5\n'@x,ok\n"
    out = io.StringIO()
    d = csvsafe.DictWriter(out, fieldnames=["a", "b"], lineterminator="\n")
    d.writeheader()
    d.writerows([{"a": "+x", "b": -1.5}])
    assert out.getvalue() == "a,b\n'+x,-1.5\n"
    back = list(csv.reader(io.StringIO(out.getvalue())))
    assert [unneutralize(c) for c in back[1]] == ["+x", "-1.5"]


def test_every_csv_export_goes_through_the_helper() -> None:
    """No module writes CSV with the csv module's writers directly."""
    direct = re.compile(r"\bcsv\.(writer|DictWriter)\(|\.to_csv\(")
    offenders = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        if path.name != "csvsafe.py"
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if direct.search(line)
    ]
    assert offenders == []
