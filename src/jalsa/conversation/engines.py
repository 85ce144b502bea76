"""The engines that run the measures over an event's posts: DuckDB in this process (the
default), or Apache Spark (local mode, or a cluster by its master URL) when the archive
outgrows one machine. Both see the dataset's Parquet files as the relation `posts` and
return Arrow tables; Spark gets each measure's SQL transpiled from DuckDB's dialect by
sqlglot, so a measure is written once."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

import duckdb
import pyarrow as pa
import sqlglot

from jalsa.conversation.ingest import connect
from jalsa.errors import UserError
from jalsa.platforms.post_record import POST_SCHEMA

ENGINES = ("duckdb", "spark")
# Relative standard error of DuckDB's approx_count_distinct: a HyperLogLog with 2^10
# registers, 1.04 / sqrt(1024); benchmarks/sketch_error.py measures it (3.2% over 40 sets).
DUCKDB_HLL_ERROR = 0.0325


class Engine(Protocol):
    name: ClassVar[str]
    # relative standard error of approx_count_distinct, as the engine documents it
    distinct_error: ClassVar[float]

    def table(self, sql: str) -> pa.Table: ...

    def keep(self, name: str, sql: str) -> None:
        """Compute `sql` once and keep it as the relation `name` until dropped."""

    def drop(self, name: str) -> None: ...

    def close(self) -> None: ...


class DuckDBEngine:
    name: ClassVar[str] = "duckdb"
    distinct_error: ClassVar[float] = DUCKDB_HLL_ERROR

    def __init__(
        self,
        parts: Sequence[Path],
        threads: int | None = None,
        spill: Path | None = None,
        memory_limit: str | None = None,
        since: datetime | None = None,
    ) -> None:
        """`spill`: a folder for what does not fit in memory; `memory_limit`: DuckDB's, such
        as "5GB" (default: 80% of the machine's memory); `since`: only the posts created at or
        after it (Parquet's row-group statistics let DuckDB skip the older ones)."""
        self.con = connect(spill, threads=threads)
        if memory_limit:
            try:
                self.con.execute(f"SET memory_limit = '{memory_limit.replace(chr(39), '')}'")
            except duckdb.Error as error:
                raise UserError(f"memory limit {memory_limit!r}: {error}; write e.g. 5GB") from None
        if parts:
            files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in parts)
            where = f" WHERE created_at >= to_timestamp({since.timestamp()!r})" if since else ""
            self.con.execute(f"CREATE VIEW posts AS SELECT * FROM read_parquet([{files}]){where}")
        else:
            self.con.register("posts", POST_SCHEMA.empty_table())

    def table(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def keep(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def close(self) -> None:
        self.con.close()


class SparkEngine:
    name: ClassVar[str] = "spark"
    # approx_count_distinct's default relative standard deviation (HyperLogLog++)
    distinct_error: ClassVar[float] = 0.05

    def __init__(self, parts: Sequence[Path], master: str | None = None, session: Any = None):
        try:
            from pyspark.sql import SparkSession
        except ImportError:  # pragma: no cover - pyspark is a dependency
            raise UserError("the Spark engine needs pyspark: pip install pyspark") from None
        self.owned = session is None
        self.kept: dict[str, Any] = {}
        self.spark = session or spark_session(master)
        if parts:
            frame = self.spark.read.parquet(*[str(p) for p in parts])
        else:
            frame = self.spark.createDataFrame([], _spark_schema())
        frame.createOrReplaceTempView("posts")
        _ = SparkSession  # imported to fail early with a clear message

    def table(self, sql: str) -> pa.Table:
        spark_sql = transpile(sql)
        return self.spark.sql(spark_sql).toArrow()

    def keep(self, name: str, sql: str) -> None:
        frame = self.spark.sql(transpile(sql)).persist()
        frame.createOrReplaceTempView(name)
        self.kept[name] = frame

    def drop(self, name: str) -> None:
        frame = self.kept.pop(name, None)
        if frame is not None:
            self.spark.catalog.dropTempView(name)
            frame.unpersist()

    def close(self) -> None:
        if self.owned:
            self.spark.stop()


def transpile(sql: str) -> str:
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


LOOPBACK = "127.0.0.1"


def is_local_master(master: str) -> bool:
    """`local`, `local[N]`, `local[*]`, `local[N,F]`, `local-cluster[...]`: all on this machine."""
    return master == "local" or master.startswith(("local[", "local-cluster["))


def spark_conf(master: str | None = None) -> dict[str, str]:
    """The session's settings. In local mode the driver listens on loopback only: nothing
    off this machine needs to reach it, and otherwise it binds to the machine's external
    address (its RPC and block manager ports open to the network). A cluster's master URL
    keeps Spark's own choice, since the executors must reach the driver."""
    cores = os.cpu_count() or 1
    master = master or f"local[{cores}]"
    conf = {
        "spark.master": master,
        "spark.app.name": "jalsa",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(max(2, cores * 2)),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if is_local_master(master):
        # bindAddress is where the sockets listen (it overrides SPARK_LOCAL_IP); host is the
        # address the driver advertises to its executors, which are in the same JVM.
        conf["spark.driver.bindAddress"] = LOOPBACK
        conf["spark.driver.host"] = LOOPBACK
    return conf


def spark_session(master: str | None = None) -> Any:
    """A Spark session in UTC; `local[N]` on this machine (listening on 127.0.0.1 only)
    unless a master URL is given."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in spark_conf(master).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("OFF")  # errors reach the caller as exceptions
    return session


def _spark_schema() -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(POST_SCHEMA)


def open_engine(
    name: str,
    parts: Sequence[Path],
    master: str | None = None,
    spill: Path | None = None,
    memory_limit: str | None = None,
) -> Engine:
    """The engine called `name` (duckdb or spark) over the dataset's Parquet parts; an unknown
    name is the user's to fix."""
    if name == "duckdb":
        return DuckDBEngine(parts, spill=spill, memory_limit=memory_limit)
    if name == "spark":
        return SparkEngine(parts, master)
    raise UserError(f"unknown engine {name!r}; engines: {', '.join(ENGINES)}")
