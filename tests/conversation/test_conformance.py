"""One definition, two engines: every measure runs on DuckDB and on Spark (local mode) over the
same posts and must give the same rows. Known differences are declared here, as Ibis's
backend suite does: the HyperLogLog estimate of authors is each engine's own sketch, so it is
checked against the exact count within the engine's stated error instead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from postkit import rally, write

from jalsa.conversation import measures as m
from jalsa.conversation.analysis import Voices, analyze
from jalsa.conversation.engines import DuckDBEngine, SparkEngine, spark_session

pytestmark = pytest.mark.integration

# measure -> columns whose values are engine-specific estimates
ESTIMATES = {"overview": {"authors_approx"}}


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


def canonical(rows: list[dict[str, Any]], skip: set[str]) -> list[tuple[Any, ...]]:
    def value(v: Any) -> Any:
        if isinstance(v, float):
            return float(f"{v:.9g}")
        if isinstance(v, list):
            return tuple(v)
        return v

    out = [tuple((k, value(v)) for k, v in sorted(r.items()) if k not in skip) for r in rows]
    return sorted(out, key=repr)


VOICES = Voices.parse(["Party=#pti,#imrankhan,imran khan", "Outage=#shutdown,internet band"])


def test_every_measure_gives_the_same_rows_on_both_engines(parts: list[Path], spark: Any) -> None:
    duck = analyze(DuckDBEngine(parts), voices=VOICES)
    sparked = analyze(SparkEngine(parts, session=spark), voices=VOICES)
    assert set(duck.results) == set(sparked.results) == {x.name for x in m.ALL}
    for name, rows in duck.results.items():
        skip = ESTIMATES.get(name, set())
        assert canonical(rows, skip) == canonical(sparked.results[name], skip), name
    assert duck.spikes == sparked.spikes
    assert duck.coordination == sparked.coordination
    for result, engine in ((duck, DuckDBEngine), (sparked, SparkEngine)):
        overview = result.results["overview"][0]
        error = abs(overview["authors_approx"] - overview["authors"]) / overview["authors"]
        assert error <= 4 * engine.distinct_error, (engine.name, error)


def test_spark_reads_the_dataset_schema_on_an_empty_dataset(spark: Any) -> None:
    result = analyze(SparkEngine([], session=spark), only=("overview", "top_hashtags"))
    assert result.results["overview"][0]["posts"] == 0
    assert result.results["top_hashtags"] == []
