"""`spark_cluster`: a Spark standalone master and two workers on 127.0.0.1 for the whole test
session (jalsa.sim.spark_cluster starts them from the pyspark package's launcher), stopped at
its end with every executor, whatever the tests did. Without Java the tests that use it skip
with `jalsa doctor`'s install line, and fail in CI, which installs it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jalsa.sim.spark_cluster import StandaloneCluster
from needs import need

WORKERS = 2


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    need("Java")
    cluster = StandaloneCluster(tmp_path_factory.mktemp("spark-cluster"), workers=WORKERS)
    cluster.start()  # stops what it started if the workers never register
    try:
        yield cluster
    finally:
        cluster.stop()
    left = cluster.running()
    assert left == [], f"still running after stop: {left}\n{cluster.log_tails()}"
