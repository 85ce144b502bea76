"""The conversation around an event: posts from every platform in one Parquet dataset, and the
analytics over it (trends, reach, coordination) on DuckDB or Spark."""

from jalsa.conversation.analysis import Analysis, analyze
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.engines import open_engine
from jalsa.conversation.gather import Gathering
from jalsa.conversation.ingest import IngestSummary

__all__ = [
    "Analysis",
    "Gathering",
    "IngestSummary",
    "PostDataset",
    "analyze",
    "open_engine",
]
