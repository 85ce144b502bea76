"""The conversation around an event: posts from every platform in one Parquet dataset, and the
analytics over it (trends, reach, coordination) on DuckDB or Spark."""
