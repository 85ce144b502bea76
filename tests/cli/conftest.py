from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jalsa.config import get_settings


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> Callable[..., object]:
    """Run `jalsa ARGS` in-process against a fresh store; returns the click Result."""
    from jalsa.cli import app

    monkeypatch.setenv("JALSA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JALSA_DATABASE_URL", database_url)
    monkeypatch.setenv("JALSA_CONFIG", str(tmp_path / "jalsa.toml"))
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> object:
        return runner.invoke(app, list(args), catch_exceptions=False)

    yield run
    get_settings.cache_clear()
