"""Fixtures shared by the conversation tests: `spark_cluster` (sparkcluster.py), one Spark
standalone cluster for the session."""

from sparkcluster import spark_cluster

__all__ = ["spark_cluster"]
