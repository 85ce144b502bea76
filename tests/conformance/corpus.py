"""Helpers of the conformance corpus (importable as `corpus`). The corpus: samples the
project wrote by hand in each platform's documented shape (never copied from third-party
data), one folder per source; each is read through the real parser or connector and checked
to the post, the author and the quarantine reason. OONI's web_connectivity 0.4 and 0.5 are built
by code from the spec (tests/watch/ooni_samples.py, ooni_scenarios.py) and read in
test_ooni.py here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq

from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.ingest import IngestSummary, ingest

CORPUS = Path(__file__).parent


def sample(folder: str, name: str) -> Any:
    return json.loads((CORPUS / folder / name).read_text(encoding="utf-8"))


class Ingested:
    """A dataset, and what ingesting JSON lines into it gave: posts by id, quarantine rows."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dataset = PostDataset(root / "ds")

    def lines(self, name: str, docs: list[Any], fmt: str = "auto") -> IngestSummary:
        path = self.root / name
        path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
        return ingest(self.dataset, [path], fmt)

    def posts(self) -> dict[str, dict[str, Any]]:
        parts = self.dataset.parts()
        if not parts:
            return {}
        rows = pq.ParquetDataset([str(p) for p in parts]).read().to_pylist()
        return {r["id"]: r for r in rows}

    def quarantine(self) -> list[dict[str, Any]]:
        rows = []
        for path in sorted(self.dataset.quarantine.glob("*.jsonl")):
            rows += [json.loads(line) for line in path.read_text().splitlines()]
        return rows


def response(folder: str, name: str, status: int = 200) -> httpx.Response:
    """An answer whose body is the sample byte for byte, as the platform sends it."""
    body = (CORPUS / folder / name).read_bytes()
    return httpx.Response(status, content=body, headers={"content-type": "application/json"})
