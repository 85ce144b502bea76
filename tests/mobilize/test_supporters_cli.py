from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from jalsa.cli import _Group
from jalsa.cli.supporters import mask, supporters_app
from jalsa.config import get_settings

Run = Callable[..., Any]

LIST = """phone,name,city,tags,consent,consent_source,consent_at
0300-1234567,Ali,Lahore,youth,reminders,form,2026-11-01 18:00
0301 2345678,Sara,Karachi,donor,all,form,2026-11-01 18:00
042-35761234,Landline,Lahore,,,,
"""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Iterator[Run]:
    """`jalsa supporters ARGS` in-process, against a fresh store, as the main app mounts it
    (a UserError becomes one message and a non-zero exit)."""
    monkeypatch.setenv("JALSA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JALSA_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("JALSA_CONFIG", str(tmp_path / "jalsa.toml"))
    get_settings.cache_clear()
    app = typer.Typer(cls=_Group, pretty_exceptions_enable=False)
    app.add_typer(supporters_app, name="supporters")
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["supporters", *args], catch_exceptions=False)

    yield run
    get_settings.cache_clear()


def test_mask_shows_only_the_last_four_digits() -> None:
    assert mask("+923001234567") == "+********4567"


def test_import_prints_a_summary_and_where_the_rejects_are(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(LIST, encoding="utf-8")
    result = cli("import", str(path))
    assert result.exit_code == 0, result.output
    assert "new supporters" in result.output
    assert "1 rows rejected" in result.output
    assert "line 4: not a mobile number" in result.output
    rejects = list((tmp_path / "data" / "supporters" / "rejects").glob("*-list.csv"))
    assert len(rejects) == 1
    assert "042-35761234" in rejects[0].read_text(encoding="utf-8")


def test_import_with_nothing_valid_fails(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("phone\n042-35761234\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    result = cli("import", str(path), "--rejects", str(rejects))
    assert result.exit_code != 0
    assert "no supporter imported" in result.output
    assert rejects.exists()


def test_a_malformed_file_is_one_message(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("name,city\nAli,Lahore\n", encoding="utf-8")
    result = cli("import", str(path))
    assert result.exit_code == 2
    assert "has no phone column" in result.output
    assert "Traceback" not in result.output


def test_list_masks_numbers_and_filters(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(LIST, encoding="utf-8")
    cli("import", str(path))
    result = cli("list", "--city", "lahore")
    assert result.exit_code == 0, result.output
    assert "+********4567" in result.output
    assert "3001234567" not in result.output
    assert "Sara" not in result.output
    assert "reminders" in result.output
    paged = cli("list", "--limit", "1")
    assert "more: --after 1" in paged.output


def test_opt_out_by_hand(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(LIST, encoding="utf-8")
    cli("import", str(path))
    result = cli("opt-out", "0300 1234567")
    assert result.exit_code == 0, result.output
    assert "+********4567 is opted out" in result.output
    assert "already opted out" in cli("opt-out", "+92 300 1234567").output
    assert "opted out" in cli("list", "--tag", "youth").output
    bad = cli("opt-out", "12")
    assert bad.exit_code != 0 and "'12': " in bad.output
