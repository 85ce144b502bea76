"""`jalsa doctor` and the doctor table the test script and the tests' `need` read."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from jalsa import doctor
from jalsa.cli import app
from jalsa.doctor import COMPONENTS, Check, Component, find, missing_debian, missing_reason


def _with_missing(monkeypatch: pytest.MonkeyPatch, name: str) -> Component:
    broken = find(name)
    table = tuple(
        Component(**{**c.__dict__, "check": lambda: Check(False, "not here")}) if c is broken else c
        for c in COMPONENTS
    )
    monkeypatch.setattr(doctor, "COMPONENTS", table)
    return broken


def test_every_component_says_what_it_is_for_and_what_its_absence_disables() -> None:
    names = [c.name for c in COMPONENTS]
    assert len(set(names)) == len(names)
    for component in COMPONENTS:
        assert component.purpose and component.disables
        assert component.install.startswith("apt-get install ") == bool(component.debian)
    with pytest.raises(KeyError, match="one of PostgreSQL"):
        find("nothing")


def test_the_report_names_what_is_missing_and_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _with_missing(monkeypatch, "Kannel")
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1, result.output
    assert "MISSING  Kannel" in result.output
    assert "without it: JALSA_SMS_GATEWAY=kannel" in result.output
    assert "apt-get install kannel kannel-extras" in result.output
    for component in COMPONENTS:
        assert component.name in result.output
    assert missing_reason("kannel") == (
        "Kannel is missing (not here): apt-get install kannel kannel-extras"
    )


def test_missing_debian_packages_are_listed_once_and_the_model_is_not_one() -> None:
    results = [(c, Check(False, "not here")) for c in COMPONENTS]
    packages = missing_debian(results)
    assert len(packages) == len(set(packages))
    assert {"postgresql", "chromium", "kannel", "fonts-noto-core"} <= set(packages)
    assert missing_debian([(c, Check(True, "")) for c in COMPONENTS]) == []


def test_the_module_runs_on_its_own_as_the_test_script_runs_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jalsa.doctor", "--missing-debian", "--skip", "moderation model"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = missing_debian([(c, c.check()) for c in COMPONENTS if c.name != "Moderation model"])
    assert done.stdout.split() == expected
