"""Settings: environment, then jalsa.toml; bad values give one clear message; secrets hidden."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from jalsa.config import load_settings
from jalsa.errors import UserError
from jalsa.platforms.base import Target
from jalsa.platforms.youtube.connector import YouTubeConnector
from jalsa.redact import redact


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in (
        "JALSA_CONFIG",
        "JALSA_TIMEZONE",
        "JALSA_YOUTUBE_INTERVAL",
        "JALSA_DATA_DIR",
        "JALSA_DATABASE_URL",
        "JALSA_YOUTUBE_API_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_defaults_and_database_in_the_data_dir(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JALSA_DATA_DIR", str(in_tmp / "d"))
    settings = load_settings()
    assert settings.timezone == "Asia/Karachi"
    assert settings.effective_database_url == f"sqlite:///{in_tmp / 'd' / 'jalsa.db'}"


def test_toml_file_is_read_and_environment_wins(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (in_tmp / "jalsa.toml").write_text('timezone = "Asia/Dubai"\nyoutube_interval = 45\n')
    assert load_settings().timezone == "Asia/Dubai"
    assert load_settings().youtube_interval == 45
    monkeypatch.setenv("JALSA_YOUTUBE_INTERVAL", "20")
    assert load_settings().youtube_interval == 20


def test_bad_values_and_bad_toml_are_user_errors(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JALSA_YOUTUBE_INTERVAL", "often")
    with pytest.raises(UserError, match="youtube_interval"):
        load_settings()
    monkeypatch.delenv("JALSA_YOUTUBE_INTERVAL")
    (in_tmp / "jalsa.toml").write_text("timezone = \n")
    with pytest.raises(UserError, match=r"jalsa\.toml"):
        load_settings()


def test_secrets_are_not_in_the_settings_repr(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JALSA_YOUTUBE_API_KEY", "AIzaSECRET123")
    settings = load_settings()
    assert "AIzaSECRET123" not in repr(settings)
    assert settings.youtube_api_key is not None
    assert settings.youtube_api_key.get_secret_value() == "AIzaSECRET123"


def test_redact_hides_query_credentials_and_bearer_tokens() -> None:
    line = "GET https://x/videos?part=a&key=AIzaSECRET&id=1 Authorization: Bearer AAAAtok.en"
    assert redact(line) == "GET https://x/videos?part=a&key=***&id=1 Authorization: Bearer ***"
    assert redact("access_token=EAAB123&fields=live_views") == "access_token=***&fields=live_views"


async def test_http_logging_never_shows_the_api_key(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": []})

    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        connector = YouTubeConnector(client, "https://yt.test/youtube/v3", "AIzaSECRET999")
        with pytest.raises(Exception, match="no video"):
            await connector.poll(Target("abc"), None)  # type: ignore[arg-type]
    assert "videos" in caplog.text  # httpx did log the request...
    assert "AIzaSECRET999" not in caplog.text  # ...without the key
