"""Fixtures of the conformance corpus (see corpus.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import Ingested


@pytest.fixture
def ingested(tmp_path: Path) -> Ingested:
    return Ingested(tmp_path)
