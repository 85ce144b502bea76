"""Reading a labelled file for `jalsa inbox evaluate --data FILE`: formats, column mapping,
which labels mean abusive, and hostile input (quarantined rows with their line numbers, limits,
binary and empty files), all on files the tests write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jalsa.errors import UserError
from jalsa.inbox.labelled_file import Quarantined, parse_map, read_labelled

ROWS = [
    ("tu bohat bura hai", "abusive", "roman_urdu"),
    ("great rally today", "normal", "english"),
    ('he said "hello", then left', "normal", "english"),
    ("you stupid idiot", "abusive", "english"),
]


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _csv(
    path: Path, rows: list[tuple[str, str, str]] = ROWS, header: str = "text,label,lang"
) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header.split(","))
        writer.writerows(rows)
    return path


def test_csv_with_common_names_and_words(tmp_path: Path) -> None:
    f = read_labelled(_csv(tmp_path / "x.csv"))
    assert f.format == "csv" and f.columns == {"text": "text", "label": "label", "language": "lang"}
    assert f.texts == [r[0] for r in ROWS] and f.labels == [1, 0, 0, 1]
    assert f.languages == ["roman_urdu", "english", "english", "english"]
    assert f.label_counts == {"abusive": 2, "normal": 2} and f.abusive_values == ["abusive"]
    assert f.quarantined_count == 0 and "4 labelled texts, 2 abusive" in f.summary()


def test_csv_multiline_quoted_text_keeps_its_line_number(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "m.csv", 'comment_text,toxic\n"first line\nsecond line",yes\nok,no\nbad\n'
    )
    f = read_labelled(path)
    assert f.texts == ["first line\nsecond line", "ok"] and f.labels == [1, 0]
    assert [(q.line, q.reason) for q in f.quarantined] == [(5, "1 fields, the header has 2")]


def test_tsv_with_header_and_map(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "x.tsv", 'id\twords\tverdict\n1\tsay "hi"\tOffensive\n2\tthanks\tNot Offensive\n'
    )
    with pytest.raises(
        UserError, match=r"which column holds the text; its columns are 'id', 'words'"
    ):
        read_labelled(path, ["label=verdict"])
    f = read_labelled(path, ["text=words", "label=verdict"])
    assert f.texts == ['say "hi"', "thanks"] and f.labels == [1, 0]
    assert f.label_counts == {"not_offensive": 1, "offensive": 1}


def test_headerless_tsv_splits_on_the_last_tab(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "task.tsv", 'a\ttab inside\t0\n"""quoted""" text\t1\n\nno label here\n'
    )
    with pytest.raises(UserError) as caught:
        read_labelled(path)
    message = str(caught.value)
    assert "'0': 1, '1': 1" in message and "--abusive 0" in message  # values, counts, an example
    f = read_labelled(path, abusive="0")
    assert f.format.startswith("tsv, no header")
    assert f.texts == ["a\ttab inside", '"""quoted""" text'] and f.labels == [1, 0]
    assert [(q.line, q.reason) for q in f.quarantined] == [(4, "no tab before a label")]
    with pytest.raises(UserError, match="no header"):
        read_labelled(path, ["text=comment"], abusive="0")


def test_jsonl_with_numbers_and_booleans(tmp_path: Path) -> None:
    lines = [
        {"comment": "bad words", "class": 0, "language": "en"},
        {"comment": "fine words", "class": 2},
        {"comment": "rude", "class": 1.0},
        {"comment": 5, "class": 1},
        {"class": 1},
        [1, 2],
    ]
    body = "\n".join(json.dumps(x) for x in lines) + "\n{not json\n" + "[" * 100_000 + "\n"
    path = _write(tmp_path / "x.jsonl", body)
    with pytest.raises(UserError, match=r"'0': 1, '1': 1, '2': 1"):
        read_labelled(path)
    f = read_labelled(path, abusive="0,1")
    assert f.texts == ["bad words", "fine words", "rude"] and f.labels == [1, 0, 1]
    assert f.languages == ["en", "unknown", "unknown"]
    assert [q.line for q in f.quarantined] == [4, 5, 6, 7, 8]
    reasons = [q.reason for q in f.quarantined]
    assert reasons[:3] == ["the text is not a string", "no field 'comment'", "not a JSON object"]
    assert reasons[3].startswith("not JSON") and reasons[4].startswith("not JSON")
    assert "5 rows quarantined (first: line 4: the text is not a string" in f.summary()
    booleans = _write(
        tmp_path / "b.jsonl", '{"text": "a", "toxic": true}\n{"text": "b", "toxic": false}\n'
    )
    assert read_labelled(booleans).labels == [1, 0]


def test_abusive_values_must_exist_and_unknown_words_are_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path / "x.csv")
    with pytest.raises(UserError, match=r"'hateful' is not a label .* 'abusive': 2, 'normal': 2"):
        read_labelled(path, abusive="hateful")
    odd = _csv(tmp_path / "odd.csv", [("a", "spam", ""), ("b", "normal", "")])
    with pytest.raises(UserError, match=r"'spam' are neither abusive nor normal"):
        read_labelled(odd)
    assert read_labelled(odd, abusive="spam").labels == [1, 0]


def test_map_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="FIELD=COLUMN"):
        parse_map(["text"])
    with pytest.raises(UserError, match="'author' is not a field"):
        parse_map(["author=x"])
    with pytest.raises(UserError, match=r"no column 'body' \(--map text=body\)"):
        read_labelled(_csv(tmp_path / "x.csv"), ["text=body"])
    with pytest.raises(UserError, match="same column"):
        read_labelled(_csv(tmp_path / "x.csv"), ["label=text"])


def test_undecodable_and_overlong_lines_are_quarantined(tmp_path: Path) -> None:
    body = (
        b"text,label\n"
        b"good one,normal\n"
        b"caf\xe9 latin-1,abusive\n"
        + b"x" * (2 << 20)
        + b",abusive\n"  # a 2 MiB line
        + b"nul\x00byte,normal\n"
        b"last,abusive\n"
    )
    f = read_labelled(_write(tmp_path / "h.csv", body))
    assert f.texts == ["good one", "last"]
    assert [(q.line, q.reason) for q in f.quarantined] == [
        (3, "not UTF-8 (byte 3 is 0xe9)"),
        (4, "longer than 1 MiB"),
        (5, "has a NUL byte"),
    ]
    small = read_labelled(_csv(tmp_path / "x.csv"), max_line_bytes=40)
    assert small.quarantined == [Quarantined(4, "longer than 40 bytes")]


def test_limits_and_hostile_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="more than 3 rows"):
        read_labelled(_csv(tmp_path / "x.csv"), max_rows=3)
    with pytest.raises(UserError, match="is a PNG image"):
        read_labelled(_write(tmp_path / "p.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256))))
    with pytest.raises(UserError, match="binary data"):
        read_labelled(_write(tmp_path / "z.tsv", b"abc\x00\x01\x02" * 50))
    for empty in (b"", b"\n\n  \n", b"\xef\xbb\xbf"):
        with pytest.raises(UserError, match="is empty"):
            read_labelled(_write(tmp_path / "e.csv", empty))
    with pytest.raises(UserError, match="no usable labelled rows: 0 quarantined"):
        read_labelled(_write(tmp_path / "h.csv", "text,label\n"))
    with pytest.raises(UserError, match="no usable labelled rows: 2 quarantined"):
        read_labelled(_write(tmp_path / "h.csv", "text,label\n,abusive\nx,\n"))
    with pytest.raises(UserError, match="cannot tell its format"):
        read_labelled(_write(tmp_path / "notes.txt", "just some words\n"))
    with pytest.raises(UserError, match="JSON array"):
        read_labelled(_write(tmp_path / "a.json", '[{"text": "a", "label": "yes"}]\n'))
    with pytest.raises(UserError, match="one JSON document"):
        read_labelled(_write(tmp_path / "d.json", '{\n  "text": "a"\n}\n'))
    with pytest.raises(UserError, match="does not exist"):
        read_labelled(tmp_path / "missing.csv")
    with pytest.raises(UserError, match="is a folder"):
        read_labelled(tmp_path)


def test_gzip_file(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress(_csv(tmp_path / "x.csv").read_bytes()))
    assert read_labelled(path).labels == [1, 0, 0, 1]
    path.write_bytes(gzip.compress(_csv(tmp_path / "x.csv").read_bytes())[:-20])
    with pytest.raises(UserError, match="truncated"):
        read_labelled(path)
