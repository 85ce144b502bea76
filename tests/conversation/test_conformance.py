"""One definition, two engines: every measure runs on DuckDB and on Spark (local mode) over the
same posts and must give the same rows. Known differences are declared in
jalsa.conversation.agreement, as Ibis's backend suite does: the HyperLogLog estimate of authors
is each engine's own sketch, so it is checked against the exact count within the engine's
stated error instead. test_spark_cluster.py runs the same comparison on a standalone cluster."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from postkit import rally, write

from jalsa.conversation import measures as m
from jalsa.conversation.agreement import differences
from jalsa.conversation.analysis import Voices, analyze
from jalsa.conversation.engines import DuckDBEngine, SparkEngine
from jalsa.conversation.spark_session import spark_session

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = spark_session("local[2]")
    yield session
    session.stop()


def generated(folder: Path) -> list[Path]:
    from jalsa.sim.posts.files import write_parquet
    from jalsa.sim.posts.plan import PostSimConfig

    return write_parquet(PostSimConfig(count=30_000, seed=7), folder / "posts.parquet")


@pytest.fixture(scope="module", params=["rally", "generated"])
def parts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp(request.param)
    return write(rally(), folder) if request.param == "rally" else generated(folder)


VOICES = Voices.parse(["Party=#pti,#imrankhan,imran khan", "Outage=#shutdown,internet band"])


def test_every_measure_gives_the_same_rows_on_both_engines(parts: list[Path], spark: Any) -> None:
    duck = analyze(DuckDBEngine(parts), voices=VOICES)
    sparked = analyze(SparkEngine(parts, session=spark), voices=VOICES)
    assert set(duck.results) == set(sparked.results) == {x.name for x in m.ALL}
    assert differences(duck.as_dict(), sparked.as_dict()) == []


def test_a_different_figure_is_found(parts: list[Path]) -> None:
    """The comparison can fail: one changed count, one estimate too far off."""
    duck = analyze(DuckDBEngine(parts), only=("overview", "top_hashtags")).as_dict()
    changed = copy.deepcopy(duck)
    changed["results"]["top_hashtags"][0]["posts"] += 1
    changed["results"]["overview"][0]["authors_approx"] *= 2
    found = differences(duck, changed)
    assert found[0].startswith("top_hashtags: ") and "authors_approx" in found[1], found


def test_spark_reads_the_dataset_schema_on_an_empty_dataset(spark: Any) -> None:
    result = analyze(SparkEngine([], session=spark), only=("overview", "top_hashtags"))
    assert result.results["overview"][0]["posts"] == 0
    assert result.results["top_hashtags"] == []
