"""The engines that run the measures over an event's posts: DuckDB in this process (the
default), or Apache Spark (local mode, or a cluster by its master URL; its settings and checks
in spark_session.py) when the archive outgrows one machine. Both see the dataset's Parquet
files as the relation `posts` and return Arrow tables; Spark gets each measure's SQL
transpiled from DuckDB's dialect by sqlglot, so a measure is written once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

import duckdb
import pyarrow as pa
import sqlglot

from jalsa.conversation.ingest import connect
from jalsa.conversation.spark_session import SparkOptions, spark_error, spark_session
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

    def __init__(
        self,
        parts: Sequence[Path],
        master: str | None = None,
        session: Any = None,
        options: SparkOptions | None = None,
    ) -> None:
        """Over the part files as the executors see them: each by its absolute path, or by
        its name under `options.dataset_url` (a copy on storage every worker reads)."""
        try:
            import pyspark  # noqa: F401
        except ImportError:  # pragma: no cover - pyspark is a dependency
            raise UserError("the Spark engine needs pyspark: pip install pyspark") from None
        options = options or SparkOptions(master=master)
        self.owned = session is None
        self.kept: dict[str, Any] = {}
        self.spark: Any = session or spark_session(options=options)
        try:
            if parts:
                frame = self.spark.read.parquet(*part_urls(parts, options.dataset_url))
            else:  # an Arrow table, not Python rows: executors need no Python
                frame = self.spark.createDataFrame(POST_SCHEMA.empty_table())
            frame.createOrReplaceTempView("posts")
        except Exception as error:
            self.close()
            raise UserError(f"Spark cannot read the posts: {read_error(error)}") from None

    def table(self, sql: str) -> pa.Table:
        spark_sql = transpile(sql)
        with failing_as_user_error():
            return self.spark.sql(spark_sql).toArrow()

    def keep(self, name: str, sql: str) -> None:
        with failing_as_user_error():
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


def part_urls(parts: Sequence[Path], dataset_url: str | None = None) -> list[str]:
    """Where the executors read each part: its absolute path on this machine (an executor
    resolves a relative one against its own working folder), or its name under `dataset_url`."""
    if dataset_url:
        return [dataset_url.rstrip("/") + "/" + p.name for p in parts]
    return [str(p.absolute()) for p in parts]


WHERE_PARTS = (
    "; on a cluster every executor must read the part files: keep the data folder on a "
    "filesystem mounted at the same path on every worker, or copy the parts to HDFS or S3 "
    "and give --dataset-url (docs/spark.md)"
)


def read_error(error: BaseException) -> str:
    line = spark_error(error)
    missing = ("PATH_NOT_FOUND", "FileNotFoundException", "No such file")
    return line + (WHERE_PARTS if any(word in line for word in missing) else "")


@contextmanager
def failing_as_user_error() -> Iterator[None]:
    """A query that fails on the cluster (a lost worker, a part an executor cannot read)
    becomes one message instead of a Java stack."""
    try:
        yield
    except Exception as error:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        if isinstance(error, PySparkException | Py4JError):
            raise UserError(f"Spark failed: {read_error(error)}") from None
        raise


def transpile(sql: str) -> str:
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def open_engine(
    name: str,
    parts: Sequence[Path],
    master: str | None = None,
    spill: Path | None = None,
    memory_limit: str | None = None,
    spark: SparkOptions | None = None,
) -> Engine:
    """The engine called `name` (duckdb or spark) over the dataset's Parquet parts; an unknown
    name is the user's to fix. `spark` holds the Spark engine's options (its master wins over
    `master`)."""
    if name == "duckdb":
        return DuckDBEngine(parts, spill=spill, memory_limit=memory_limit)
    if name == "spark":
        return SparkEngine(parts, options=spark or SparkOptions(master=master))
    raise UserError(f"unknown engine {name!r}; engines: {', '.join(ENGINES)}")
