"""`jalsa sms campaign ...` in-process against a fresh store: write, preview, schedule, pause,
cancel and follow a campaign; bad input is one message and a non-zero exit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from smskit import write_supporters
from typer.testing import CliRunner

from jalsa.cli import _Group
from jalsa.cli.sms import sms_app
from jalsa.cli.supporters import supporters_app
from jalsa.config import get_settings

Run = Callable[..., Any]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Iterator[Run]:
    monkeypatch.setenv("JALSA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JALSA_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("JALSA_CONFIG", str(tmp_path / "jalsa.toml"))
    monkeypatch.setenv("JALSA_SMS_SEGMENT_PRICE", "0.5")
    get_settings.cache_clear()
    app = typer.Typer(cls=_Group, pretty_exceptions_enable=False)
    app.add_typer(supporters_app, name="supporters")
    app.add_typer(sms_app, name="sms")
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, list(args), catch_exceptions=False)

    yield run
    get_settings.cache_clear()


def test_write_preview_schedule_pause_and_cancel(cli: Run, tmp_path: Path) -> None:
    write_supporters(tmp_path / "s.csv", 30, opted_out=3, no_consent=2)
    assert cli("supporters", "import", str(tmp_path / "s.csv")).exit_code == 0
    made = cli(
        "sms",
        "campaign",
        "create",
        "Kal ka jalsa",
        "--text-ur",
        "{first_name|dost}, kal jalsa 8 baje",
        "--text-en",
        "Rally tomorrow at 8",
        "--schedule",
        "2030-01-01 18:00",
        "--city",
        "Lahore",
    )
    assert made.exit_code == 0, made.output
    assert "kal-ka-jalsa" in made.output
    preview = cli("sms", "campaign", "preview", "kal-ka-jalsa")
    assert preview.exit_code == 0, preview.output
    for row in (
        "in the segment",
        "30",
        "will be sent to",
        "25",
        "opted out",
        "3",
        "no reminders consent",
        "2",
        "GSM-7",
        "12.50 PKR",
        "Ayesha",
    ):
        assert row in preview.output, (row, preview.output)
    assert "Person" not in preview.output  # samples are never a real supporter
    sent = cli("sms", "campaign", "send", "kal-ka-jalsa", "--detach")
    assert sent.exit_code == 0 and "scheduled" in sent.output
    listed = cli("sms", "campaign", "list")
    assert "kal-ka-jalsa" in listed.output and "scheduled" in listed.output
    assert cli("sms", "campaign", "pause", "kal-ka-jalsa").exit_code == 0
    status = cli("sms", "campaign", "status", "kal-ka-jalsa")
    assert "paused" in status.output and "not started" in status.output
    cancelled = cli("sms", "campaign", "cancel", "kal-ka-jalsa")
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    again = cli("sms", "campaign", "send", "kal-ka-jalsa")
    assert again.exit_code != 0 and "cannot be sent again" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "X", "--text-en", "hi", "--hours", "9-21"], "write it as HH:MM"),
        (["create", "X", "--text-en", "hi", "--hours", "0900"], "09:00-21:00"),
        (["create", "X", "--text-en", "hi", "--schedule", "event-1h"], "name the event"),
        (["create", "X", "--schedule", "2030-01-01 18:00"], "text"),
        (["create", "X", "--text-en", "hi", "--purpose", "sales"], "purpose"),
        (["preview", "nope"], "no campaign 'nope'"),
    ],
)
def test_bad_input_is_one_clear_message(cli: Run, args: list[str], message: str) -> None:
    done = cli("sms", "campaign", *args)
    assert done.exit_code != 0
    assert message in done.output and "Traceback" not in done.output
