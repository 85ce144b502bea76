"""Fixtures of the inbox tests: the hand-written moderation sample as a datasets folder."""

from __future__ import annotations

import pytest

from moderation_sample import Sample, read_sample, write_datasets


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return write_datasets(tmp_path_factory.mktemp("datasets"), read_sample())
