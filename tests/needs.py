"""`need(component)`: skip a test whose outside piece is missing, with the words of `jalsa
doctor` (what is missing and how to install it), or fail in CI, which installs everything."""

from __future__ import annotations

import os

import pytest

from jalsa.doctor import missing_reason


def need(component: str) -> None:
    why = missing_reason(component)
    if why is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI installs every component: {why}")
    pytest.skip(why)
